"""Company accounts: the administrator (the RFC's credentials) invites colleagues, who sign
in with their email and their role; disabling ends their sessions at once."""
from urllib.parse import urlsplit

import pytest

from portal_support import CANON, IXTAPA, Client, last_form, link_in, with_root

USERS = f'/customers/{CANON}/usuarios'
SALDOS = f'/customers/{CANON}/saldos'
OTHER_PASSWORD = 'Colega-Canon-2026!'


@pytest.fixture
def admin(client):
    return client.sign_in_active()


def invite(admin, email='ana@example.mx', name='Ana López', role='captura', accounts=(),
           status=303):
    page = admin.get(USERS)
    form = next(f for f in page.forms.values() if f.action.endswith('/usuarios'))
    form['email'], form['name'], form['role'] = email, name, role
    for box in form.fields.get('accounts', []):
        box.checked = box._value in accounts  # noqa: SLF001
    return form.submit(status=status)


def user_row(page, email):
    [row] = [tr for tr in page.html.find('table', id='company-users').find_all('tr')
             if email in tr.get_text()]
    return row


def accept(app, mailer, email='ana@example.mx', password=OTHER_PASSWORD):
    """The colleague opens the mailed link, chooses a password and signs in with the email."""
    [message] = [m for m in mailer.outbox if email in m.recipients and 'Invitación' in m.subject]
    link = urlsplit(link_in(message, '/restablecer')).path
    colleague = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    form = last_form(colleague.get(link))
    form['password'] = form['password_confirmation'] = password
    form.submit(status=200)
    landed = colleague.login(email, password, status=303)
    return colleague, landed


def test_an_administrator_invites_a_colleague_who_signs_in_with_the_email(admin, app, mailer):
    done = invite(admin).follow()
    assert 'Enviamos la invitación a ana@example.mx' in done.text
    [message] = mailer.outbox
    assert message.subject == 'Invitación al Portal clientes de Canon Mexicana'
    assert 'Captura' in message.body and 'ana@example.mx' in message.body
    row = user_row(done, 'ana@example.mx')
    assert 'Invitación enviada' in row.get_text()
    colleague, landed = accept(app, mailer)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    page = colleague.get(landed.location)
    assert 'Usuario: Ana López' in ' '.join(page.html.find('p', class_='ident').get_text(' ').split())
    # Captura pays (no approval configured yet) but does not manage the company's users.
    assert colleague.get(SALDOS).html.find(id='view-only') is None
    colleague.get(USERS, status=403)
    assert 'USUARIOS' not in page.html.find('nav', class_='menu').get_text()
    assert 'USUARIOS' in admin.get(SALDOS).html.find('nav', class_='menu').get_text()
    # The administrator sees when the colleague signed in.
    assert '—' not in user_row(admin.get(USERS), 'ana@example.mx').find_all('td')[3].get_text()


def test_consulta_sees_balances_but_cannot_pay(admin, app, mailer):
    invite(admin, email='luis@example.mx', name='Luis', role='consulta')
    colleague, landed = accept(app, mailer, email='luis@example.mx')
    saldos = colleague.get(SALDOS)
    assert saldos.html.find(id='view-only') is not None
    assert saldos.html.find('section', class_='banks') is None
    colleague.post(f'/customers/{CANON}/pagar', {'csrf_token': colleague.csrf(), 'bank': 'bbva',
                                                   'pick': '6212976'}, status=403)
    colleague.get(f'/customers/{CANON}/facturas', status=200)


def test_disabling_ends_the_colleagues_sessions_at_once(admin, app, mailer):
    invite(admin)
    colleague, landed = accept(app, mailer)
    colleague.get(SALDOS, status=200)
    page = admin.get(USERS)
    user_id = with_root(app, lambda root: root.customers.find_user_by_email('ana@example.mx').__name__)
    form = next(f for f in page.forms.values() if f.action.endswith(f'{user_id}/@@deshabilitar'))
    assert 'ya no puede entrar' in form.submit(status=303).follow().text
    assert colleague.get(SALDOS, status=302).location.rstrip('/').endswith('portal.example.mx')
    refused = colleague.login('ana@example.mx', OTHER_PASSWORD, status=403)
    assert 'deshabilitada' in refused.text


