"""The staff's actions in the management views: what changes, what is recorded, who may.

Customer actions (unlock, reset link, disable, enable), resolving a payment in
review, replacing a statement's PDF and asking the bank about a payment. The
bank is the in-process sandbox (tests/payment_support.py), told to lose its
notifications so only the staff's query can learn the outcome.
"""
import datetime
import re
from urllib.parse import urlsplit

import pytest
import webtest


from canonportal.resources.payment import REVIEW
from portal_support import (
    CANON, GOOD_PASSWORD, IXTAPA, Client, last_form, link_in, nothing_changes, throttle,
    with_root)
from payment_support import accept, confirmation, in_transit, misbehave, receipts, state_of
from manage_support import (
    HOST, audit_entries, facts, flash_text, follow, path_of, staff_client)

CUSTOMER = f'/manage/customers/{CANON}'
PAYMENT_228 = f'{CUSTOMER}/payments/228'
STATEMENT = f'{CUSTOMER}/statements/171001'
NEW_PASSWORD = 'otra frase larga para el portal'


def action_form(page, name):
    """The page's form posting to the view ``@@name``."""
    for form in page.forms.values():
        if (form.action or '').endswith('@@' + name):
            return form
    raise AssertionError(f'no form for @@{name}: {[f.action for f in page.forms.values()]}')


def action_names(page):
    return sorted(form.action.rsplit('@@', 1)[1] for form in page.forms.values()
                  if '@@' in (form.action or '') and form.method.upper() == 'POST')


def customer_state(app, rfc=CANON):
    def read(root):
        customer = root.customers[rfc]
        return {'locked_until': customer.locked_until, 'failed': len(customer.failed_logins),
                'disabled': customer.disabled, 'generation': customer.session_generation}
    return with_root(app, read)


@pytest.fixture
def operator(app):
    return staff_client(app, 'olga', 'operator')


@pytest.fixture
def auditor(app):
    return staff_client(app, 'aud', 'auditor')


def signed_in_customer(app, mailer, rfc=CANON):
    """A customer that activated its account (the mailed link confirms its email)."""
    client = Client(app, extra_environ=dict(HOST)).sign_in_active(rfc=rfc)
    mailer.outbox.clear()
    return client


# -- customer: unlock ------------------------------------------------------------------------------

def test_operator_unlocks_a_customer_locked_by_failed_logins(app, operator, frozen_clock, mailer):
    signed_in_customer(app, mailer)
    visitor = Client(app, extra_environ=dict(HOST))
    for _ in range(5):
        visitor.login(CANON, 'no es la contraseña', status='*')
    assert 'bloqueada' in visitor.login(CANON, GOOD_PASSWORD, status=403).text
    page = operator.get(CUSTOMER)
    assert facts(page)['Bloqueado'].startswith('Sí, hasta')

    done = action_form(page, 'desbloquear').submit()
    assert done.status_int == 303 and urlsplit(done.location).path.endswith(f'customers/{CANON}')
    page = done.follow()
    assert 'Cuenta desbloqueada' in flash_text(page)
    assert facts(page)['Bloqueado'] == 'No'
    assert customer_state(app)['locked_until'] is None
    assert visitor.login(CANON, GOOD_PASSWORD).status_int == 303
    [entry] = audit_entries(app, 'customer.unlock')
    assert entry[0] == 'staff:olga' and entry[2] == f'/customers/{CANON}'
    assert 'failed_logins=0' in entry[4] and 'locked_until=2026' in entry[3]
    # Nothing left to unlock: the button is gone and a stale form is refused.
    assert 'desbloquear' not in action_names(page)
    token = operator.csrf('/manage')
    with nothing_changes(app):
        again = operator.post(f'{CUSTOMER}/@@desbloquear', {'csrf_token': token}, status=400)
    assert 'no está bloqueada' in again.text


# -- customer: reset link ----------------------------------------------------------------------------

