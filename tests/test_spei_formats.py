"""SPEI's formats on their own: CLABEs and references, the abono, camt.053, MT940, CSV."""
import datetime
import json
import logging
from decimal import Decimal

import pytest

from canonportal.spei import abono, clabes, statements
from canonportal.spei.credit import Transfer, TransferError
from spei_samples import COMPANY_ACCOUNT, camt053, camt_entry, mt940

SECRET = 's3cret'
DAY = datetime.date(2026, 11, 30)     # the abonos' operation day


# -- CLABE ------------------------------------------------------------------------------------

def test_the_control_digit_is_banxicos_weights_3_7_1():
    # The clabe package's own example, by hand: 0·3+3·7+2·1+1·3+8·7+0·1+0·3+0·7+0·1+1·3
    # +1·7+8·1+3·3+5·7+9·1+7·3+1·7 = 181 → (10 − 1) % 10 = 9.
    assert clabes.control_digit('03218000011835971') == '9'
    assert clabes.is_valid('002180000118359710') is True      # Banamex, control digit 0
    assert clabes.is_valid('002180000118359711') is False     # the control digit is wrong
    assert clabes.is_valid('999180000118359713') is False     # no bank 999
    for bad in ('', '0321800001183597', '03218000011835971a', '０３２１８０００１１８３５９７１９', None):
        assert clabes.is_valid(bad) is False


def test_a_range_numbers_customers_and_reads_them_back():
    numbers = clabes.ClabeRange('6461801570')
    assert numbers.capacity == 9_999_999
    first, other = numbers.clabe_for(1), numbers.clabe_for(4321)
    assert first == '646180157000000017' and clabes.is_valid(first)
    assert other.startswith('64618015700004321') and clabes.is_valid(other)
    assert (numbers.number_of(first), numbers.number_of(other)) == (1, 4321)
    assert numbers.number_of(COMPANY_ACCOUNT) is None         # number 0 is nobody
    assert numbers.number_of('012180001234567899') is None    # another bank's CLABE
    with pytest.raises(clabes.ClabeError):
        numbers.clabe_for(10_000_000)
    for prefix in ('64618', '99918015700', '64618015700000000', '6461801570x'):
        with pytest.raises(clabes.ClabeError):
            clabes.ClabeRange(prefix)


def test_references_are_the_payment_number_in_seven_digits():
    assert clabes.numeric_reference('229') == '0000229'
    assert clabes.payment_of_reference('0000229') == '229'
    for bad in ('', '0', '12345678', '22a', '-229', '２２９'):
        assert clabes.payment_of_reference(bad) is None
    with pytest.raises(ValueError):
        clabes.numeric_reference('10000000')


def test_a_transfer_names_payments_by_reference_or_in_its_concept():
    def transfer(**values):
        return Transfer('ABC123', datetime.date(2026, 11, 30), Decimal('10.00'), COMPANY_ACCOUNT,
                        **values)
    assert transfer(numeric_reference='229').references() == ['229']
    assert transfer(concept='PAGO 0000231 FACTURAS').references() == ['231']
    assert transfer(concept='FACTURA 12345678').references() == []   # 8 digits: not a reference
    for bad in (dict(tracking_key=''), dict(tracking_key='X' * 31), dict(amount=Decimal('0')),
                dict(amount=Decimal('1.001')), dict(beneficiary_account='123')):
        values = dict(tracking_key='ABC123', operation_date=datetime.date(2026, 11, 30),
                      amount=Decimal('10.00'), beneficiary_account=COMPANY_ACCOUNT)
        values.update(bad)
        with pytest.raises(TransferError):
            Transfer(**values)


# -- the abono --------------------------------------------------------------------------------

ABONO = {
    'id': 3191365, 'fechaOperacion': 20261130, 'institucionOrdenante': 40012,
    'institucionBeneficiaria': 90646, 'claveRastreo': 'BNET01002611300012345', 'monto': 36870.8,
    'nombreOrdenante': 'CLIENTE SA DE CV', 'tipoCuentaOrdenante': 40,
    'cuentaOrdenante': '012180001234567899', 'rfcCurpOrdenante': 'CME930812PW3',
    'nombreBeneficiario': 'CANON MEXICANA', 'tipoCuentaBeneficiario': 40,
    'cuentaBeneficiario': '646180157000000017', 'rfcCurpBeneficiario': 'ND',
    'conceptoPago': 'PAGO 229', 'referenciaNumerica': 229, 'empresa': 'CANON',
    'tipoPago': 1, 'tsLiquidacion': '1796112000000',
}


