"""Several real app servers on one RelStorage/PostgreSQL database, for the scale-out tests.

Import the fixture into a test module (it also marks and skips the module)::

    from server_support import cluster, requires_postgres  # noqa: F401
    pytestmark = requires_postgres

``cluster`` (one per test module) creates a fresh PostgreSQL database next to
the one named by ``CANONPORTAL_TEST_POSTGRES`` (``postgres://user:password@
127.0.0.1:port/dbname``; the user needs CREATEDB), writes one ini file per app
server into a temporary folder, fills the database with ``canonportal-init
--demo`` and starts two waitress servers, A and B, with ``pserve`` as
subprocesses on free loopback ports. Both share the database, the session
secret and the bank settings, and nothing else: each has its own RelStorage
cache, blob cache and mail queue (a Maildir), as two machines would.

The sandbox banks run in the test process on a third port (they are the
outside world, and their in-memory state lets the tests look at what the bank
did); Citibanamex sends its notifications to server B. At the end the servers
are stopped and the database is dropped.

Without ``CANONPORTAL_TEST_POSTGRES`` the modules are skipped with that reason;
with it, a missing RelStorage or psycopg2 is an error, not a skip.
"""
import contextlib
import email
import email.policy
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import lxml.html
import pytest
import transaction

from browser_support import serve, stop
from canonportal.sandbox import mount
from payment_support import no_bank_page

POSTGRES_ENV = 'CANONPORTAL_TEST_POSTGRES'
BIN = Path(sys.executable).parent

requires_postgres = [
    pytest.mark.postgresql,
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV),
        reason=f'{POSTGRES_ENV} is not set: these tests need a PostgreSQL server '
               '(.ci/run starts one; see docs/scale-out.md)'),
]

SESSION_SECRET = 'scale-out-test-secret-' + 'x' * 32
BANAMEX = {'merchant_id': 'TESTCANON01', 'api_password': 'scale-out-banamex-api-password',
           'notification_secret': 'scale-out-banamex-notification-secret'}
BBVA = {'account': '8001', 'secret': 'scale-out-bbva-secret'}
#: Waitress threads per app server, and so the ZODB connection pool size.
THREADS = 8


# -- PostgreSQL ---------------------------------------------------------------------------

class PostgresDatabase:
    """A database of its own on the test server, dropped at the end."""

    def __init__(self, admin_url):
        import psycopg2  # the [postgresql] extra; an ImportError here is a real failure
        self._psycopg2 = psycopg2
        self.admin = urlsplit(admin_url)
        if self.admin.scheme not in ('postgres', 'postgresql') or not self.admin.port:
            raise ValueError(f'{POSTGRES_ENV} must look like postgres://user:pw@host:port/db')
        self.name = 'canonportal_test_' + secrets.token_hex(4)
        self._execute(f'CREATE DATABASE {self.name}')

    def _execute(self, statement):
        connection = self._psycopg2.connect(
            dbname=self.admin.path.lstrip('/') or 'postgres', user=self.admin.username,
            password=self.admin.password, host=self.admin.hostname, port=self.admin.port)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def zodb_uri(self, blob_dir, **options):
        """The ``zodbconn.uri`` of this database (RelStorage's zodburi resolver)."""
        a = self.admin
        query = {'keep_history': 'false', 'blob_dir': str(blob_dir), 'cache_local_mb': '32',
                 'connection_pool_size': str(THREADS), 'connection_cache_size': '5000',
                 **options}
        return (f'postgres://{a.username}:{a.password}@{a.hostname}:{a.port}/{self.name}?'
                + '&'.join(f'{k}={v}' for k, v in query.items()))

    def drop(self):
        # WITH (FORCE) ends connections a killed server may have left behind.
        self._execute(f'DROP DATABASE IF EXISTS {self.name} WITH (FORCE)')


# -- servers ----------------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