def test_the_reset_link_goes_to_the_confirmed_email_and_works_on_restablecer(app, operator, mailer):
    customer = signed_in_customer(app, mailer)
    page = operator.get(CUSTOMER)
    assert facts(page)['Correo confirmado'] == 'cme930812pw3@example.mx'
    done = action_form(page, 'enviar-restablecimiento').submit().follow()
    assert 'enviado a cme930812pw3@example.mx' in flash_text(done)
    [message] = mailer.outbox
    assert message.recipients == ['cme930812pw3@example.mx']
    assert message.subject == 'Restablecer contraseña'
    link = link_in(message, '/restablecer')
    assert link.startswith('https://portal.example.mx/restablecer/')

    stranger = Client(app, extra_environ=dict(HOST))
    form = last_form(stranger.get(path_of(link)))
    form['password'] = form['password_confirmation'] = NEW_PASSWORD
    assert 'contraseña cambió' in form.submit().text
    # The new password works, the old session ended, the link works once.
    assert customer.get(f'/customers/{CANON}/saldos').location == 'http://portal.example.mx/'
    assert stranger.login(CANON, NEW_PASSWORD).status_int == 303
    stranger.get(path_of(link), status=400)
    [entry] = audit_entries(app, 'customer.reset-link')
    assert entry[:2] == ('staff:olga', 'customer.reset-link')
    assert entry[4] == 'sent_to=cme930812pw3@example.mx'
    assert '/restablecer/' not in ' '.join(entry)  # the token never reaches the log


def test_no_reset_link_without_a_confirmed_email(app, operator, mailer):
    page = operator.get(CUSTOMER)
    assert 'enviar-restablecimiento' not in action_names(page)
    token = operator.csrf('/manage')
    with nothing_changes(app):
        refused = operator.post(f'{CUSTOMER}/@@enviar-restablecimiento', {'csrf_token': token},
                                status=400)
    assert 'no tiene un correo confirmado' in refused.text


# -- customer: disable and enable -----------------------------------------------------------------

def test_disabling_ends_the_sessions_and_refuses_sign_in_until_enabled(app, operator, mailer):
    customer = signed_in_customer(app, mailer)
    other_tab = Client(app, extra_environ=dict(HOST))
    other_tab.set_cookie('canonportal', customer.cookies['canonportal'])
    for browser in (customer, other_tab):
        assert browser.get(f'/customers/{CANON}/saldos').status_int == 200
    stolen = other_tab.cookies['canonportal']
    page = operator.get(CUSTOMER)
    done = action_form(page, 'deshabilitar').submit().follow()
    assert 'Cuenta deshabilitada' in flash_text(done)
    assert facts(done)['Deshabilitado'] == 'Sí'
    # No reset link for a disabled account (its reminders may still be switched).
    assert action_names(done) == ['habilitar', 'recordatorios']

    assert customer.get(f'/customers/{CANON}/saldos').location == 'http://portal.example.mx/'
    token = customer.csrf()
    with nothing_changes(app):
        refused = customer.login(CANON, GOOD_PASSWORD, status=403)
    assert 'deshabilitada' in refused.text
    with nothing_changes(app, but=throttle):     # counted, like any address asking
        customer.post('/recuperar-contrasena', {'login': CANON, 'csrf_token': token})
    assert audit_entries(app, 'customer.disable')[0][3:5] == ('disabled=False', 'disabled=True')

    done = action_form(done, 'habilitar').submit().follow()
    assert 'Cuenta habilitada' in flash_text(done)
    assert customer.login(CANON, GOOD_PASSWORD).status_int == 303
    assert customer.get(f'/customers/{CANON}/saldos').status_int == 200
    # A session from before the disabling stays ended after enabling.
    other_tab.set_cookie('canonportal', stolen)
    assert other_tab.get(f'/customers/{CANON}/saldos').location == 'http://portal.example.mx/'
    assert audit_entries(app, 'customer.enable')[0][:2] == ('staff:olga', 'customer.enable')