def signed(data, secret=SECRET):
    body = json.dumps(data).encode()
    return abono.signature(secret, body), body


def test_an_abono_reads_stps_fields():
    transfer = abono.read_abono(SECRET, *signed(ABONO), today=DAY)
    assert transfer.key == '20261130-BNET01002611300012345-40012'
    assert transfer.amount == Decimal('36870.80') and transfer.operation_date == datetime.date(2026, 11, 30)
    assert (transfer.ordering_bank, transfer.ordering_account) == ('40012', '012180001234567899')
    assert transfer.numeric_reference == '229' and transfer.references() == ['229']
    assert transfer.settled_at.tzinfo is not None and transfer.source == 'abono'


@pytest.mark.parametrize('change', [
    {'monto': -5}, {'monto': 'mucho'}, {'monto': True}, {'monto': 1e-9}, {'fechaOperacion': 20261340},
    {'claveRastreo': ''}, {'claveRastreo': ['x']}, {'cuentaBeneficiario': 'x' * 18},
    {'tsLiquidacion': 'ayer'}, {'tsLiquidacion': '9' * 40}, {'claveRastreo': 'X' * 500},
    # Dates at the calendar's edges, and far from today: refused before anything is matched.
    {'fechaOperacion': 99991231}, {'fechaOperacion': 10101}, {'fechaOperacion': 0},
    {'fechaOperacion': 20261301}, {'fechaOperacion': 20261202}, {'fechaOperacion': 20250101}])
def test_an_abono_with_a_bad_field_is_refused(change):
    with pytest.raises(abono.AbonoRejected):
        abono.read_abono(SECRET, *signed(dict(ABONO, **change)), today=DAY)


def test_an_abono_without_the_right_signature_is_refused_before_it_is_read():
    header, body = signed(ABONO)
    for bad_header, bad_body in ((None, body), ('', body), (signed(ABONO, 'other')[0], body),
                                 (header, body + b' '), ('sha256=' + 'ff' * 32, body)):
        with pytest.raises(abono.AbonoRejected):
            abono.read_abono(SECRET, bad_header, bad_body, DAY)
    with pytest.raises(abono.AbonoRejected):
        abono.read_abono('', header, body, DAY)                # no secret configured: nothing passes
    huge = b'{"x": "' + b'a' * abono.MAX_BODY + b'"}'
    with pytest.raises(abono.AbonoRejected):
        abono.read_abono(SECRET, abono.signature(SECRET, huge), huge, DAY)
    for not_an_object in (b'[1]', b'null', b'{'):
        with pytest.raises(abono.AbonoRejected):
            abono.read_abono(SECRET, abono.signature(SECRET, not_an_object), not_an_object, DAY)


# -- statements -------------------------------------------------------------------------------

def test_camt053_reads_the_credits_and_counts_the_debits():
    data = camt053(
        camt_entry('36870.80', 'BNET0100261130000001', '646180157000000017', reference='0000229',
                   concept='PAGO FACTURAS'),
        camt_entry('1500.00', 'BNET0100261130000002', '646180157000000017', credit=False),
        camt_entry('99.00', 'PENDIENTE01', '646180157000000017', status='PDNG'))
    read = statements.read_statement(data)
    assert read.format == 'camt053' and read.ok and read.debits == 1
    [transfer] = read.transfers
    assert (transfer.tracking_key, transfer.amount, transfer.beneficiary_account) == (
        'BNET0100261130000001', Decimal('36870.80'), '646180157000000017')
    assert (transfer.ordering_bank, transfer.ordering_account, transfer.ordering_name) == (
        '40012', '012180001234567899', 'CLIENTE SA DE CV')
    assert transfer.numeric_reference == '0000229' and transfer.concept == 'PAGO FACTURAS'


def test_camt053_refuses_other_currencies_and_entities():
    read = statements.read_statement(camt053(camt_entry('10.00', 'X1', COMPANY_ACCOUNT, currency='USD')))
    assert not read.ok and read.problems[0] == ('Ntry 1', statements.NOT_MXN, {'currency': 'USD'})
    evil = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="MXN">&x;</Amt>'
            b'<CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-30</Dt></BookgDt></Ntry></Stmt>'
            b'</BkToCstmrStmt></Document>')
    read = statements.read_statement(evil)
    assert not read.ok and 'root:' not in repr(read)
    assert not statements.read_statement(b'<notcamt/>').ok