#: Runs a program that gets SIGTERM when the test process dies (Linux PR_SET_PDEATHSIG,
#: kept across exec), so no server outlives a killed test run. (Popen's preexec_fn is
#: not safe while threads, such as the bank's server, are running.)
_DIE_WITH_PARENT = ('import contextlib, ctypes, os, signal, sys\n'
                    'with contextlib.suppress(OSError, AttributeError):\n'
                    '    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)\n'
                    'os.execv(sys.argv[1], sys.argv[1:])\n')


INI = """\
# Written by tests/server_support.py: app server {name} of the scale-out tests.
[app:main]
use = egg:canonportal
zodbconn.uri = {uri}
tm.manager_hook = pyramid_tm.explicit_manager
retry.attempts = 3
pyramid.default_locale_name = es
pyramid.reload_templates = false
mail.default_sender = portal@example.mx
mail.queue_path = {mail}
canonportal.company_name = Canon Mexicana
canonportal.public_url = {public_url}
canonportal.session_secret = {secret}
canonportal.session_secure = false
canonportal.rate_max_age_days = 30
canonportal.reconcile_after_minutes = 5
canonportal.payment_expire_minutes = 120
canonportal.banks = banamex bbva
banamex.base_url = {bank}/sandbox/banamex
banamex.api_version = 73
banamex.merchant_id = {banamex[merchant_id]}
banamex.api_password = {banamex[api_password]}
banamex.notification_secret = {banamex[notification_secret]}
banamex.merchant_name = Canon Mexicana
bbva.endpoint_url = {bank}/sandbox/bbva/clb/endpoint/canon
bbva.account = {bbva[account]}
bbva.secret = {bbva[secret]}

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}
threads = {threads}

[loggers]
keys = root, canonportal

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[logger_canonportal]
level = INFO
handlers =
qualname = canonportal

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s][%(threadName)s] %(message)s
"""