def test_a_stale_disable_enable_or_reset_form_changes_nothing(app, operator, mailer):
    signed_in_customer(app, mailer)
    token = operator.csrf('/manage')
    with nothing_changes(app):
        stale = operator.post(f'{CUSTOMER}/@@habilitar', {'csrf_token': token}, status=400)
    assert 'ya está habilitada' in stale.text
    action_form(operator.get(CUSTOMER), 'deshabilitar').submit()
    with nothing_changes(app):
        again = operator.post(f'{CUSTOMER}/@@deshabilitar', {'csrf_token': token}, status=400)
        reset = operator.post(f'{CUSTOMER}/@@enviar-restablecimiento', {'csrf_token': token},
                              status=400)
    assert 'ya está deshabilitada' in again.text
    assert 'habilítela antes de enviar el enlace' in reset.text


def test_disabling_voids_reset_links_already_mailed(app, operator, mailer):
    signed_in_customer(app, mailer)
    page = operator.get(CUSTOMER)
    action_form(page, 'enviar-restablecimiento').submit()
    link = link_in(mailer.outbox[-1], '/restablecer')
    action_form(operator.get(CUSTOMER), 'deshabilitar').submit()
    stranger = Client(app, extra_environ=dict(HOST))
    with nothing_changes(app):
        stranger.get(path_of(link), status=400)
        stranger.post(path_of(link), {'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD,
                                      'csrf_token': stranger.csrf()}, status=400)


# -- who may act ---------------------------------------------------------------------------------

ACTIONS = (
    (CUSTOMER, 'desbloquear'), (CUSTOMER, 'enviar-restablecimiento'), (CUSTOMER, 'deshabilitar'),
    (CUSTOMER, 'habilitar'), (PAYMENT_228, 'consultar-banco'), (PAYMENT_228, 'resolver-revision'),
    (STATEMENT, 'reemplazar-pdf'),
)


def put_in_review(app, reference='228'):
    def work(root):
        payment = root.payments_by_reference[reference]
        payment.transition(REVIEW, datetime.datetime(2026, 11, 29, 18, tzinfo=datetime.timezone.utc),
                           'notification', 'verified bank data disagree on amount')
    with_root(app, work)


def test_auditor_sees_no_action_and_is_refused_every_one(app, auditor, mailer):
    signed_in_customer(app, mailer)
    put_in_review(app)
    for url in (CUSTOMER, PAYMENT_228, STATEMENT):
        page = auditor.get(url)
        assert action_names(page) == [], url
        assert page.html.find(string=re.compile('Acciones')) is None
    token = auditor.csrf('/manage')
    with nothing_changes(app):
        for url, name in ACTIONS:
            response = auditor.post(f'{url}/@@{name}', {'csrf_token': token, 'decision': 'approved',
                                                       'comment': 'intento'}, status='*')
            assert response.status_int == 403, name


def test_actions_need_the_csrf_token(app, operator):
    with nothing_changes(app):
        for url, name in ACTIONS:
            response = operator.post(f'{url}/@@{name}', {'csrf_token': 'robado'}, status='*')
            assert response.status_int == 400, name


def test_a_customer_cannot_act_on_itself_through_manage(app, mailer):
    customer = signed_in_customer(app, mailer)
    token = customer.csrf(f'/customers/{CANON}/saldos')
    with nothing_changes(app):
        for url, name in ACTIONS:
            assert customer.post(f'{url}/@@{name}', {'csrf_token': token},
                                 status='*').status_int == 403


def test_operator_and_admin_see_the_actions(app, operator):
    admin = staff_client(app, 'alice', 'admin')
    for client in (operator, admin):
        # A customer not activated yet can be sent an invitation (issue 11).
        assert action_names(client.get(CUSTOMER)) == ['deshabilitar', 'enviar-invitacion',
                                                      'recordatorios']
        assert action_names(client.get(STATEMENT)) == ['reemplazar-pdf']


# -- payment: resolve review -------------------------------------------------------------------------

