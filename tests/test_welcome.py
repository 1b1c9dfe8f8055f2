"""The invitee's welcome: the invitation mail names who invited them and what they may do
and see; its link opens a welcome (the company, the inviter, the role, the accounts, the
email as user name), and choosing the password signs them in on their home."""
from urllib.parse import urlsplit

import pytest

from portal_support import CANON, Client, last_form, mails_to, with_root

USERS = f'/customers/{CANON}/usuarios'
HOME = f'/customers/{CANON}/estados-de-cuenta'
PASSWORD = 'Colega-Canon-2026!'
COMPANY = 'Canon Mexicana SA de CV'


@pytest.fixture
def admin(client):
    return client.sign_in_active()


def invite(admin, email='ana@example.mx', name='Ana López', role='captura', accounts=()):
    page = admin.get(USERS)
    form = next(f for f in page.forms.values() if f.action.endswith('/usuarios'))
    form['email'], form['name'], form['role'] = email, name, role
    for box in form.fields.get('accounts', []):
        box.checked = box._value in accounts  # noqa: SLF001
    return form.submit(status=303)


def invitation(mailer, email='ana@example.mx'):
    [mail] = [m for m in mails_to(mailer, email) if m.subject.startswith('Invitación')]
    return mail


def visitor(app):
    return Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})


def facts(page):
    box = page.html.find('dl', id='invitation')
    return {dt.get_text(strip=True): ' '.join(dt.find_next_sibling('dd').get_text(' ').split())
            for dt in box.find_all('dt')}


def state_of_invitee(app, email='ana@example.mx'):
    def read(root):
        user = root.customers[CANON].user_with_email(email)
        return {'password': user.password_hash is not None, 'last': user.last_sign_in,
                'claimed': root.customers.user_emails.get(email), 'tokens': len(root.tokens),
                'audit': len(root.audit_log)}
    return with_root(app, read)


def test_the_invitation_mail_names_the_inviter_the_role_and_the_accounts(admin, mailer):
    invite(admin, accounts=('005301',))
    mail = invitation(mailer)
    assert mail.subject == 'Invitación al Portal clientes de Canon Mexicana'
    text = ' '.join(mail.text.split())
    assert text.startswith(f'Hola Ana López, {COMPANY} le dio acceso al Portal clientes de '
                           f'Canon Mexicana para {COMPANY} (RFC {CANON}).')
    assert ('Su rol: Captura: puede ver estados de cuenta, facturas, saldos e historial de pagos, '
            'y preparar pagos.') in text
    assert 'Cuentas que puede ver: 005301.' in text
    assert 'Su usuario es su correo, ana@example.mx.' in text
    assert '/bienvenida/' in mail.text and '/restablecer/' not in mail.text


def test_the_link_opens_a_welcome_and_the_password_signs_the_invitee_in(admin, app, mailer):
    invite(admin)
    link = urlsplit(invitation(mailer).link('/bienvenida')).path
    ana = visitor(app)
    page = ana.get(link)
    assert page.headers['Referrer-Policy'] == 'no-referrer'
    assert page.html.find('h1').get_text(strip=True) == 'Le damos la bienvenida'
    assert 'Restablecer contraseña' not in page.text
    lead = ' '.join(page.html.find('p', class_='lead').get_text().split())
    assert lead == f'{COMPANY} le invitó a entrar al portal por {COMPANY} (RFC {CANON}).'
    assert facts(page) == {
        'Su rol': 'Captura : puede ver estados de cuenta, facturas, saldos e historial de pagos, '
                  'y preparar pagos.',
        'Cuentas que puede ver': 'todas las cuentas de la empresa (005300, 005301)',
        'Su usuario': 'su correo, ana@example.mx'}
    form = last_form(page)
    form['password'] = form['password_confirmation'] = PASSWORD
    landed = form.submit(status=303)
    assert urlsplit(landed.location).path == HOME
    home = ana.get(HOME)                                    # signed in: no sign-in page
    assert 'Usuario: Ana López' in ' '.join(home.html.find('p', class_='ident').get_text(' ').split())
    assert 'Listo, Ana López: su contraseña quedó guardada' in home.html.find(class_='flash').text
    assert with_root(app, lambda root: [e.action for e in root.audit_log.newest_first()][0]) == \
        'company.accept'
    # Used once: the link is dead now; the email and password sign in next time.
    assert 'no es válido' in visitor(app).get(link, status=400).text
    assert visitor(app).login('ana@example.mx', PASSWORD, status=303).location.endswith(HOME)