def stop_process(process):
    """Stop a server started with Popen: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class AppServer:
    """One portal process: ``pserve <ini>`` on a free port of 127.0.0.1."""

    def __init__(self, name, folder, database, bank_url, threads=THREADS):
        self.name = name
        self.folder = Path(folder) / f'server-{name}'
        self.folder.mkdir(parents=True)
        self.mail_dir = self.folder / 'mail'
        self.ini = self.folder / 'portal.ini'
        self.log_path = self.folder / 'server.log'
        self.uri = database.zodb_uri(self.folder / 'blobs')
        self.bank_url = bank_url
        self.threads = threads
        self.process = None
        self._write_ini(free_port())

    def _write_ini(self, port):
        self.port = port
        self.base_url = f'http://127.0.0.1:{port}'
        self.ini.write_text(INI.format(
            name=self.name, uri=self.uri.replace('%', '%%'), mail=self.mail_dir,
            public_url=self.base_url, secret=SESSION_SECRET, bank=self.bank_url,
            banamex=BANAMEX, bbva=BBVA, port=port, threads=self.threads), 'utf-8')

    def url(self, path='/'):
        return self.base_url + path

    def run_script(self, script, *args):
        """Run a console script (canonportal-init, …) on this server's ini file."""
        done = subprocess.run([str(BIN / script), str(self.ini), *args], capture_output=True,
                              text=True, timeout=120, cwd=self.folder)
        assert done.returncode == 0, f'{script} failed:\n{done.stdout}\n{done.stderr}'
        return done.stdout

    def start(self):
        self.log_path.write_bytes(b'')
        log = open(self.log_path, 'ab')  # noqa: SIM115 - the child holds it
        try:
            self.process = subprocess.Popen(
                [sys.executable, '-c', _DIE_WITH_PARENT, str(BIN / 'pserve'), str(self.ini)],
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()

    def wait_ready(self, timeout=60):
        """Wait until the server answers; a port taken meanwhile means a new port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if 'Address already in use' in self.log() and self.process.returncode:
                    self._write_ini(free_port())
                    self.start()
                    continue
                raise RuntimeError(f'server {self.name} exited:\n{self.log()[-4000:]}')
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url('/'), timeout=15).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f'server {self.name} did not answer in {timeout} s:\n{self.log()[-4000:]}')

    def stop(self):
        stop_process(self.process)

    def log(self):
        return self.log_path.read_text('utf-8', 'replace') if self.log_path.exists() else ''

    def retries(self):
        """How many requests pyramid_retry ran again after a conflict (the server logs them)."""
        return len(re.findall(r'retrying \w+ \S+ after \w*ConflictError', self.log()))

    def errors(self):
        """Logged tracebacks: unexpected errors, never expected in these tests."""
        return [line for line in self.log().splitlines()
                if ' ERROR ' in line or 'Traceback' in line]

    def mails(self):
        """The mails this server wrote to its Maildir: [(to, subject, plain-text body)]."""
        found = []
        for path in sorted((self.mail_dir / 'new').glob('*'), key=lambda p: p.stat().st_mtime):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(('plain',))
            found.append((str(message['To']), str(message['Subject']),
                          body.get_content() if body is not None else ''))
        return found


class BankServer:
    """Both sandbox banks on one waitress server in this process, like a bank's site."""

    def __init__(self):
        self.site = mount.with_sandboxes(no_bank_page, {
            'banamex.merchant_id': BANAMEX['merchant_id'],
            'banamex.api_password': BANAMEX['api_password'],
            'banamex.notification_secret': BANAMEX['notification_secret'],
            'bbva.account': BBVA['account'], 'bbva.secret': BBVA['secret']})
        apps = dict(self.site.mounts)
        self.banamex, self.bbva = apps['/sandbox/banamex'], apps['/sandbox/bbva']
        self.server, self.thread, self.base_url = serve(self.site, threads=16)

    def notify(self, server):
        """Send Citibanamex's webhooks to ``server``'s notification endpoint."""
        self.banamex.notification_url = server.url('/banco/banamex/notificacion')

    def order_of(self, checkout_url):
        """The order (= payment reference) of a Citibanamex hosted checkout URL."""
        session_id = urlsplit(checkout_url).path.rsplit('/', 1)[-1]
        return self.banamex.sessions[session_id]['order_id']

    def deliveries(self, order):
        return [entry for entry in self.banamex.deliverer.log if entry['order'] == order]

    def stop(self):
        for sandbox in (self.banamex, self.bbva):
            sandbox.deliverer.wait(timeout=10)
        stop(self.server, self.thread)


# -- the customer's side ------------------------------------------------------------------

def form_of(response, index=-1):
    """``(absolute action URL, [(name, value)])`` of a page's form (the main one by default)."""
    form = lxml.html.fromstring(response.text).forms[index]
    return urljoin(str(response.url), form.get('action') or ''), list(form.form_values())


def csrf_token_of(response):
    found = lxml.html.fromstring(response.text).xpath('//input[@name="csrf_token"]/@value')
    assert found, f'no CSRF token on {response.url}'
    return found[0]


def on(server, url):
    """``url`` with its host and port replaced by ``server``'s (what a load balancer does)."""
    parts = urlsplit(str(url))
    return urlunsplit(('http', f'127.0.0.1:{server.port}', parts.path, parts.query, ''))


class Browser:
    """A customer's browser: one cookie jar for every server (they share one host name)."""

    def __init__(self, cookies=None):
        self.http = httpx.Client(timeout=60, follow_redirects=False, cookies=cookies)

    def copy(self):
        """Another browser holding a copy of this one's cookies (e.g. a stolen session)."""
        return Browser(cookies=httpx.Cookies(self.http.cookies))

    def get(self, url):
        return self.http.get(str(url))

    def post(self, url, data):
        return self.http.post(str(url), data=data)

    def submit(self, page, values=None, index=-1, server=None):
        """Submit a page's form with ``values`` changed, to ``server`` when given."""
        action, fields = form_of(page, index)
        fields = dict(fields)
        fields.update(values or {})
        return self.post(on(server, action) if server else action, fields)

    def sign_in(self, server, login, password):
        return self.submit(self.get(server.url('/')), {'login': login, 'password': password},
                           server=server)

    def csrf(self, server, path='/recuperar-contrasena'):
        return csrf_token_of(self.get(server.url(path)))

    def close(self):
        self.http.close()


def pay(browser, server, rfc, amounts, bank='banamex', csrf=None):
    """POST a confirmed payment of ``{invoice key: MXN amount}`` straight to ``server``.

    What the confirmation page's ACEPTAR sends; the server recomputes
    everything from the stored invoices. A payment that was created answers
    303 to the bank.
    """
    data = {'csrf_token': csrf or browser.csrf(server), 'bank': bank, 'confirmado': '1',
            'pick': list(amounts)}
    for key, amount in amounts.items():
        data[f'mxn-{key}'] = amount
        data[f'edited-{key}'] = 'mxn'
    return browser.post(server.url(f'/customers/{rfc}/pagar'), data)


def pay_at_bank(browser, bank, checkout, card_expiry='01/39'):
    """Type the approved test card on the sandbox Citibanamex page; the bank's answer."""
    page = browser.get(checkout)
    assert page.status_code == 200, page.text[:500]
    return browser.submit(page, {'card_number': '5123450000000008', 'expiry': card_expiry,
                                 'csc': '100', 'action': 'pay'}, index=0)


def run_at_once(calls, timeout=120):
    """Run ``calls`` (no-argument callables) in threads released together; their results.

    An exception in a call is returned in its place, so the test sees it.
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - handed to the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


# -- data ---------------------------------------------------------------------------------

def add_customer(root, rfc, invoices=(), password=None):
    """A customer with MXN invoices ``[(folio, amount)]``, activated when given a password.

    What the ERP import and the customer's own activation would have left.
    """
    import datetime

    from canonportal.bootstrap import demo_uuid
    from canonportal.resources import ACTIVE, Customer, Invoice
    from canonportal.signin import set_password
    account = '00' + rfc[-4:]
    customer = root.customers.add_customer(Customer(rfc, f'Cliente {rfc} SA de CV',
                                                    accounts=(account,)))
    issued = datetime.date(2026, 10, 1)
    for folio, amount in invoices:
        customer.add_invoice(Invoice(folio, account, issued, issued + datetime.timedelta(days=30),
                                     'MXN', amount, uuid=demo_uuid(folio)))
    if password:
        set_password(customer, password)
        customer.state = ACTIVE
        customer.set_email(f'{rfc.lower()}@example.mx')
    return customer


# -- the cluster --------------------------------------------------------------------------

class Cluster:
    """Servers A and B on one database, the bank, and the database seen from this process."""

    def __init__(self, database, bank, servers, folder):
        import ZODB
        import zodburi
        self.database, self.bank, self.servers = database, bank, servers
        self.a, self.b = servers
        factory, dbkw = zodburi.resolve_uri(database.zodb_uri(Path(folder) / 'blobs-tests'))
        self.db = ZODB.DB(factory(), **dbkw)

    def read(self, work):
        """``work(portal_root)`` on the latest committed state; nothing is written."""
        manager = transaction.TransactionManager(explicit=True)
        connection = self.db.open(transaction_manager=manager)
        try:
            manager.begin()
            try:
                return work(connection.root()['app_root'])
            finally:
                manager.abort()
        finally:
            connection.close()

    def write(self, work):
        """``work(portal_root)`` in a committed transaction (what the ERP import would do)."""
        manager = transaction.TransactionManager(explicit=True)
        connection = self.db.open(transaction_manager=manager)
        try:
            for attempt in manager.attempts():
                with attempt:
                    result = work(connection.root()['app_root'])
            return result
        finally:
            connection.close()

    def close(self):
        self.db.close()


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    """Servers A and B on a fresh RelStorage database with the demo data (see module doc)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f'{POSTGRES_ENV} is not set')
    folder = tmp_path_factory.mktemp('scale-out')
    database = PostgresDatabase(url)
    bank = servers = cluster = None
    try:
        bank = BankServer()
        servers = [AppServer(name, folder, database, bank.base_url) for name in 'AB']
        servers[0].run_script('canonportal-init', '--demo')
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        bank.notify(servers[1])
        cluster = Cluster(database, bank, servers, folder)
        yield cluster
    finally:
        for server in servers or ():
            server.stop()
        if cluster is not None:
            cluster.close()
        if bank is not None:
            bank.stop()
        database.drop()