def test_a_role_change_takes_effect_at_once(admin, app, mailer):
    invite(admin, role='pago')
    colleague, _landed = accept(app, mailer)
    page = admin.get(USERS)
    user_id = with_root(app, lambda root: root.customers.find_user_by_email('ana@example.mx').__name__)
    form = next(f for f in page.forms.values() if f.action.endswith(f'{user_id}/@@cambiar'))
    form['role'] = 'consulta'
    form.submit(status=303)
    # Its sessions started again with the new rights: it signs in and may no longer pay.
    colleague.get(SALDOS, status=302)
    colleague.login('ana@example.mx', OTHER_PASSWORD, status=303)
    assert colleague.get(SALDOS).html.find(id='view-only') is not None


@pytest.mark.parametrize('email, name, role, message', [
    ('no-es-correo', 'Ana', 'captura', 'Escriba un correo electrónico válido'),
    ('ana@example.mx', '', 'captura', 'Escriba el nombre'),
    ('ana@example.mx', 'Ana', 'jefe', 'Elija un rol de la lista'),
])
def test_a_bad_invitation_says_why_and_changes_nothing(admin, app, mailer, email, name, role, message):
    page = invite(admin, email=email, name=name, role=role, status=400) if role in (
        'captura',) else None
    if page is None:
        admin_page = admin.get(USERS)
        form = next(f for f in admin_page.forms.values() if f.action.endswith('/usuarios'))
        fields = dict(form.submit_fields())
        fields.update(email=email, name=name, role=role)
        page = admin.post(USERS, fields, status=400)
    assert message in page.text
    assert with_root(app, lambda root: len(root.customers[CANON].users)) == 1   # the demo's
    assert mailer.outbox == []


def test_the_same_email_cannot_be_invited_twice(admin, app, mailer):
    invite(admin)
    page = invite(admin, name='Otra Ana', status=400)
    assert 'Ese correo ya tiene una cuenta' in page.text


def test_another_customer_reaches_nothing_of_the_users(admin, app, other_client):
    invite(admin)
    user_id = with_root(app, lambda root: root.customers.find_user_by_email('ana@example.mx').__name__)
    other = other_client.sign_in_active(rfc=IXTAPA)
    other.get(USERS, status=403)
    other.post(f'/customers/{CANON}/users/{user_id}/@@deshabilitar', {'csrf_token': other.csrf()},
               status=403)
    assert with_root(app, lambda root: root.customers[CANON].users[user_id].disabled) is False
    # Its own USUARIOS lists only its own people.
    assert 'ana@example.mx' not in other.get(f'/customers/{IXTAPA}/usuarios').text


def test_the_evolve_step_gives_customers_from_before_their_users_folder(app):
    from canonportal import evolve

    def old_then_new(root):
        customer = root.customers[CANON]
        customer.users = None
        root.customers.user_emails = None
        evolve.company_users(root)
        return customer.users is not None and \
            root.customers.user_emails is not None
    assert with_root(app, old_then_new)