def test_mt940_reads_the_86_layout_and_the_statement_account():
    data = mt940(('261130', 'C', '36870,80', 'NONREF',
                  'RASTREO:BNET0100261130000001 REF:0000229 BANCO:40012 CTA:012180001234567899 '
                  'ORD:CLIENTE SA DE CV CONCEPTO:PAGO FACTURAS'),
                 ('261130', 'D', '100,00', 'COMISION', 'COMISION SPEI'),
                 ('261130', 'C', '50,00', 'BNK77', 'ORD:OTRO SA'))
    read = statements.read_statement(data)
    assert read.format == 'mt940' and read.ok, read.problems
    assert read.debits == 1 and len(read.transfers) == 2
    first, second = read.transfers
    assert (first.tracking_key, first.amount, first.numeric_reference, first.ordering_bank) == (
        'BNET0100261130000001', Decimal('36870.80'), '0000229', '40012')
    assert first.beneficiary_account == COMPANY_ACCOUNT and first.concept == 'PAGO FACTURAS'
    assert (second.tracking_key, second.amount) == ('BNK77', Decimal('50.00'))


def test_csv_statements_and_their_problems():
    good = ('fecha_operacion,clave_rastreo,monto,cuenta_beneficiaria,referencia_numerica\n'
            '2026-11-30,BNET01,"36,870.80",646180157000000017,229\n'
            '30/11/2026,BNET02,10.00,646180157000000017,\n').encode()
    read = statements.read_statement(good)
    assert read.format == 'csv' and read.ok and [t.amount for t in read.transfers] == [
        Decimal('36870.80'), Decimal('10.00')]
    bad = ('fecha_operacion;clave_rastreo;monto;cuenta_beneficiaria\n'
           '2026-13-30;BNET01;10.00;646180157000000017\n'
           '2026-11-30;BNET02;-1;646180157000000017\n').encode()
    read = statements.read_statement(bad)
    assert read.problems == [('2', statements.BAD_DATE, {}),
                             ('3', statements.INVALID_FIELD, {'field': 'amount'})]
    assert statements.read_statement(b'monto,otra\n1,2\n').problems == [
        ('1', statements.MISSING_COLUMNS,
         {'columns': 'fecha_operacion, clave_rastreo, cuenta_beneficiaria'})]
    assert statements.read_statement(b'fecha_operacion\n\xff\n').problems == [
        ('', statements.NOT_UTF8, {})]


def test_a_csv_cell_too_long_is_a_problem_of_its_line_and_the_rest_is_read():
    data = ('fecha_operacion,clave_rastreo,monto,cuenta_beneficiaria,concepto\n'
            f'2026-11-30,BNET01,10.00,{COMPANY_ACCOUNT},{"x" * 200_000}\n'      # past csv's limit
            f'2026-11-30,BNET02,10.00,{COMPANY_ACCOUNT},{"y" * 1001}\n'
            f'2026-11-30,BNET03,10.00,{COMPANY_ACCOUNT},{"z" * 1000}\n').encode()
    read = statements.read_statement(data)
    assert [problem.where for problem in read.problems] == ['2', '3']
    # Past csv's own limit (131072 by default; the ERP import raises it for the process)
    # or past ours: a problem of the line either way.
    assert read.problems[0].code in (statements.UNREADABLE, statements.LONG_CELL)
    assert read.problems[1] == ('3', statements.LONG_CELL, {'count': 1000})
    assert [t.tracking_key for t in read.transfers] == ['BNET03']
    assert 'xxxx' not in repr(read.problems) and 'yyyy' not in repr(read.problems)
    huge_header = f'fecha_operacion,{"h" * 2000}\n'.encode()
    assert statements.read_statement(huge_header).problems == [
        ('1', statements.LONG_CELL, {'count': 1000})]


def test_the_mt940_librarys_logs_never_quote_an_uploaded_statement(caplog):
    secret = 'SECRETO COMERCIAL SA'
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger='mt940')       # as a deployer debugging might
    good = mt940(('261130', 'C', '36870,80', 'NONREF', f'RASTREO:BNET01 ORD:{secret}'))
    bad = good.replace(b':61:261130', f':61:{secret}'.encode())
    assert statements.read_statement(good).ok
    assert not statements.read_statement(bad).ok
    assert secret not in caplog.text and 'BNET01' not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith('mt940')]
    assert logging.getLogger('mt940').level == logging.DEBUG       # given back afterwards
    # What the staff's report shows of the library's error stays short.
    read = statements.read_statement(bad.replace(secret.encode(), b'Z' * 5000))
    assert read.problems[0].code == statements.NOT_MT940
    assert len(read.problems[0].values['detail']) < 300