@pytest.mark.parametrize('decision, label, transit', [
    ('approved', 'Aprobado', '1.00'),
    ('declined', 'Rechazado', '0.00'),
    ('refund-needed', 'Reembolso pendiente', '0.00'),
])
def test_operator_resolves_a_review(app, operator, decision, label, transit):
    put_in_review(app)
    page = operator.get(PAYMENT_228)
    assert facts(page)['Estado'] == 'En revisión'
    form = action_form(page, 'resolver-revision')
    form['decision'] = decision
    form['comment'] = 'Confirmado con el banco por teléfono'
    done = form.submit().follow()
    assert f'quedó como «{label}»' in flash_text(done)
    assert facts(done)['Estado'] == label
    assert 'resolver-revision' not in action_names(done)
    assert str(in_transit(app, '1233074')) == transit
    history = [[c.get_text(' ', strip=True) for c in tr.find_all('td')]
               for tr in done.html.select('table.history tbody tr')]
    assert history[-1][1:] == ['En revisión', label, 'personal', 'Confirmado con el banco por teléfono']
    entry = audit_entries(app, 'payment.transition')[0]
    assert entry[:5] == ('staff:olga', 'payment.transition', f'/customers/{CANON}/payments/228',
                         'review', decision)
    assert 'Confirmado con el banco' in entry[5]


@pytest.mark.parametrize('fields, message', [
    ({'decision': 'approved', 'comment': '   '}, 'Escriba un comentario'),
    ({'decision': 'applied', 'comment': 'aplicar ya'}, 'Elija una decisión'),
    ({'comment': 'sin decisión'}, 'Elija una decisión'),
    ({'decision': 'declined', 'comment': 'x' * 1001}, 'demasiado largo'),
])
def test_resolving_needs_a_decision_and_a_comment(app, operator, fields, message):
    put_in_review(app)
    fields = dict(fields, csrf_token=operator.csrf('/manage'))
    with nothing_changes(app):
        page = operator.post(f'{PAYMENT_228}/@@resolver-revision', fields, status=400)
    assert message in page.html.find('p', class_='error').text
    assert facts(page)['Estado'] == 'En revisión'


def test_only_a_payment_in_review_can_be_resolved(app, operator):
    page = operator.get(PAYMENT_228)
    assert 'resolver-revision' not in action_names(page)
    token = operator.csrf('/manage')
    with nothing_changes(app):
        refused = operator.post(f'{PAYMENT_228}/@@resolver-revision',
                                {'csrf_token': token, 'decision': 'declined', 'comment': 'no'},
                                status=409)
    assert 'no está en revisión' in refused.text


def test_asking_a_bank_the_portal_does_not_have_changes_nothing(app, operator):
    """The demo's payment 228 went through Citibanamex; this portal has no bank configured."""
    token = operator.csrf('/manage')
    with nothing_changes(app):
        refused = operator.post(f'{PAYMENT_228}/@@consultar-banco', {'csrf_token': token},
                                status=409)
    assert 'no está configurado en este portal' in refused.text


# -- statement: replace the PDF --------------------------------------------------------------------

PDF = b'%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'


def test_operator_replaces_a_statements_pdf_and_the_customer_downloads_it(app, operator, mailer):
    customer = signed_in_customer(app, mailer)
    page = operator.get(STATEMENT)
    form = action_form(page, 'reemplazar-pdf')
    form['pdf'] = webtest.Upload('estado-171001.pdf', PDF, 'application/pdf')
    done = form.submit().follow()
    assert 'PDF del estado de cuenta reemplazado' in flash_text(done)
    assert facts(done)['PDF'] == f'Del ERP o reemplazado ({len(PDF)} bytes)'
    assert follow(operator, done, 'Descargar PDF').body == PDF
    assert customer.get(f'/customers/{CANON}/statements/171001/@@pdf').body == PDF
    [entry] = audit_entries(app, 'statement.replace-pdf')
    assert entry[:3] == ('staff:olga', 'statement.replace-pdf', f'/customers/{CANON}/statements/171001')
    assert entry[3] == 'generated by the portal'
    assert f'bytes={len(PDF)}' in entry[4] and 'sha256=' in entry[4]
    assert entry[5] == 'file estado-171001.pdf'

    # A second replacement records the first one's digest as "before".
    form = action_form(operator.get(STATEMENT), 'reemplazar-pdf')
    form['pdf'] = webtest.Upload('nuevo.pdf', PDF + b'% otra\n', 'application/pdf')
    form.submit()
    assert audit_entries(app, 'statement.replace-pdf')[0][3] == entry[4]


