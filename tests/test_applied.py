"""A payment the ERP applied says so ("Aplicado por Canon Mexicana el …") in HISTORIAL and
on its page, and its payer gets one mail, however many rows of the balances file name it;
importing the file again, or a file with an error, mails nothing."""
from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from erp_samples import balances_csv
from portal_support import CANON, GOOD_PASSWORD, Client, add_staff_user, mails_to, with_root
from payment_support import MANUAL_SELECTION, accept, confirmation, new_payer, snapshot, state_of

HOST = 'portal.example.mx'
IMPORT = '/manage/@@importar'
COMPANY_MAIL = f'{CANON.lower()}@example.mx'
APPLIED = 'Aplicado por Canon Mexicana el 29/11/2026'


def pay(payer, banks, bank='bbva', folios=MANUAL_SELECTION):
    payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(folios))))
    banks.wait_for_deliveries()


def operator(portal):
    add_staff_user(portal, 'oscar', role='operator')
    client = Client(portal, extra_environ={'HTTP_HOST': HOST})
    assert client.login('oscar', GOOD_PASSWORD).status_int == 303
    return client


def upload(client, data, status='*'):
    token = client.get(IMPORT).html.find('input', {'name': 'csrf_token'})['value']
    return client.post(IMPORT, {'csrf_token': token, 'kind': 'balances'},
                       upload_files=[('files', 'saldos.csv', data)], status=status)


def balances(*rows):
    return balances_csv(*({'RFC': CANON, 'Folio': folio, 'Saldo': balance,
                           'Referencia de pago': reference} for folio, balance, reference in rows))


def test_the_payer_is_told_once_and_historial_and_the_page_say_who_applied_it(
        payer, portal, banks, portal_mailer):
    pay(payer, banks, folios=('6212976', '1233076'))             # 229, by the company itself
    ana = new_payer(portal, banks)
    assert ana.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    pay(ana, banks, folios=('1233080',))                         # 230, Ana's (below the rule)
    assert (state_of(portal, '229'), state_of(portal, '230')) == ('approved', 'approved')
    portal_mailer.outbox.clear()
    # Three rows name 229 (one per invoice it paid, one the payment alone), one names 230.
    data = balances(('6212976', '0.00', '229'), ('1233076', '0.00', '229'), ('', '', '229'),
                    ('1233080', '', '230'))
    staff = operator(portal)
    assert upload(staff, data).status_int == 303
    assert (state_of(portal, '229'), state_of(portal, '230')) == ('applied', 'applied')
    [company] = mails_to(portal_mailer, COMPANY_MAIL)
    assert company.subject == 'Su pago 229 ya está aplicado a sus facturas'
    assert company.text.startswith(f'Hola,\n\n{APPLIED}. ')
    assert (f'  Pago 229 por $30,966.38 MXN (facturas 1233076, 6212976): '
            f'https://{HOST}/customers/{CANON}/payments/229/\n') in company.text
    [to_ana] = mails_to(portal_mailer, DEMO_CAPTURA_EMAIL)
    assert to_ana.subject == 'Su pago 230 ya está aplicado a sus facturas'
    assert 'Pago 229' not in to_ana.text and 'Pago 230 por' in to_ana.text
    assert len(portal_mailer.outbox) == 2
    # HISTORIAL and the payment's page say it, to the payer and to Ana alike.
    for reader in (payer, ana):
        history = reader.get(f'/customers/{CANON}/historial-de-pagos')
        notes = {tr.find('a').get_text(): tr.find(class_='applied').get_text(strip=True)
                 for tr in history.html.select('table.history-table tbody tr')
                 if tr.find(class_='applied')}
        assert notes == {'229': APPLIED, '230': APPLIED}
        page = reader.get(f'/customers/{CANON}/payments/230/')
        assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado y aplicado'
        assert page.html.find(id='applied').get_text(' ', strip=True).startswith(APPLIED)
    # In English too.
    payer.set_cookie('lang', 'en')
    page = payer.get(f'/customers/{CANON}/payments/229/')
    assert page.html.find(id='applied').get_text(' ', strip=True).startswith(
        'Applied by Canon Mexicana on 2026-11-29')
    # The same file again applies nothing and mails nothing.
    portal_mailer.outbox.clear()
    assert upload(staff, data).status_int == 303
    assert portal_mailer.outbox == []


def test_a_refused_balances_file_applies_nothing_and_mails_nothing(
        payer, portal, banks, portal_mailer):
    pay(payer, banks)
    portal_mailer.outbox.clear()
    before = snapshot(portal)
    audit_before = with_root(portal, lambda root: len(root.audit_log))
    staff = operator(portal)
    audit_staff = with_root(portal, lambda root: len(root.audit_log))
    refused = upload(staff, balances(('6212976', '0.00', '229'), ('9999999', '0.00', '')),
                     status=400)
    assert 'no existe en el portal' in refused.text
    assert snapshot(portal) == before and state_of(portal, '229') == 'approved'
    assert with_root(portal, lambda root: len(root.audit_log)) == audit_staff >= audit_before
    assert portal_mailer.outbox == []