# -- tsLiquidacion and nesting of a signed abono ----------------------------------------------

@pytest.mark.parametrize('stamp', ['9' * 15, '99999999999999', '0', '1577836800000',
                                   '१७९६११२०००००००'])
def test_an_abono_settled_outside_the_operation_dates_bounds_is_refused(stamp):
    # 15 digits: a year past 9999 (was HTTP 500); 14: year 5138; 1970; 2020 (400 days old);
    # Devanagari digits (str.isdigit says yes).
    with pytest.raises(abono.AbonoRejected) as refused:
        abono.read_abono(SECRET, *signed(dict(ABONO, tsLiquidacion=stamp)), today=DAY)
    assert refused.value.signed and refused.value.status == 400
    fine = abono.read_abono(SECRET, *signed(dict(ABONO, tsLiquidacion='1796061600000')), today=DAY)
    assert fine.settled_at == datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.timezone.utc)


def test_a_signed_body_nested_deep_is_refused_before_it_is_parsed():
    for body in (b'[' * 8000 + b']' * 8000, b'{"a":' * 5 + b'1' + b'}' * 5):
        with pytest.raises(abono.AbonoRejected) as refused:
            abono.read_abono(SECRET, abono.signature(SECRET, body), body, DAY)
        assert refused.value.reason == 'nested too deep' and refused.value.status == 400
    assert abono.nesting(b'{"conceptoPago": "[[[[[[{{{{\\"]]]"}') == 1
    with pytest.raises(abono.AbonoRejected) as unsigned:
        abono.read_abono(SECRET, 'sha256=00', b'[' * 8000, DAY)
    assert unsigned.value.status == 403


# -- a transfer's identity ----------------------------------------------------------------

def test_a_transfers_key_is_date_clave_and_ordering_institution():
    def transfer(bank='', account='', amount='10.00', clabe=COMPANY_ACCOUNT, tracking='bnet01'):
        return Transfer(tracking, DAY, Decimal(amount), clabe, ordering_bank=bank,
                        ordering_account=account)
    assert transfer('40012').key == '20261130-BNET01-40012'
    assert transfer('012').key == '20261130-BNET01-40012'             # a CLABE's bank code
    assert transfer('', '014180655012345674').key == '20261130-BNET01-40014'   # its CLABE
    assert transfer('BBVA', '5579123412341234').key == '20261130-BNET01-ND'    # a card: unknown
    assert transfer('40012').copy_of(transfer('40012'))
    assert transfer('40012').copy_of(transfer())                      # one side does not know
    assert not transfer('40012').copy_of(transfer('40014'))
    assert not transfer('40012').copy_of(transfer('40012', amount='10.01'))
    assert not transfer('40012').copy_of(transfer('40012', clabe='646180157000000017'))
    assert not transfer('40012').copy_of(transfer('40012', tracking='BNET02'))
    assert not transfer('40012').may_share_key(transfer('40014'))
    stored = transfer('40012', '012180001234567899')
    assert Transfer.from_dict(stored.as_dict()) == stored


# -- the cap on questions to Banxico --------------------------------------------------------

def test_the_cep_client_asks_banxico_at_most_as_often_as_its_limit_allows():
    import httpx

    from canonportal.sandbox.spei import make_apps
    from canonportal.spei.cep import CepBusy, CepClient, CepNotFound, Query, QueryLimit
    _bank, banxico = make_apps('https://portal.test/spei/abono', SECRET, COMPANY_ACCOUNT)
    asked = []

    def counted(environ, start_response):
        asked.append(environ['PATH_INFO'])
        return banxico(environ, start_response)
    now = [1000.0]
    client = CepClient('https://cep.test', transport=httpx.WSGITransport(app=counted),
                       limit=QueryLimit(2, 60, clock=lambda: now[0]))
    query = Query(DAY, 'NOEXISTE', '40012', '90646', COMPANY_ACCOUNT, Decimal('10.00'))
    for _ in range(2):
        with pytest.raises(CepNotFound):
            client.fetch(query)
    with pytest.raises(CepBusy):
        client.fetch(query)
    assert asked == ['/valida.do', '/valida.do']
    now[0] += 59.9
    with pytest.raises(CepBusy):
        client.fetch(query)
    now[0] += 0.2                                   # the first question left the window
    with pytest.raises(CepNotFound):
        client.fetch(query)
    assert len(asked) == 3