@pytest.mark.parametrize('upload, message', [
    (('factura.pdf', b'<html>no soy un PDF</html>'), 'no es un PDF'),
    (('vacio.pdf', b''), 'vacío'),
    (('grande.pdf', PDF + b'0' * (1024 * 1024)), 'límite de 1 MB'),
    (None, 'Elija el archivo PDF'),
])
def test_a_replacement_must_be_a_pdf_within_the_limit(app, operator, upload, message,
                                                     monkeypatch):
    monkeypatch.setitem(app.registry.settings, 'canonportal.statement_pdf_max_mb', '1')
    token = operator.csrf('/manage')
    files = [('pdf',) + upload] if upload else []
    with nothing_changes(app):
        page = operator.post(f'{STATEMENT}/@@reemplazar-pdf', {'csrf_token': token},
                             upload_files=files, status=400)
    assert message in page.html.find('p', class_='error').text
    assert facts(page)['PDF'] == 'Generado por el portal con sus datos'


# -- payment: query the bank now (sandbox banks) ---------------------------------------------------

def lost_payment(payer, banks, bank, folio='6212976', **card):
    """A payment made at the bank whose notification is lost and whose browser never returns."""
    misbehave(banks, bank, 'drop', 'no_return')
    page = payer.at_bank(accept(confirmation(payer, bank, {folio: None})), **card)
    assert 'SANDBOX' in page.text


def query(staff, reference='229'):
    page = staff.get(f'{CUSTOMER}/payments/{reference}')
    done = action_form(page, 'consultar-banco').submit()
    assert done.status_int == 303
    return done.follow()


def test_querying_citibanamex_settles_a_payment_whose_notification_was_lost(
        portal, banks, payer, portal_mailer):
    lost_payment(payer, banks, 'banamex')
    assert state_of(portal) == 'pending'
    staff = staff_client(portal, 'olga', 'operator')
    page = query(staff)
    message = flash_text(page)
    assert 'El banco dice: aprobado' in message and 'pasó de «Pendiente» a «Aprobado»' in message
    assert state_of(portal) == 'approved' and facts(page)['Estado'] == 'Aprobado'
    assert facts(page)['Referencia bancaria'].startswith('BC-Banamex ')
    assert page.html.select('dl.bank-data dt')          # the verified data are shown
    assert [m.subject for m in receipts(portal_mailer)] == ['Recibo de pago 229']
    staff_entry = audit_entries(portal, 'payment.query-bank')[0]
    assert staff_entry[:5] == ('staff:olga', 'payment.query-bank',
                               f'/customers/{CANON}/payments/229', 'pending', 'approved')
    bank_entry = audit_entries(portal, 'payment.transition')[0]
    assert bank_entry[0] == 'bank:banamex' and bank_entry[3:5] == ('pending', 'approved')

    # Asked again once approved: the answer is shown, nothing changes, no second receipt.
    transitions = len(audit_entries(portal, 'payment.transition'))
    page = query(staff)
    assert 'El banco dice: aprobado' in flash_text(page) and 'no se cambia' in flash_text(page)
    assert state_of(portal) == 'approved' and len(receipts(portal_mailer)) == 1
    assert len(audit_entries(portal, 'payment.transition')) == transitions
    assert audit_entries(portal, 'payment.query-bank')[0][3:5] == ('approved', 'approved')


