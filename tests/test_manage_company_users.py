"""A company's people as staff see them under /manage (issue 22): a page about people —
names, how they sign in, roles in words, accounts, active / invited / disabled, the last
sign-in and who invited them, by name — not a folder's raw listing."""
import datetime

import pytest

from canonportal import evolve, formatting, passwords
from canonportal.resources.company_user import CompanyUser
from manage_support import follow, staff_client
from portal_support import CANON, GOOD_PASSWORD, IXTAPA, Client, last_form, with_root

PEOPLE = f'/manage/customers/{CANON}/users'
HOST = {'HTTP_HOST': 'portal.example.mx'}
UTC = datetime.timezone.utc
COLLEAGUE_PASSWORD = 'Colega-Canon-2026!'


@pytest.fixture
def staff(app, frozen_clock):
    return staff_client(app, 'oscar', role='operator')


def people(page):
    """The people table as ``[[cell text, ...], ...]``, in its order."""
    table = page.html.find('table', id='company-people')
    return [[' '.join(td.get_text(' ').split()) for td in tr.find_all('td')]
            for tr in table.find('tbody').find_all('tr')]


def add_colleague(app, email, name, role, accounts=(), password=None, invited_by=''):
    """A person of Canon's, as an accepted (``password``) or pending invitation leaves them."""
    def work(root):
        user = CompanyUser(email, name, role, accounts,
                           created=datetime.datetime(2026, 11, 2, 16, 0, tzinfo=UTC))
        user.__name__ = 'u' + email.split('@')[0]
        user.invited_by = invited_by
        if password:
            user.password_hash = passwords.hash_password(password)
        root.customers[CANON].add_user(user)
        return user.__name__
    return with_root(app, work)


def invite_in_usuarios(admin, email, name, role='consulta'):
    page = admin.get(f'/customers/{CANON}/usuarios')
    form = next(f for f in page.forms.values() if f.action.endswith('/usuarios'))
    form['email'], form['name'], form['role'] = email, name, role
    return form.submit(status=303)


# -- the page -------------------------------------------------------------------------------

def test_the_demo_companys_people_read_as_people(staff):
    """From the customer's page, the Usuarios tab: the main administrator and Ana Compras,
    in words — no folder listing, no ids, no RFC where a person's name belongs."""
    customer = staff.get(f'/manage/customers/{CANON}')
    page = follow(staff, customer, 'Usuarios', within='nav.tabs')
    assert page.request.path == PEOPLE
    assert page.html.find('h1').get_text(strip=True) == 'Personas de Canon Mexicana SA de CV'
    assert page.html.find('table', class_='children') is None      # not the generic listing
    assert people(page) == [
        ['Canon Mexicana SA de CV (administrador principal) Entra con CME930812PW3', '—',
         'Administrador', 'Todas', 'Nuevo: aún no entra (usuario y contraseña = RFC)', '—', '—'],
        ['Ana Compras Entra con compras@example.com', 'compras@example.com', 'Captura', 'Todas',
         'Activo', '—', 'Canon Mexicana SA de CV'],
    ]
    assert 'u0demo0captura' not in page.html.find('main').get_text()
    links = [a['href'] for a in page.html.select('#company-people a')]
    assert links == [f'http://portal.example.mx/manage/customers/{CANON}',
                     f'http://portal.example.mx{PEOPLE}/u0demo0captura']


def test_each_state_in_words_and_the_last_sign_in(app, staff, frozen_clock):
    add_colleague(app, 'luis@example.mx', 'Luis Pagos', 'pago', accounts=('005301',),
                  password=COLLEAGUE_PASSWORD, invited_by='Ana Compras')
    add_colleague(app, 'eva@example.mx', 'Eva Consulta', 'consulta', invited_by='Ana Compras')
    add_colleague(app, 'beto@example.mx', 'Beto Baja', 'captura', password=COLLEAGUE_PASSWORD)
    with_root(app, lambda root: setattr(root.customers[CANON].users['ubeto'], 'disabled', True))
    luis = Client(app, extra_environ=dict(HOST))
    assert luis.login('luis@example.mx', COLLEAGUE_PASSWORD).status_int == 303
    ana = Client(app, extra_environ=dict(HOST))
    for _attempt in range(5):
        ana.login('compras@example.com', 'not her password')
    rows = {row[0].split(' Entra con')[0]: row[1:] for row in people(staff.get(PEOPLE))}
    assert rows['Luis Pagos'] == ['luis@example.mx', 'Pago', '005301', 'Activo',
                                  formatting.timestamp(frozen_clock.now), 'Ana Compras']
    assert rows['Eva Consulta'][2:4] == ['Todas', 'Invitado: aún no elige su contraseña']
    assert rows['Beto Baja'][3] == 'Deshabilitado' and rows['Beto Baja'][5] == '—'
    assert rows['Ana Compras'][3].startswith('Bloqueado por intentos fallidos hasta ')