def test_a_colleague_who_invites_is_named_and_limits_show(admin, app, mailer):
    invite(admin, email='dora@example.mx', name='Dora Dirección', role='admin')
    dora = visitor(app)
    form = last_form(dora.get(urlsplit(invitation(mailer, 'dora@example.mx').link('/bienvenida')).path))
    form['password'] = form['password_confirmation'] = PASSWORD
    form.submit(status=303)
    invite(dora, email='luis@example.mx', name='Luis', role='pago', accounts=('005300',))
    mail = invitation(mailer, 'luis@example.mx')
    assert 'Dora Dirección le dio acceso' in ' '.join(mail.text.split())
    page = visitor(app).get(urlsplit(mail.link('/bienvenida')).path)
    assert page.html.find('p', class_='lead').find('strong').get_text() == 'Dora Dirección'
    assert facts(page)['Su rol'].startswith('Pago : puede ver todo, preparar y hacer pagos')
    assert facts(page)['Cuentas que puede ver'] == '005300'


@pytest.mark.parametrize('password, confirmation, message', [
    ('corta', 'corta', 'al menos 12 caracteres'),
    (PASSWORD, PASSWORD + 'x', 'no coinciden'),
    ('ana@example.mx', 'ana@example.mx', ''),
])
def test_a_refused_password_changes_nothing_and_signs_nobody_in(admin, app, mailer, password,
                                                               confirmation, message):
    invite(admin)
    link = urlsplit(invitation(mailer).link('/bienvenida')).path
    before = state_of_invitee(app)
    ana = visitor(app)
    form = last_form(ana.get(link))
    form['password'], form['password_confirmation'] = password, confirmation
    refused = form.submit(status=400)
    assert message in refused.text and refused.html.find(class_='field-error') is not None
    assert state_of_invitee(app) == before
    assert ana.get(HOME, status=302)                        # not signed in
    assert last_form(ana.get(link)).action.endswith('/bienvenida')   # the link still works


@pytest.mark.parametrize('spelling', ['/bienvenida/{}', '/@@bienvenida/{}', '/bienvenida/{}/',
                                      '/restablecer/{}'])
def test_every_spelling_and_the_older_mails_link_open_the_welcome(admin, app, mailer, spelling):
    invite(admin)
    token = urlsplit(invitation(mailer).link('/bienvenida')).path.rsplit('/', 1)[1]
    page = visitor(app).get(spelling.format(token))
    assert page.html.find('h1').get_text(strip=True) == 'Le damos la bienvenida'
    assert facts(page)['Su usuario'] == 'su correo, ana@example.mx'


def test_a_bad_link_shows_nothing_of_the_company(app):
    page = visitor(app).get('/bienvenida/not-a-token', status=400)
    assert 'no es válido' in page.text and CANON not in page.text
    assert page.html.find('input', attrs={'name': 'password'}) is None
    visitor(app).get('/bienvenida/' + 'x' * 5000, status=400)


def test_the_welcome_in_english(admin, app, mailer):
    invite(admin, role='pago')
    link = urlsplit(invitation(mailer).link('/bienvenida')).path
    english = visitor(app)
    english.set_cookie('lang', 'en')
    page = english.get(link)
    assert page.html.html['lang'] == 'en'
    assert page.html.find('h1').get_text(strip=True) == 'Welcome'
    assert facts(page)['Your role'].startswith('Payer : can see everything')
    assert facts(page)['Your user name'] == 'your email, ana@example.mx'