def test_querying_a_declined_card_releases_the_invoice(portal, banks, payer):
    lost_payment(payer, banks, 'banamex', expiry='05/39')
    staff = staff_client(portal, 'olga', 'operator')
    page = query(staff)
    assert 'pasó de «Pendiente» a «Rechazado»' in flash_text(page)
    assert str(in_transit(portal, '6212976')) == '0.00'


def test_bbva_offers_no_query_so_the_payment_waits_and_then_expires(
        portal, banks, payer, frozen_clock):
    lost_payment(payer, banks, 'bbva')
    staff = staff_client(portal, 'olga', 'operator')
    page = query(staff)
    assert 'no ofrece consulta' in flash_text(page)
    assert state_of(portal) == 'pending'
    assert audit_entries(portal, 'payment.query-bank')[0][5] == 'the bank offers no query'

    frozen_clock.advance(minutes=121)
    staff.login('olga', GOOD_PASSWORD)        # the idle session ended meanwhile
    page = query(staff)
    assert 'no ofrece consulta' in flash_text(page)
    assert state_of(portal) == 'expired' and facts(page)['Estado'] == 'Vencido'
    assert str(in_transit(portal, '6212976')) == '0.00'


def test_a_bank_that_cannot_be_reached_changes_nothing(portal, banks, payer):
    lost_payment(payer, banks, 'banamex')
    banks.site.mounts = [(prefix, app) for prefix, app in banks.site.mounts
                         if prefix != '/sandbox/banamex']
    staff = staff_client(portal, 'olga', 'operator')
    page = query(staff)
    assert 'El banco no respondió' in flash_text(page)
    assert state_of(portal) == 'pending'
    assert audit_entries(portal, 'payment.query-bank')[0][3:5] == ('pending', 'pending')
    assert audit_entries(portal, 'payment.query-bank')[0][5].startswith('bank unreachable')


def test_an_auditor_cannot_query_the_bank(portal, banks, payer):
    lost_payment(payer, banks, 'banamex')
    auditor = staff_client(portal, 'aud', 'auditor')
    page = auditor.get(f'{CUSTOMER}/payments/229')
    assert action_names(page) == []
    token = auditor.csrf('/manage')
    with nothing_changes(portal):
        auditor.post(f'{CUSTOMER}/payments/229/@@consultar-banco', {'csrf_token': token},
                     status=403)
    assert state_of(portal) == 'pending'


# -- customer: invitation (issue 11) ------------------------------------------------------------

def test_operator_invites_a_customer_without_an_erp_email(app, operator, mailer):
    with_root(app, lambda root: setattr(root.customers[IXTAPA], 'contact_email', None))
    page = operator.get(f'/manage/customers/{IXTAPA}')
    form = action_form(page, 'enviar-invitacion')
    form['email'] = 'Tesoreria@Ixtapa.example'
    done = form.submit()
    assert done.status_int == 303
    assert 'Invitación enviada a tesoreria@ixtapa.example' in flash_text(done.follow())
    [message] = [m for m in mailer.outbox if '/activar/' in m.body]
    assert message.recipients == ['tesoreria@ixtapa.example']
    [entry] = audit_entries(app, 'customer.invite')
    assert entry[0] == 'staff:olga' and 'tesoreria@ixtapa.example' in entry[4]
    # The customer follows it and the address becomes the account's email.
    customer = Client(app, extra_environ=dict(HOST))
    customer.activate(to='tesoreria@ixtapa.example')
    assert with_root(app, lambda root: root.customers[IXTAPA].email) == 'tesoreria@ixtapa.example'
    # Active now: no invitation form any more, and a stale one is refused.
    assert 'enviar-invitacion' not in action_names(operator.get(f'/manage/customers/{IXTAPA}'))
    token = operator.csrf('/manage')
    with nothing_changes(app):
        stale = operator.post(f'/manage/customers/{IXTAPA}/@@enviar-invitacion',
                              {'email': 'x@example.mx', 'csrf_token': token}, status=400)
    assert 'sin activar' in stale.text