def test_a_company_disabled_by_staff_says_so_above_its_people(app, staff):
    with_root(app, lambda root: setattr(root.customers[CANON], 'disabled', True))
    page = staff.get(PEOPLE)
    assert 'El personal deshabilitó a la empresa' in page.text
    assert people(page)[0][4] == 'Deshabilitado'


def test_a_company_with_nobody_invited_says_how_people_get_in(staff):
    page = staff.get(f'/manage/customers/{IXTAPA}/users')
    assert len(people(page)) == 1
    assert 'sus administradores invitan a sus colegas desde USUARIOS' in page.text


def test_the_other_customer_folders_keep_their_listing(staff):
    for name in ('invoices', 'payments', 'statements'):
        page = staff.get(f'/manage/customers/{CANON}/{name}')
        assert page.html.find('table', class_='children') is not None, name
        assert page.html.find('table', id='company-people') is None


def test_only_staff_see_a_companys_people(app, client, frozen_clock):
    anonymous = Client(app, extra_environ=dict(HOST))
    assert anonymous.get(PEOPLE, status=302).location.startswith('http://portal.example.mx/')
    customer = client.sign_in_active()
    customer.get(PEOPLE, status=403)
    colleague = Client(app, extra_environ=dict(HOST))
    colleague.login('compras@example.com', 'Compras-Canon-2026')
    colleague.get(PEOPLE, status=403)


# -- "Invitado por" names a person ------------------------------------------------------------

def test_invitado_por_is_the_inviters_name_wherever_staff_read_it(app, client, staff, mailer):
    """The RFC's credentials invite in the company's name, a colleague in their own; staff
    read names on the people page and on each person's page, never an RFC or an id."""
    admin = client.sign_in_active()
    invite_in_usuarios(admin, 'eva@example.mx', 'Eva Consulta')
    add_colleague(app, 'lia@example.mx', 'Lía Administradora', 'admin',
                  password=COLLEAGUE_PASSWORD, invited_by='Canon Mexicana SA de CV')
    lia = Client(app, extra_environ=dict(HOST))
    assert lia.login('lia@example.mx', COLLEAGUE_PASSWORD).status_int == 303
    invite_in_usuarios(lia, 'raul@example.mx', 'Raúl Captura', role='captura')

    rows = {row[0].split(' Entra con')[0]: row for row in people(staff.get(PEOPLE))}
    assert rows['Eva Consulta'][-1] == 'Canon Mexicana SA de CV'
    assert rows['Raúl Captura'][-1] == 'Lía Administradora'
    for name, inviter in (('Eva Consulta', 'Canon Mexicana SA de CV'),
                          ('Raúl Captura', 'Lía Administradora')):
        page = follow(staff, staff.get(PEOPLE), name, within='#company-people')
        facts = {dt.get_text(strip=True): dt.find_next_sibling('dd').get_text(strip=True)
                 for dt in page.html.find('dl', class_='props').find_all('dt')}
        assert facts['Invitado por'] == inviter
    text = staff.get(PEOPLE).html.find('main').get_text()
    assert 'company-user:' not in text and 'customer-user:' not in text
    # The invitation mails name them too.
    bodies = {m.recipients[0]: m.body for m in mailer.outbox if 'Invitación' in m.subject}
    assert 'Lía Administradora' in bodies['raul@example.mx']
    assert 'Canon Mexicana SA de CV' in bodies['eva@example.mx']


def test_staff_resending_an_invitation_nobody_signed_names_the_portals_company(app, staff, mailer):
    user_id = add_colleague(app, 'eva@example.mx', 'Eva Consulta', 'consulta')
    page = staff.get(f'{PEOPLE}/{user_id}')
    form = next(f for f in page.forms.values() if f.action.endswith('@@reenviar-invitacion'))
    form.submit(status=303)
    assert with_root(app, lambda root: root.customers[CANON].users[user_id].invited_by) == \
        'Canon Mexicana'
    [message] = mailer.outbox
    assert 'Canon Mexicana' in message.body


@pytest.mark.parametrize('recorded, name', [
    (CANON, 'Canon Mexicana SA de CV'),                         # the demo data's, before
    (f'customer-user:{CANON}', 'Canon Mexicana SA de CV'),
    (f'customer:{CANON}', 'Canon Mexicana SA de CV'),
    (f'company-user:{CANON}:ulia', 'Lía Administradora'),
    (f'company-user:{CANON}:ugone', 'Canon Mexicana SA de CV'),   # nobody by that id any more
    ('Lía Administradora', 'Lía Administradora'),                 # a name already: kept
    ('', ''),
])
def test_the_evolve_step_names_the_inviter_recorded_as_an_rfc_or_an_id(app, recorded, name):
    add_colleague(app, 'lia@example.mx', 'Lía Administradora', 'admin')
    user_id = add_colleague(app, 'eva@example.mx', 'Eva Consulta', 'consulta', invited_by=recorded)

    def run(root):
        evolve.invited_by_names(root)
        return root.customers[CANON].users[user_id].invited_by
    assert with_root(app, run) == name
