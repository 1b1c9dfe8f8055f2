"""Realistic SPEI statements for the tests: camt.053.001.08 as Mexican banks send it, MT940
with the :86: layout of docs/spei.md, and the plain CSV."""
from xml.sax.saxutils import escape

COMPANY_ACCOUNT = '646180157000000004'


def camt_entry(amount, tracking, credited, day='2026-11-30', debtor='CLIENTE SA DE CV',
               debtor_account='012180001234567899', sender='40012', concept='', reference='',
               credit=True, currency='MXN', status='BOOK'):
    return (
        f'<Ntry><NtryRef>{escape(tracking)}</NtryRef><Amt Ccy="{currency}">{amount}</Amt>'
        f'<CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd><Sts><Cd>{status}</Cd></Sts>'
        f'<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>'
        f'<AcctSvcrRef>BNK{escape(tracking)}</AcctSvcrRef>'
        f'<BkTxCd><Prtry><Cd>SPEI</Cd></Prtry></BkTxCd>'
        f'<NtryDtls><TxDtls><Refs><EndToEndId>{escape(tracking)}</EndToEndId></Refs>'
        f'<Amt Ccy="{currency}">{amount}</Amt>'
        f'<RltdPties><Dbtr><Pty><Nm>{escape(debtor)}</Nm></Pty></Dbtr>'
        f'<DbtrAcct><Id><Othr><Id>{debtor_account}</Id></Othr></Id></DbtrAcct>'
        f'<CdtrAcct><Id><Othr><Id>{credited}</Id></Othr></Id></CdtrAcct></RltdPties>'
        f'<RltdAgts><DbtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>MXSPE</Cd></ClrSysId>'
        f'<MmbId>{sender}</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>'
        f'<RmtInf><Ustrd>{escape(concept)}</Ustrd>'
        + (f'<Strd><CdtrRefInf><Ref>{reference}</Ref></CdtrRefInf></Strd>' if reference else '')
        + '</RmtInf></TxDtls></NtryDtls></Ntry>')


def camt053(*entries, account=COMPANY_ACCOUNT, day='2026-11-30'):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
            f'<GrpHdr><MsgId>STMT{day}</MsgId><CreDtTm>{day}T23:59:00</CreDtTm></GrpHdr>'
            f'<Stmt><Id>STMT-{day}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{day}T23:59:00</CreDtTm>'
            f'<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>MXN</Ccy></Acct>'
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="MXN">0.00</Amt>'
            f'<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>'
            + ''.join(entries) + '</Stmt></BkToCstmrStmt></Document>').encode('utf-8')


def mt940(*lines, account=COMPANY_ACCOUNT):
    """``lines``: (yymmdd, 'C'/'D', '36870,80', customer reference, :86: text)."""
    body = [':20:STMT2611300001', f':25:{account}', ':28C:00042/001', ':60F:C261129MXN0,00']
    for day, mark, amount, reference, details in lines:
        body.append(f':61:{day}{day[2:]}{mark}{amount}NTRF{reference}//SPEI')
        body.append(f':86:{details}')
    body.append(':62F:C261130MXN0,00')
    return ('\r\n'.join(body) + '\r\n').encode('utf-8')