def test_an_invitation_needs_a_valid_address_and_an_operator(app, operator, auditor, mailer):
    operator_token, auditor_token = operator.csrf('/manage'), auditor.csrf('/manage')
    with nothing_changes(app):
        bad = operator.post(f'{CUSTOMER}/@@enviar-invitacion',
                            {'email': 'no es correo', 'csrf_token': operator_token}, status=400)
        auditor.post(f'{CUSTOMER}/@@enviar-invitacion',
                     {'email': 'x@example.mx', 'csrf_token': auditor_token}, status=403)
    assert 'correo electrónico válido' in bad.text


def history_notes(page):
    """The staff payment page's history: (from, to, source, note) per row."""
    return [tuple(td.get_text(strip=True) for td in row.find_all('td'))[1:]
            for row in page.html.select('table.history tbody tr')]


def audit_rows(page):
    """The /manage audit page's rows: (action, before, after, note)."""
    rows = [[td.get_text(strip=True) for td in row.find_all('td')]
            for row in page.html.select('#audit-table tbody tr')]
    return [(cells[2], cells[4], cells[5], cells[6]) for cells in rows if len(cells) == 7]


def test_staff_read_a_payments_history_and_the_audit_log_as_plain_sentences(
        portal, banks, payer, frozen_clock):
    lost_payment(payer, banks, 'bbva')
    staff = staff_client(portal, 'olga', 'operator')
    query(staff)
    frozen_clock.advance(minutes=121)
    staff.login('olga', GOOD_PASSWORD)
    page = query(staff)
    assert state_of(portal) == 'expired'
    history = history_notes(page)
    assert ('—', 'Pendiente', 'portal', 'Creado.') == history[0]
    assert history[-1][:2] == ('Pendiente', 'Vencido')
    assert history[-1][3] == 'El banco no respondió a tiempo.'
    log = audit_rows(staff.get('/manage/audit'))
    assert ('payment.query-bank', 'Pendiente', 'Pendiente',
            'El banco no ofrece consulta de pagos.') in log
    assert any(row[:3] == ('payment.transition', 'Pendiente', 'Vencido')
               and row[3].endswith(': El banco no respondió a tiempo.') for row in log)
    created = [row for row in log if row[:3] == ('payment.transition', '', 'Pendiente')]
    assert [row[3] for row in created] == ['Creado por 27794.52 MXN, a pagar con BBVA Bancomer.']
    assert not [row for row in log if ' bank ' in row[3] or ' via ' in row[3]]

    staff.set_cookie('lang', 'en')
    history = history_notes(staff.get(f'{CUSTOMER}/payments/229'))
    assert history[-1][1] == 'Expired' and history[-1][3] == 'The bank did not answer in time.'
    log = audit_rows(staff.get('/manage/audit'))
    assert ('payment.query-bank', 'Pending', 'Pending', 'The bank offers no payment queries.') in log
    created = [row for row in log if row[:3] == ('payment.transition', '', 'Pending')]
    assert [row[3] for row in created] == ['Created for 27794.52 MXN, to pay with BBVA Bancomer.']


def test_a_note_of_no_known_shape_is_shown_as_it_was_written(portal, banks, payer):
    lost_payment(payer, banks, 'banamex')
    staff = staff_client(portal, 'olga', 'operator')
    with_root(portal, lambda root: root.audit_log.append(
        datetime.datetime(2026, 11, 30, 18, tzinfo=datetime.timezone.utc), 'staff:olga',
        'payment.transition', f'/customers/{CANON}/payments/229', 'review', 'approved',
        'staff: el cliente mandó su comprobante <b>hoy</b>'))
    log = audit_rows(staff.get('/manage/audit'))
    assert ('payment.transition', 'En revisión', 'Aprobado',
            'personal: el cliente mandó su comprobante <b>hoy</b>') in log
