"""The console scripts against a real ini file and a FileStorage in a temporary folder,
and canonportal-adduser against what ``make run`` serves."""
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from pyramid.paster import get_app

from canonportal.scripts import adduser, init
from portal_support import CANON, Client, database_of, login_record, nothing_changes, signed_in_home
from script_support import last_tid, read_root
from server_support import Browser, free_port

STAFF_PASSWORD = 'la mesa de tesorería abre a las nueve'
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


def test_adduser_refuses_a_username_that_is_a_customer_rfc(ini, capsys):
    init.main([ini, '--demo'])
    tid = last_tid(ini)
    assert add_staff(ini, CANON.lower()) == 1
    assert 'RFC de un cliente' in capsys.readouterr().err
    assert last_tid(ini) == tid


@pytest.mark.parametrize('username', ['ab', 'ana maría', 'a/b', '../x', 'maría', 'a' * 65])
def test_adduser_refuses_usernames_that_cannot_sign_in(ini, username):
    init.main([ini])
    tid = last_tid(ini)
    with pytest.raises(SystemExit):
        add_staff(ini, username)
    assert last_tid(ini) == tid


def test_adduser_without_its_ini_file_says_so_before_asking_for_a_password(tmp_path, capsys):
    stdin = io.StringIO(STAFF_PASSWORD + '\n')
    assert adduser.main([str(tmp_path / 'nope.ini'), 'alice', '--password-stdin'], stdin=stdin) == 1
    said = capsys.readouterr().err
    assert 'cannot read' in said and 'nope.ini' in said
    assert stdin.read() == STAFF_PASSWORD + '\n'          # the password was not even asked


def test_adduser_before_the_database_exists_says_how_to_make_it(tmp_path, capsys):
    from script_support import INI
    ini_path = tmp_path / 'fresh.ini'
    ini_path.write_text(INI.format(folder=tmp_path / 'var'))    # var/ not made yet
    assert add_staff(str(ini_path), 'alice') == 1
    said = capsys.readouterr().err
    assert 'cannot open the database' in said and 'make run' in said
    assert not (tmp_path / 'var').exists()


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


# -- canonportal-adduser while `make run` serves (issue 22) -----------------------------------

@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """What ``make run`` serves: development.ini, the demo data, pserve on a free port."""
    from devserver_support import start_dev_server
    server = start_dev_server(tmp_path_factory.mktemp('served'))
    yield server
    server.stop()


def readme_adduser_command():
    """The README's command for the first staff account, as a new user copies it."""
    section = (ROOT / 'README.md').read_text().split('There is no staff account by default.', 1)[1]
    line = re.search(r'^(\.venv/bin/canonportal-adduser .+?)\s+# asks for the password$',
                     section, re.M)
    assert line, 'the README no longer shows how to create the first staff account'
    return shlex.split(line.group(1))


def adduser_on(server, args, stdin, port=None):
    """canonportal-adduser in the served portal's folder, told its port as ``make run
    PORT=…`` users are (the last http_port wins), with no terminal: getpass reads stdin."""
    return subprocess.run(
        [str(BIN / 'canonportal-adduser'), *args, f'http_port={port or server.port}'],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=server.folder,
        start_new_session=True)


def sign_in(server, login, password):
    """``(browser, answer)`` of the sign-in form on the served portal's own address."""
    browser = Browser()
    return browser, browser.submit(browser.get(server.url('/')), {'login': login,
                                                                   'password': password})


def signs_in(server, login, password):
    return sign_in(server, login, password)[1].status_code == 303


def test_the_readmes_adduser_works_while_the_portal_serves(served):
    command = readme_adduser_command()
    assert command[:2] == ['.venv/bin/canonportal-adduser', 'development.ini'], command
    done = adduser_on(served, command[1:], stdin=f'{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n')
    assert done.returncode == 0, done.stderr
    assert f'asking it: http://localhost:{served.port}/alta-personal' in done.stdout
    assert 'created staff user alice (admin)' in done.stdout
    assert 'Traceback' not in done.stderr
    # The password went in the body of the request: in no URL, no output, no log.
    assert STAFF_PASSWORD not in done.stdout + done.stderr + served.log()
    browser, signed_in = sign_in(served, 'alice', STAFF_PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers['location'].endswith('/manage')
    panel = browser.get(served.url('/manage'))
    assert 'Panel del personal' in panel.text and 'alice' in panel.text


def other_secret_ini(server):
    """The served portal's ini file with another session secret (the same database)."""
    path = server.folder / 'other-secret.ini'
    text = server.ini.read_text()
    path.write_text(re.sub(r'(?m)^canonportal\.session_secret = .*$',
                           'canonportal.session_secret = not-the-portals-secret-0123456789abcdef',
                           text))
    return path.name


@pytest.mark.parametrize('case', ['customer RFC', 'wrong port', 'other secret', 'weak password'])
def test_adduser_against_the_served_portal_says_what_to_do_and_changes_nothing(served, case):
    username, ini, port, password = 'bob', 'development.ini', None, STAFF_PASSWORD
    if case == 'customer RFC':
        username = CANON.lower()
    elif case == 'wrong port':
        port = free_port()                      # nobody serves there
    elif case == 'other secret':
        ini = other_secret_ini(served)
    else:
        password = 'corta'
    done = adduser_on(served, [ini, username, '--role', 'admin', '--password-stdin'],
                      stdin=password + '\n', port=port)
    said = done.stderr
    assert done.returncode != 0 and 'Traceback' not in said, said
    assert {'customer RFC': 'RFC de un cliente', 'wrong port': 'add http_port=PORT',
            'other secret': 'another canonportal.session_secret',
            'weak password': 'al menos 12 caracteres'}[case] in said
    assert 'created' not in done.stdout
    assert not signs_in(served, username, password)


def test_adduser_through_a_proxy_or_without_the_token_makes_nobody(served):
    """Only the script, straight to waitress with its token, is answered: not a request
    deploy/'s nginx forwarded (it sends X-Real-IP; waitress drops an untrusted
    X-Forwarded-For itself), nor one without the token."""
    from canonportal.localonly import ADDUSER, TOKEN_HEADER, script_token
    from canonportal.scripts.common import ini_settings
    token = script_token(ini_settings(str(served.ini), {'http_port': str(served.port)}), ADDUSER)
    form = {'username': 'mallory', 'role': 'admin', 'password': STAFF_PASSWORD}
    http = Browser().http
    proxied = http.post(served.url('/alta-personal'), data=form,
                        headers={TOKEN_HEADER: token, 'X-Real-IP': '203.0.113.7',
                                 'X-Forwarded-For': '203.0.113.7'})
    assert proxied.status_code == 404
    assert http.post(served.url('/alta-personal'), data=form).status_code == 403
    assert not signs_in(served, 'mallory', STAFF_PASSWORD)
