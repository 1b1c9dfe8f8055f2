"""The console scripts against a real ini file and a FileStorage in a temporary folder."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from pyramid.paster import get_app

from canonportal.scripts import adduser, init
from portal_support import CANON, Client, database_of, login_record, nothing_changes, signed_in_home
from script_support import last_tid, read_root

STAFF_PASSWORD = 'la mesa de tesorería abre a las nueve'



def counts(root):
    return {
        'customers': len(root.customers),
        'invoices': sum(len(c.invoices) for c in root.customers.values()),
        'statements': sum(len(c.statements) for c in root.customers.values()),
        'payments': sum(len(c.payments) for c in root.customers.values()),
        'invoice index': len(root.invoices_by_key),
        'payment index': len(root.payments_by_reference),
        'next payment': root.payment_counter.value,
        'staff': len(root.staff),
    }


def add_staff(ini_path, username, password=STAFF_PASSWORD, role='admin'):
    return adduser.main([ini_path, username, '--role', role, '--password-stdin'],
                        stdin=io.StringIO(password + '\n'))


class Portal:
    """The app as pserve would load it from the ini file; closed at the end of the test."""

    def __init__(self, ini_path):
        self.app = get_app(ini_path)

    def client(self):
        return Client(self.app, extra_environ={'HTTP_HOST': 'localhost:6543'})

    def close(self):
        database_of(self.app).close()


@pytest.fixture
def open_portal():
    portals = []

    def opener(ini_path):
        portals.append(Portal(ini_path))
        return portals[-1]

    yield opener
    for portal in portals:
        portal.close()


# -- canonportal-init ---------------------------------------------------------------------------

def test_init_creates_an_empty_root_and_no_staff_account(ini, capsys):
    assert init.main([ini]) == 0
    assert 'ready' in capsys.readouterr().out
    found = read_root(ini, counts)
    assert found['customers'] == 0 and found['staff'] == 0


def test_init_demo_twice_adds_the_demo_data_once(ini, capsys):
    init.main([ini, '--demo'])
    first = read_root(ini, counts)
    assert first['customers'] == 2
    assert first['invoices'] >= 8 and first['statements'] >= 4 and first['payments'] >= 1
    assert first['staff'] == 0
    assert read_root(ini, lambda root: '228' in root.customers[CANON].payments)
    tid = last_tid(ini)
    init.main([ini, '--demo'])
    assert 'not added' in capsys.readouterr().out
    assert last_tid(ini) == tid


def test_demo_database_serves_the_login_page_and_the_first_login(ini, open_portal):
    init.main([ini, '--demo'])
    browser = open_portal(ini).client()
    page = browser.get('/')
    assert 'Iniciar sesión' in page.text
    # The first sign-in only mails a link to the ERP's address, masked on the page.
    assert 'c***@example.com' in browser.login(CANON.lower(), CANON).text


def test_init_refuses_an_ini_file_without_a_database(tmp_path):
    path = tmp_path / 'empty.ini'
    path.write_text('[app:main]\nuse = egg:canonportal\n')
    with pytest.raises(SystemExit):
        init.main([str(path)])


# -- canonportal-adduser ------------------------------------------------------------------------

def test_new_staff_user_signs_in_on_the_login_page_and_lands_on_the_staff_panel(
        ini, open_portal, capsys):
    init.main([ini, '--demo'])
    assert add_staff(ini, 'Alice', role='admin') == 0
    assert 'created staff user alice (admin)' in capsys.readouterr().out
    browser = open_portal(ini).client()
    response = browser.login('ALICE', STAFF_PASSWORD)
    assert response.status_int == 303
    assert response.location == 'http://localhost:6543/manage'
    panel = browser.get(response.location)
    assert 'Panel del personal' in panel.text
    assert 'alice' in panel.text and 'Administrador' in panel.text
    assert panel.html.find('form', {'action': 'http://localhost:6543/logout'}) is not None
    assert 'no-store' in panel.headers['Cache-Control']
    # Staff may look at any customer's pages.
    assert browser.get(f'/customers/{CANON}/saldos', status='*').status_int < 500
    # Logging out works from the panel.
    last = panel.forms[len(panel.forms) - 1]
    assert last.action.endswith('/logout')
    last.submit()
    assert signed_in_home(browser) is None


def test_auditor_sees_its_role_and_a_customer_cannot_open_the_panel(ini, open_portal):
    init.main([ini, '--demo'])
    add_staff(ini, 'aurora', role='auditor')
    portal = open_portal(ini)
    auditor = portal.client()
    auditor.login('aurora', STAFF_PASSWORD)
    assert 'Auditor' in auditor.get('/manage').text
    customer = portal.client()
    customer.login(CANON, CANON)
    customer.activate(password='una frase larga de cliente')
    assert customer.get('/manage', status=403)


def test_password_is_stored_only_as_an_argon2id_hash(ini, tmp_path):
    init.main([ini])
    add_staff(ini, 'alice')
    stored = read_root(ini, lambda root: root.staff['alice'].password_hash)
    assert stored.startswith('$argon2id$')
    assert STAFF_PASSWORD.encode() not in (tmp_path / 'Data.fs').read_bytes()


@pytest.mark.parametrize('password, reason', [
    ('corta', '12 caracteres'),
    ('passwordpassword', 'común'),
    ('alice-tesoreria-2026', 'usuario'),
    ('', '12 caracteres'),
])
def test_adduser_refuses_a_weak_password_and_creates_nothing(ini, capsys, password, reason):
    init.main([ini])
    tid = last_tid(ini)
    with pytest.raises(SystemExit) as refused:
        add_staff(ini, 'alice', password=password)
    assert refused.value.code != 0
    assert reason in capsys.readouterr().err
    assert last_tid(ini) == tid


def test_adduser_refuses_a_username_that_is_a_customer_rfc(ini):
    init.main([ini, '--demo'])
    tid = last_tid(ini)
    with pytest.raises(SystemExit):
        add_staff(ini, CANON.lower())
    assert last_tid(ini) == tid


@pytest.mark.parametrize('username', ['ab', 'ana maría', 'a/b', '../x'])
def test_adduser_refuses_usernames_that_cannot_sign_in(ini, username):
    init.main([ini])
    tid = last_tid(ini)
    with pytest.raises(SystemExit):
        add_staff(ini, username)
    assert last_tid(ini) == tid


def test_console_script_reads_the_password_from_stdin(ini, open_portal):
    init.main([ini])
    script = Path(sys.executable).parent / 'canonportal-adduser'
    done = subprocess.run(
        [str(script), ini, 'bob', '--role', 'operator', '--password-stdin'],
        input=STAFF_PASSWORD + '\n', capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert STAFF_PASSWORD not in done.stdout + done.stderr
    browser = open_portal(ini).client()
    assert browser.login('bob', STAFF_PASSWORD).location.endswith('/manage')
    assert 'Operador' in browser.get('/manage').text


def test_new_password_from_adduser_ends_the_staff_members_sessions(ini, open_portal):
    init.main([ini])
    add_staff(ini, 'alice')
    first = open_portal(ini)
    browser = first.client()
    browser.login('alice', STAFF_PASSWORD)
    cookie = browser.cookies['canonportal']
    assert browser.get('/manage').status_int == 200
    first.close()

    add_staff(ini, 'alice', password='otra frase larga del personal')

    portal = open_portal(ini)
    again = portal.client()
    again.set_cookie('canonportal', cookie)
    assert again.get('/manage').location == 'http://localhost:6543/'
    with nothing_changes(portal.app, but=login_record('alice'),
                         audited=[('staff.login', 'bad-credentials')]):
        assert again.login('alice', STAFF_PASSWORD, status=400)
    assert again.login('alice', 'otra frase larga del personal').status_int == 303