def test_a_user_limited_to_one_account_sees_and_pays_nothing_of_the_other(admin, app, mailer):
    invite(admin, email='mar@example.mx', name='Mar', role='pago', accounts=('005301',))
    mar, _landed = accept(app, mailer, email='mar@example.mx')
    base = f'/customers/{CANON}'
    # ESTADOS DE CUENTA: the demo's statements are all of 005300.
    statements = mar.get(f'{base}/estados-de-cuenta')
    assert '171001' not in statements.text
    assert [o['value'] for o in statements.html.find('select', id='cuenta').find_all('option')] == ['005301']
    mar.get(f'{base}/statements/171001/@@pdf', status=403)
    assert mar.get(f'{base}/@@estado-de-cuenta.pdf', {'cuenta': '005300', 'desde': '2017-10-01',
                                                       'hasta': '2017-10-31'}, status=400)
    # FACTURAS: only 6213050 (005301); the others' pages and documents are refused.
    invoices = mar.get(f'{base}/facturas')
    folios = [a.get_text(strip=True) for a in invoices.html.select('table.invoices td a')] or invoices.text
    assert '6213050' in invoices.text and '6212976' not in str(folios)
    assert '1 factura' in invoices.text
    mar.get(f'{base}/invoices/6212976/', status=403)
    mar.get(f'{base}/invoices/6212976/@@xml', status=403)
    mar.get(f'{base}/facturas.zip', {'folio': '6212976'}, status=400)
    # SALDOS lists only 005301's open invoice and refuses a pick of another account.
    saldos = mar.get(f'{base}/saldos')
    assert [tr['data-key'] for tr in saldos.html.select('tr.invoice-row')] == ['6213050']
    form = saldos.forms['saldos-form']
    fields = form.submit_fields() + [('pick', '6212976'), ('accion', 'calcular')]
    refused = mar.post(f'{base}/saldos', fields, status=400)
    errors = ' '.join(refused.html.find(id='saldos-errors').get_text(' ').split())
    assert '6212976' in errors, errors
    # HISTORIAL: payment 228 paid 005300's invoice: not listed, its page refused.
    history = mar.get(f'{base}/historial-de-pagos')
    assert 'BC-Banamex 063197' not in history.text
    mar.get(f'{base}/payments/228/', status=403)
    assert b'063197' not in mar.get(f'{base}/historial-de-pagos.csv').body


def test_the_companys_audit_view_shows_who_signed_in_and_invited(admin, app, mailer):
    invite(admin)
    colleague, _landed = accept(app, mailer)
    page = admin.get(f'/customers/{CANON}/bitacora')
    rows = [' '.join(tr.get_text(' ').split()) for tr in page.html.select('#company-audit tbody tr')]
    assert any(row.startswith(tuple('0123456789')) and 'Ana López Entró al portal' in row for row in rows)
    assert any('CME930812PW3 Invitó a una persona' in row and 'ana@example.mx' in row for row in rows)
    colleague.get(f'/customers/{CANON}/bitacora', status=403)


def test_staff_disable_and_resend_an_invitation_audited(admin, app, mailer):
    from manage_support import audit_entries, staff_client
    invite(admin)
    user_id = with_root(app, lambda root: root.customers.find_user_by_email('ana@example.mx').__name__)
    staff = staff_client(app, 'oscar', role='operator')
    url = f'/manage/customers/{CANON}/users/{user_id}'
    page = staff.get(url)
    assert 'ana@example.mx' in page.text and 'Captura' in page.text
    form = next(f for f in page.forms.values() if f.action.endswith('@@reenviar-invitacion'))
    mailer.outbox.clear()
    form.submit(status=303)
    assert [m.recipients for m in mailer.outbox] == [['ana@example.mx']]
    page = staff.get(url)
    form = next(f for f in page.forms.values() if f.action.endswith('@@deshabilitar'))
    form.submit(status=303)
    assert with_root(app, lambda root: root.customers[CANON].users[user_id].disabled) is True
    actions = [entry[1] for entry in audit_entries(app) if entry[0] == 'staff:oscar']
    assert 'staff.company-user.disable' in actions and 'staff.company-user.invite' in actions


def test_a_colleague_recovers_the_password_with_the_email_and_locks_like_anyone(admin, app, mailer):
    invite(admin)
    colleague, _landed = accept(app, mailer)
    mailer.outbox.clear()
    anonymous = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    page = anonymous.get('/recuperar-contrasena')
    form = last_form(page)
    form['login'] = 'ana@example.mx'
    form.submit()
    [message] = mailer.outbox
    assert message.recipients == ['ana@example.mx'] and '/restablecer/' in message.body
    for _attempt in range(5):
        anonymous.login('ana@example.mx', 'not the password', status='*')
    locked = anonymous.login('ana@example.mx', OTHER_PASSWORD, status=403)
    assert 'bloqueada' in locked.text
