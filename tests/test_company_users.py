"""Company accounts: the administrator (the RFC's credentials) invites colleagues, who sign
in with their email and their role; disabling ends their sessions at once."""
import sys
import types
from urllib.parse import urlsplit

import pytest
import transaction

from portal_support import (
    CANON, DEMO_DAY, IXTAPA, Client, file_storage_uri, last_form, link_in, login_record,
    nothing_changes, open_database, throttle, use_database, with_root,
)
from manage_support import audit_entries, staff_client
from payment_support import accept as press_accept, confirmation, new_payer, state_of

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


def invitation_link(mailer, email, rfc=CANON):
    """The path of the invitation ``rfc``'s administrator had mailed to ``email``."""
    [message] = [m for m in mailer.outbox if email in m.recipients and 'Invitación' in m.subject
                 and f'RFC {rfc}' in m.body]
    return urlsplit(link_in(message, '/bienvenida')).path


def user_id_of(app, email, rfc=CANON):
    """The name of ``rfc``'s person with ``email`` (invited or accepted)."""
    return with_root(app, lambda root: root.customers[rfc].user_with_email(email).__name__)


def accept(app, mailer, email='ana@example.mx', password=OTHER_PASSWORD, rfc=CANON,
           colleague=None):
    """The colleague opens the mailed link and chooses a password, which signs them in:
    ``(their client, the answer that lands them on their home)``."""
    link = invitation_link(mailer, email, rfc)
    colleague = colleague or Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    form = last_form(colleague.get(link))
    form['password'] = form['password_confirmation'] = password
    landed = form.submit(status=303)
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
    admin.get(SALDOS)                     # rows the administrator saw, kept in the row cache
    saldos = colleague.get(SALDOS)
    assert saldos.html.find(id='view-only') is not None
    assert saldos.html.find('section', class_='banks') is None
    # Nothing to tick, type or total: the invoices, their amounts and what is in transit.
    rows = saldos.html.select('tr.invoice-row')
    assert len(rows) == 9
    assert saldos.html.select('#saldos-form input:not([type=hidden])') == []
    assert saldos.html.find(id='saldos-total') is None and saldos.html.find(class_='pay-bar') is None
    assert saldos.html.find('button', attrs={'value': 'vencidas'}) is None
    assert saldos.html.find('script', src=lambda src: src and 'saldos.js' in src) is None
    headers = [th.get_text(strip=True) for th in saldos.html.select('table.saldos-table thead th')]
    assert 'Cantidad a Pagar MXN' not in headers and 'Cantidad Pendiente' in headers
    assert [len(row.find_all('td')) for row in rows] == [len(headers)] * 9
    assert rows[0].find('strong', class_='key').get_text(strip=True) == rows[0]['data-key']
    # FACTURAS and an invoice's page offer no "Pagar" either.
    assert colleague.get(f'/customers/{CANON}/facturas').html.select('a.pay-link') == []
    assert 'pagar=' not in colleague.get(f'/customers/{CANON}/invoices/6212976').text
    assert admin.get(f'/customers/{CANON}/facturas').html.select('a.pay-link') != []
    # And the administrator still has every box after the colleague's look.
    assert len(admin.get(SALDOS).html.select('input[name=pick]')) == 9
    token = colleague.csrf()
    with nothing_changes(app):
        colleague.post(f'/customers/{CANON}/pagar', {'csrf_token': token, 'bank': 'bbva',
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
    with nothing_changes(app):
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
    with nothing_changes(app):
        page = invite(admin, email=email, name=name, role=role, status=400) if role in (
            'captura',) else None
        if page is None:
            admin_page = admin.get(USERS)
            form = next(f for f in admin_page.forms.values() if f.action.endswith('/usuarios'))
            fields = dict(form.submit_fields())
            fields.update(email=email, name=name, role=role)
            page = admin.post(USERS, fields, status=400)
    assert message in page.text


def test_a_company_at_the_most_people_invites_nobody_more(admin, app, mailer, monkeypatch):
    from canonportal.views import company_users
    invite(admin)                                   # the demo's colleague and Ana: two
    monkeypatch.setattr(company_users, 'MAX_USERS', 2)
    with nothing_changes(app):
        page = invite(admin, email='una.mas@example.mx', status=400)
    assert 'La empresa ya tiene el máximo de usuarios' in page.text


def test_a_bad_role_or_account_for_a_colleague_changes_nothing(admin, app, mailer):
    invite(admin)
    user_id = user_id_of(app, 'ana@example.mx')
    token = admin.csrf()
    with nothing_changes(app):
        for fields, message in (({'role': 'jefe'}, 'Elija un rol de la lista'),
                                ({'role': 'pago', 'accounts': '999999'}, 'Elija cuentas')):
            page = admin.post(f'/customers/{CANON}/users/{user_id}/@@cambiar',
                              dict(fields, csrf_token=token), status=400)
            assert message in page.html.find(class_='field-error').get_text(), fields
    assert with_root(app, lambda root: root.customers[CANON].users[user_id].role) == 'captura'


def test_an_unknown_approval_policy_changes_nothing(admin, app):
    token = admin.csrf()
    with nothing_changes(app):
        page = admin.post(f'/customers/{CANON}/aprobacion',
                          {'csrf_token': token, 'politica': 'a-veces', 'monto': '5'}, status=400)
    assert 'Elija una opción de la lista' in page.text


def test_resending_to_a_colleague_who_accepted_sends_nothing(admin, app, mailer):
    invite(admin)
    accept(app, mailer)
    user_id = user_id_of(app, 'ana@example.mx')
    token = admin.csrf()
    with nothing_changes(app):
        admin.post(f'/customers/{CANON}/users/{user_id}/@@reenviar', {'csrf_token': token},
                   status=303)


def test_the_same_email_cannot_be_invited_twice_by_one_company(admin, app, mailer):
    invite(admin)
    with nothing_changes(app):
        page = invite(admin, name='Otra Ana', status=400)
    assert 'Ese correo ya es de una persona de su empresa' in page.text
    # Nor the address the company's own credentials confirmed.
    with nothing_changes(app):
        page = invite(admin, email=f'{CANON.lower()}@example.mx', name='Yo', status=400)
    assert 'Ese correo ya es de una persona de su empresa' in page.text


def test_another_customer_reaches_nothing_of_the_users(admin, app, other_client):
    invite(admin)
    user_id = user_id_of(app, 'ana@example.mx')
    other = other_client.sign_in_active(rfc=IXTAPA)
    token = other.csrf()
    with nothing_changes(app):
        other.get(USERS, status=403)
        other.post(f'/customers/{CANON}/users/{user_id}/@@deshabilitar', {'csrf_token': token},
                   status=403)
        other.post(USERS, {'csrf_token': token, 'email': 'x@example.mx', 'name': 'X',
                           'role': 'admin'}, status=403)
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
    with nothing_changes(app):
        refused = mar.post(f'{base}/saldos', fields, status=400)
        mar.post(f'{base}/pagar', fields + [('bank', 'bbva')], status=400)
    errors = ' '.join(refused.html.find(id='saldos-errors').get_text(' ').split())
    assert '6212976' in errors, errors
    # HISTORIAL: payment 228 paid 005300's invoice: not listed, its page refused.
    history = mar.get(f'{base}/historial-de-pagos')
    assert 'BC-Banamex 063197' not in history.text
    mar.get(f'{base}/payments/228/', status=403)
    assert b'063197' not in mar.get(f'{base}/historial-de-pagos.csv').body


def test_staff_disable_and_resend_an_invitation_audited(admin, app, mailer):
    invite(admin)
    user_id = user_id_of(app, 'ana@example.mx')
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
    # Disabled: no invitation goes out again.
    with nothing_changes(app):
        refused = staff.post(f'{url}/@@reenviar-invitacion', {'csrf_token': staff.csrf('/manage')},
                             status=400)
    assert 'Solo se reenvía la invitación' in refused.text
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
    with nothing_changes(app, but=login_record('ana@example.mx')):
        for _attempt in range(5):
            anonymous.login('ana@example.mx', 'not the password', status='*')
    with nothing_changes(app):
        locked = anonymous.login('ana@example.mx', OTHER_PASSWORD, status=403)
    assert 'bloqueada' in locked.text


# -- a company disabled by staff: all of its people are out ---------------------------------------

CUSTOMER_PAGE = f'/manage/customers/{CANON}'
FACTURAS = f'/customers/{CANON}/facturas'
LOGIN_PAGE = 'http://portal.example.mx/'


def staff_action(staff, name):
    """Press the customer page's button posting to ``@@name`` (disable or enable)."""
    page = staff.get(CUSTOMER_PAGE)
    form = next(f for f in page.forms.values() if (f.action or '').endswith('@@' + name))
    return form.submit(status=303).follow()


def recover(app, login):
    anonymous = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    form = last_form(anonymous.get('/recuperar-contrasena'))
    form['login'] = login
    return form.submit(status=200)


def test_a_disabled_company_shuts_out_all_its_people_until_staff_enable_it(admin, app, mailer):
    invite(admin, email='dir@example.mx', name='Dora Dirección', role='admin')
    invite(admin, email='paco@example.mx', name='Paco Pagos', role='pago')
    boss, _landed = accept(app, mailer, email='dir@example.mx')
    paco, _landed = accept(app, mailer, email='paco@example.mx')
    invite(admin, email='nuevo@example.mx', name='Nuevo', role='consulta')    # not accepted yet
    link = invitation_link(mailer, 'nuevo@example.mx')
    assert boss.get(USERS).status_int == 200 and paco.get(FACTURAS).status_int == 200
    boss_token, paco_cookie = boss.csrf(), paco.cookies['canonportal']
    staff = staff_client(app, 'olga', role='operator')
    done = staff_action(staff, 'deshabilitar')
    assert 'nadie de ella podrá entrar' in done.text
    mailer.outbox.clear()
    newcomer = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    newcomer_token = newcomer.csrf()

    # Nothing but the client address's count of mails asked (the recovery's same answer)
    # and of an unknown name's failed sign-in (the invitation was never accepted).
    with nothing_changes(app, but=throttle):
        # The Administrador's open session neither manages the people nor sees USUARIOS.
        refused = boss.post(USERS, {'csrf_token': boss_token, 'email': 'x@example.mx',
                                    'name': 'X', 'role': 'admin'}, status=403)
        assert 'x@example.mx' not in refused.text
        assert boss.get(USERS, status=302).location == LOGIN_PAGE
        # The Pago colleague's open session gets no FACTURAS.
        assert paco.get(FACTURAS, status=302).location == LOGIN_PAGE
        # No fresh sign-in, no recovery mail, no invitation accepted.
        for email in ('dir@example.mx', 'paco@example.mx'):
            assert 'deshabilitada' in paco.login(email, OTHER_PASSWORD, status=403).text
            assert 'le enviamos un enlace' in recover(app, email).text      # the same answer
        assert 'no es válido' in newcomer.get(link, status=400).text
        newcomer.post(link, {'csrf_token': newcomer_token, 'password': OTHER_PASSWORD,
                             'password_confirmation': OTHER_PASSWORD}, status=400)
        assert newcomer.login('nuevo@example.mx', OTHER_PASSWORD, status=400)

    staff_action(staff, 'habilitar')
    # Sessions from before stay ended (a copied cookie too); everyone signs in afresh.
    stale = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    stale.set_cookie('canonportal', paco_cookie)
    assert stale.get(FACTURAS, status=302).location == LOGIN_PAGE
    assert paco.login('paco@example.mx', OTHER_PASSWORD, status=303)
    assert paco.get(FACTURAS).status_int == 200
    assert boss.login('dir@example.mx', OTHER_PASSWORD, status=303)
    assert 'paco@example.mx' in boss.get(USERS).text
    recover(app, 'paco@example.mx')
    assert [m.recipients for m in mailer.outbox] == [['paco@example.mx']]
    form = last_form(newcomer.get(link))
    form['password'] = form['password_confirmation'] = OTHER_PASSWORD
    landed = form.submit(status=303)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    assert 'Nuevo' in newcomer.get(urlsplit(landed.location).path).html.find('p', class_='ident').text
    assert Client(app).login('nuevo@example.mx', OTHER_PASSWORD, status=303)
    actions = [entry[:2] for entry in audit_entries(app) if entry[1].startswith('customer.')]
    assert actions[:2] == [('staff:olga', 'customer.enable'), ('staff:olga', 'customer.disable')]


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_pago_colleague_of_a_disabled_company_pays_nothing_and_the_bank_return_shows_nothing(
        payer, portal, banks, portal_mailer, bank):
    invite(payer, email='paco@example.mx', name='Paco Pagos', role='pago')
    paco = new_payer(portal, banks)
    accept(portal, portal_mailer, email='paco@example.mx', colleague=paco)
    # Paco went to the bank with payment 229 and has a second payment's confirmation open.
    at_bank = paco.pay(bank, '6212976')
    confirm = confirmation(paco, bank, {'1233076': None})
    assert state_of(portal, '229') == 'pending'
    staff_action(staff_client(portal, 'olga', role='operator'), 'deshabilitar')
    portal_mailer.outbox.clear()

    # ACEPTAR on the open confirmation: no payment, no invoice reserved, no mail.
    with nothing_changes(portal):
        assert press_accept(confirm).status_int == 403

    # The card is paid at the bank: the money is recorded, but the bank's return sends
    # Paco's browser to the sign-in page, not to the payment, and signing in is refused.
    back = paco.at_bank(at_bank)
    banks.wait_for_deliveries()
    assert state_of(portal, '229') == 'approved'
    assert back.status_int == 303 and back.location == LOGIN_PAGE
    with nothing_changes(portal):
        assert paco.get(f'/customers/{CANON}/payments/229/', status=302).location == LOGIN_PAGE
        assert paco.login('paco@example.mx', OTHER_PASSWORD, status=403)

    staff_action(staff_client(portal, 'alba', role='operator'), 'habilitar')
    landed = paco.login('paco@example.mx', OTHER_PASSWORD, status=303)
    assert landed.location.endswith(f'/customers/{CANON}/payments/229/')
    assert 'Pago aprobado' in paco.get(urlsplit(landed.location).path).text


# -- one company's invitations neither reveal nor block another's people ------------------------

def test_inviting_an_address_of_another_company_answers_as_for_any_address(admin, app, mailer,
                                                                        other_client):
    ixtapa = other_client.sign_in_active(rfc=IXTAPA)
    ixtapa_users = f'/customers/{IXTAPA}/usuarios'

    def invite_at_ixtapa(email):
        page = ixtapa.get(ixtapa_users)
        form = next(f for f in page.forms.values() if f.action.endswith('/usuarios'))
        form['email'], form['name'], form['role'] = email, 'Persona', 'consulta'
        answer = form.submit()
        return answer.status_int, answer.follow().html.find('div', class_='flash').get_text(
            ' ', strip=True).replace(email, 'EMAIL')

    # compras@example.com is Canon's colleague (accepted); nadie@ has no account anywhere.
    assert invite_at_ixtapa('compras@example.com') == invite_at_ixtapa('nadie@example.mx') == (
        303, 'Enviamos la invitación a EMAIL.')
    # Canon's colleague still signs in with it, as Canon's.
    assert with_root(app, lambda root: root.customers.user_emails['compras@example.com']) == \
        'company-user:CME930812PW3:u0demo0captura'
    # Ixtapa's invitation reaches the person, who is told it cannot be accepted.
    link = invitation_link(mailer, 'compras@example.com', rfc=IXTAPA)
    visitor = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    token = visitor.csrf()
    with nothing_changes(app):
        page = visitor.get(link, status=409)
        answer = visitor.post(link, {'csrf_token': token, 'password': OTHER_PASSWORD,
                                     'password_confirmation': OTHER_PASSWORD}, status=409)
    assert 'ya entra al portal con la cuenta de otra empresa' in page.text
    assert page.html.find('input', attrs={'name': 'password'}) is None
    assert 'ya entra al portal con la cuenta de otra empresa' in answer.text


def test_an_invitation_squats_nothing_the_first_acceptance_wins(admin, app, mailer,
                                                                 other_client):
    ixtapa = other_client.sign_in_active(rfc=IXTAPA)
    page = ixtapa.get(f'/customers/{IXTAPA}/usuarios')
    form = next(f for f in page.forms.values() if f.action.endswith('/usuarios'))
    form['email'], form['name'], form['role'] = 'ana@example.mx', 'Ana', 'admin'
    form.submit(status=303)
    # Ixtapa invited ana@ first: Canon still invites its own employee, and hears the same.
    assert 'Enviamos la invitación a ana@example.mx' in invite(admin).follow().text
    assert 'ana@example.mx' not in with_root(app, lambda root: dict(root.customers.user_emails))
    colleague, landed = accept(app, mailer)                       # Canon's, accepted first
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    # Ixtapa's invitation can no longer be accepted: the invitee is told, nothing changes.
    link = invitation_link(mailer, 'ana@example.mx', rfc=IXTAPA)
    visitor = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    token = visitor.csrf()
    with nothing_changes(app):
        assert 'otra empresa' in visitor.get(link, status=409).text
        visitor.post(link, {'csrf_token': token, 'password': 'Otra-Clave-Ixtapa-26',
                            'password_confirmation': 'Otra-Clave-Ixtapa-26'}, status=409)
    # ana@ signs in to Canon only: that password is a failed sign-in of Canon's Ana.
    with nothing_changes(app, but=login_record('ana@example.mx')):
        assert visitor.login('ana@example.mx', 'Otra-Clave-Ixtapa-26', status=400)
    assert colleague.get(f'/customers/{IXTAPA}/facturas', status=403)


def test_the_evolve_step_frees_the_addresses_of_invitations_never_accepted(admin, app, mailer):
    from canonportal import evolve
    invite(admin)

    def as_the_old_code_left_it(root):
        # The code before indexed an address when the invitation was sent.
        user = root.customers[CANON].user_with_email('ana@example.mx')
        root.customers.user_emails['ana@example.mx'] = user.principal_id
    with_root(app, as_the_old_code_left_it)
    with_root(app, evolve.user_emails_on_acceptance)
    assert with_root(app, lambda root: dict(root.customers.user_emails)) == {
        'compras@example.com': 'company-user:CME930812PW3:u0demo0captura'}
    # The invitation still works, and claims the address when accepted.
    colleague, landed = accept(app, mailer)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')


def test_a_person_added_with_a_password_cannot_take_an_address_someone_signs_in_with(app):
    from canonportal.resources.company_user import CompanyUser

    def add_to_ixtapa(root):
        user = CompanyUser('compras@example.com', 'Impostor', 'admin')
        user.__name__, user.password_hash = 'u0impostor', 'not a hash'
        ixtapa = root.customers[IXTAPA]
        with pytest.raises(ValueError):
            ixtapa.add_user(user)
        return len(ixtapa.users), root.customers.user_emails['compras@example.com']
    assert with_root(app, add_to_ixtapa) == (0, 'company-user:CME930812PW3:u0demo0captura')


def test_a_database_written_when_company_users_lived_in_companyuser_py_still_loads(
        app, monkeypatch, tmp_path):
    """Before the module was called company_user.py, the ZODB recorded each company user (and
    each reference to one) as ``canonportal.resources.companyuser.CompanyUser``; such a
    database loads, and the demo's colleague signs in to it."""
    from canonportal.bootstrap import (
        DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD, add_demo_data, ensure_root)
    from canonportal.resources.company_user import CompanyUser
    folder = tmp_path / 'written-before-the-rename'
    folder.mkdir()
    old = open_database(file_storage_uri(folder))
    with monkeypatch.context() as before_the_rename:
        # The class where it lived then (a module of its own: this test does not lean on the
        # alias to write the records, only to read them).
        then = types.ModuleType('canonportal.resources.companyuser')
        then.CompanyUser = CompanyUser
        before_the_rename.setitem(sys.modules, then.__name__, then)
        before_the_rename.setattr(CompanyUser, '__module__', then.__name__)
        manager = transaction.TransactionManager(explicit=True)
        conn = old.open(transaction_manager=manager)
        with manager:
            add_demo_data(ensure_root(conn.root()), today=DEMO_DAY)
        conn.close()
    old.close()
    records = (folder / 'Data.fs').read_bytes()
    assert b'canonportal.resources.companyuser' in records
    assert b'canonportal.resources.company_user' not in records

    use_database(app, open_database(file_storage_uri(folder)))
    colleague = Client(app)
    landed = colleague.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD, status=303)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    assert 'Ana Compras' in landed.follow().text
    assert with_root(app, lambda root: type(root.customers[CANON].users['u0demo0captura'])) \
        is CompanyUser


def test_the_main_administrator_is_greeted_by_the_companys_name_not_the_rfc(admin):
    page = admin.get(f'/customers/{CANON}/estados-de-cuenta')
    ident = ' '.join(page.html.find('p', class_='ident').get_text(' ').split())
    assert 'Usuario: Canon Mexicana SA de CV (administrador principal)' in ident
    assert page.html.find('strong', class_='who').get_text(strip=True) != CANON
