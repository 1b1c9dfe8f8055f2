"""The portal on a fresh database for each test, built once per test session.

Building the app (configuration, scanning the views) and the demo data (its PDFs)
cost far more than most tests: the ``portal_app`` fixture builds both once per
test process, keeps the demo database as a template, and ``app`` gives every test
its own copy of that database in the same app (Kotti's and the cookiecutter's
habit). Tests that need other settings build their own with :func:`make_app`.

Helpers (``Client``, ``with_root``, the demo's constants, ``nothing_changes`` for the
tests of refused actions) are imported from this module; fixtures are never imported:
pytest registers this module as a plugin.
"""
import contextlib
import copy
import dataclasses
import datetime
import email
import email.policy
import itertools
import re
import shutil
from typing import NamedTuple

import pytest
import transaction
import webtest
from pyramid_mailer import get_mailer

import zodburi
from ZODB import DB
from ZODB.utils import get_pickle_metadata, p64, u64

from canonportal import banking, clock, configure, main, signin
from canonportal.bootstrap import add_demo_data, ensure_root
from canonportal.resources import StaffUser

CANON = 'CME930812PW3'
IXTAPA = 'DIS010203AB1'
GOOD_PASSWORD = 'un pájaro azul sobre el volcán'

BASE_SETTINGS = {
    'zodbconn.uri': 'memory://',
    'canonportal.public_url': 'https://portal.example.mx',
    'canonportal.session_secret': 'test-secret-' + 'x' * 40,
    'canonportal.testing_mailer': 'true',
    'mail.default_sender': 'portal@example.mx',
    'canonportal.rate_max_age_days': '30',
    'canonportal.issuer_rfc': 'CMX800101AB1',     # the demo invoices' issuer
    'pyramid.default_locale_name': 'es',  # as in development.ini (Pyramid's own default is 'en')
    # argon2 at its floor: the suite hashes hundreds of passwords (test_passwords proves
    # that production.ini and the defaults keep OWASP's cost).
    'canonportal.argon2_time_cost': '1',
    'canonportal.argon2_memory_kib': '8',
}


def make_app(**overrides):
    settings = dict(BASE_SETTINGS, **overrides)
    return main({}, **settings)


def saldos_order(customer):
    """The keys of ``customer``'s invoices with a balance, in SALDOS' order worked out
    from every invoice (what the open-invoice index must give): due date, none last;
    then text folios, then numeric folios by value; then the key."""
    def place(item):
        key, invoice = item
        folio = invoice.folio
        return (invoice.due or datetime.date.max,
                (len(folio), folio) if folio.isdigit() else (0, folio), key)
    return [key for key, _ in sorted(((key, invoice) for key, invoice in customer.invoices.items()
                                      if invoice.balance > 0), key=place)]


def file_storage_uri(folder):
    """A FileStorage with blobs in ``folder``: for tests that store PDFs and XML."""
    return f'file://{folder}/Data.fs?blobstorage_dir={folder}/blobs'


def database_of(app):
    return app.registry._zodb_databases['']


def with_root(app, work):
    """Run ``work(root)`` in its own committed transaction on the app's database."""
    manager = transaction.TransactionManager(explicit=True)
    conn = database_of(app).open(transaction_manager=manager)
    try:
        with manager:
            return work(ensure_root(conn.root()))
    finally:
        conn.close()


class Footprint(NamedTuple):
    """What an action leaves behind that someone would notice."""
    #: the last committed transaction: the state, the audit log included
    transaction: bytes
    #: the audit log's length and its newest entry's action and target
    audit: tuple
    #: the mails sent: recipients and subject of each
    mails: tuple


def footprint(app):
    """The app's :class:`Footprint` now."""
    def audit(root):
        log = root.audit_log
        newest = next(iter(log.newest_first()), None)
        return (len(log), newest and (newest.action, newest.target))
    outbox = get_mailer(app.registry).outbox
    return Footprint(database_of(app).lastTransaction(), with_root(app, audit),
                     tuple((tuple(m.recipients), m.subject) for m in outbox))


def written_since(app, tid):
    """``{oid: class name}`` of the objects the transactions committed after ``tid`` wrote."""
    written = {}
    for record in database_of(app).storage.iterator(p64(u64(tid) + 1)):
        for data in record:
            written[data.oid] = get_pickle_metadata(data.data)[1]
    return written


@contextlib.contextmanager
def nothing_changes(app, but=None, audited=()):
    """Assert that what runs inside changes nothing: no transaction committed (so neither
    the state nor the audit log), no audit entry, no mail.

    What a refusal records by design, and only that, may change: ``but``, a function of
    the root (or a tuple of them), gives the objects it writes (a failed sign-in's
    :func:`login_record`, the :func:`throttle`); ``audited`` lists the ``(action, after)``
    of the audit entries it appends, oldest first (a staff member's refused sign-in).
    Yields the footprint before."""
    before = footprint(app)
    yield before
    after = footprint(app)
    assert after.mails == before.mails, 'a refused action sent mail'
    if audited:
        added = after.audit[0] - before.audit[0]
        assert with_root(app, lambda root: _newest_entries(root, added)) == list(audited)
    else:
        assert after.audit == before.audit, 'a refused action wrote to the audit log'
    if after.transaction != before.transaction:
        written = written_since(app, before.transaction)
        allowed = with_root(app, lambda root: _may_write(root, but, audited))
        assert set(written) <= allowed, f'a refused action wrote {sorted(written.values())}'


def _newest_entries(root, count):
    """``(action, after)`` of the audit log's ``count`` newest entries, oldest first."""
    entries = itertools.islice(root.audit_log.newest_first(), max(count, 0))
    return [(entry.action, entry.after) for entry in entries][::-1]


def _may_write(root, but, audited):
    """The oids of what a refusal may write: ``but``'s objects, the audit log's when it
    audits (the log, its count and its BTree's buckets)."""
    objects = [obj for find in (but if isinstance(but, tuple) else (but,)) if find
               for obj in find(root)]
    if audited:
        log = root.audit_log
        objects += [log, log.entries, log._count]     # noqa: SLF001 - the log's own parts
        bucket = log.entries._firstbucket             # noqa: SLF001
        while bucket is not None:
            objects.append(bucket)
            bucket = bucket._next                     # noqa: SLF001
    return {obj._p_oid for obj in objects}


def throttle(root):
    """What counting an account mail or an unknown name's failed sign-in writes."""
    return (root.throttle, root.throttle.sent)


def login_record(login):
    """What a failed sign-in of ``login`` writes: the user's failed-sign-in record (the
    user too, when it makes its first one)."""
    def records(root):
        user = signin.find_user(root, login)
        return (user, user.login_attempts)
    return records


class Client(webtest.TestApp):
    """A WebTest client with the portal's sign-in steps."""

    def csrf(self, path='/recuperar-contrasena'):
        page = self.get(path)
        return page.html.find('input', {'name': 'csrf_token'})['value']

    def login(self, login, password, status='*'):
        page = self.get('/')
        form = last_form(page)
        form['login'] = login
        form['password'] = password
        return form.submit(status=status)

    def activation_link(self, to=None):
        """The path of the last activation link mailed (to ``to``, when given)."""
        outbox = get_mailer(self.app.registry).outbox
        mails = [m for m in outbox if '/activar/' in m.body and (to is None or to in m.recipients)]
        assert mails, [m.subject for m in outbox]
        return re.search(r'https?://[^/\s]+(/activar/[\w\-]+)', mails[-1].body).group(1)

    def activate(self, password=GOOD_PASSWORD, to=None):
        """Follow the last mailed activation link and choose ``password``."""
        form = last_form(self.get(self.activation_link(to)))
        form['password'] = password
        form['password_confirmation'] = password
        return form.submit()

    def sign_in_active(self, rfc=CANON, password=GOOD_PASSWORD, email=None):
        """The first sign-in as the manual has it (the RFC as user and password), then the
        link mailed to the ERP's address: a customer ready to use the portal. The ERP's
        address is made ``email`` first (``<rfc>@example.mx`` unless given)."""
        email = email or f'{rfc.lower()}@example.mx'

        def set_contact_email(root):
            root.customers[rfc].contact_email = email
        with_root(self.app, set_contact_email)
        self.login(rfc, rfc)
        self.activate(password=password)
        return self

    def post_form(self, path, fields, status='*'):
        fields = dict(fields)
        fields.setdefault('csrf_token', self.csrf())
        return self.post(path, fields, status=status)


@pytest.fixture
def frozen_clock(monkeypatch):
    """A clock the test moves by hand: ``frozen_clock.now`` and ``.advance(minutes=…)``."""

    class Frozen:
        now = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=datetime.timezone.utc)

        def advance(self, **delta):
            self.now += datetime.timedelta(**delta)

    frozen = Frozen()
    monkeypatch.setattr(clock, 'utcnow', lambda: frozen.now)
    return frozen


DEMO_DAY = datetime.date(2026, 11, 29)


def open_database(uri):
    """A ZODB database for ``uri``, opened as pyramid_zodbconn opens it."""
    storage_factory, db_kw = zodburi.resolve_uri(uri)
    return DB(storage_factory(), **db_kw)


def use_database(app, db):
    """Serve ``db`` from ``app`` from now on (the one it served is closed)."""
    databases = app.registry._zodb_databases  # noqa: SLF001 - pyramid_zodbconn's registry
    old = databases.get('')
    databases[''] = db
    if old is not None and old is not db:
        old.close()


def built_once(folder, **settings):
    """``(app, folder)``: an app with ``settings`` whose FileStorage in ``folder`` holds the
    demo data, closed: the template :func:`on_a_copy` serves copies of."""
    app = make_app(**dict(settings, **{'zodbconn.uri': file_storage_uri(folder)}))
    with_root(app, lambda root: add_demo_data(root, today=DEMO_DAY))
    database_of(app).close()
    return app, folder


def on_a_copy(app, template, folder):
    """Make ``app`` serve a fresh copy of the database in ``template``, kept in ``folder``,
    with an empty outbox; the caller closes it (``database_of(app).close()``)."""
    shutil.copy(template / 'Data.fs', folder / 'Data.fs')
    shutil.copytree(template / 'blobs', folder / 'blobs')
    use_database(app, open_database(file_storage_uri(folder)))
    # What the app's settings set for the whole process (another app may have changed it).
    configure.apply_process_settings(app.registry.settings)
    # Gateways keep per-process state (the CEP's query limit): each test starts afresh.
    app.registry.gateways = banking.configured_gateways(app.registry.settings)
    get_mailer(app.registry).outbox.clear()
    return app


@pytest.fixture(scope='session')
def portal_app(tmp_path_factory):
    """``(app, template folder)``: the portal built once for the test process, and a
    FileStorage holding the demo data that each test gets a copy of."""
    return built_once(tmp_path_factory.mktemp('demo-template'))


@pytest.fixture
def app(portal_app, tmp_path):
    """The portal with the demo data, on its own FileStorage (blobs kept) in a temporary
    folder: a fresh copy of the demo database in the app built once per session."""
    app, template = portal_app
    yield on_a_copy(app, template, tmp_path)
    database_of(app).close()


@pytest.fixture
def client(app):
    return Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})


@pytest.fixture
def other_client(app):
    return Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})


@pytest.fixture
def mailer(app):
    mailer = get_mailer(app.registry)
    mailer.outbox.clear()
    return mailer


def link_in(message, path):
    """The first link to ``path`` in a mail's body."""
    match = re.search(r'https?://\S+' + re.escape(path) + r'/[\w\-]+', message.body)
    assert match, message.body
    return match.group(0)


@dataclasses.dataclass(frozen=True)
class ReadMail:
    """A mail as a mail client shows it: parsed from the bytes that leave the portal."""

    to: tuple
    subject: str
    text: str
    attachments: tuple      # file names

    def link(self, path):
        """The first link to ``path`` in the text."""
        match = re.search(r'https?://\S+' + re.escape(path) + r'/[\w\-]+', self.text)
        assert match, self.text
        return match.group(0)


def read_mail(message):
    """``message`` (pyramid_mailer's, as handed to the mailer) parsed as a client would
    (the testing mailer leaves the sender to the real one's ``mail.default_sender``)."""
    message = copy.copy(message)
    message.sender = message.sender or BASE_SETTINGS['mail.default_sender']
    parsed = email.message_from_bytes(message.to_message().as_bytes(), policy=email.policy.default)
    body = parsed.get_body(('plain',))
    return ReadMail(
        to=tuple(address.addr_spec for address in parsed['To'].addresses),
        subject=str(parsed['Subject']),
        text=body.get_content() if body is not None else '',
        attachments=tuple(part.get_filename() for part in parsed.iter_attachments()))


def mails_to(mailer, address):
    """The mails ``mailer`` sent to ``address``, read as a client would, in order."""
    return [read for read in map(read_mail, mailer.outbox) if address in read.to]


def last_form(page):
    """The page's main form (the language and logout forms come first)."""
    return page.forms[len(page.forms) - 1]


def add_staff_user(app, username='alice', password=GOOD_PASSWORD, role='admin'):
    """Create a staff account directly in the database, as ``canonportal-adduser`` does."""
    def work(root):
        user = root.staff.add(username, StaffUser(username, role))
        signin.set_password(user, password)

    with_root(app, work)


def signed_in_home(client):
    """Where the login page sends a signed-in client, or None when the client is anonymous."""
    response = client.get('/')
    return response.location if response.status_int == 302 else None


@pytest.fixture
def staff_app(app, frozen_clock):
    """The demo portal with one staff user of each role: alice (admin), oscar (operator),
    aurora (auditor). Modules that need others define their own."""
    add_staff_user(app, 'alice', role='admin')
    add_staff_user(app, 'oscar', role='operator')
    add_staff_user(app, 'aurora', role='auditor')
    return app


@pytest.fixture
def canon(client, frozen_clock):
    """Canon Mexicana signed in with its own password on 29 November 2026 (the demo
    rate's day), its pages pinned to Spanish, the manual's language."""
    client.sign_in_active()
    client.set_cookie('lang', 'es')
    return client


@pytest.fixture
def ixtapa(other_client, frozen_clock):
    """Distribuidora Ixtapa signed in beside Canon Mexicana."""
    other_client.sign_in_active(rfc=IXTAPA)
    other_client.set_cookie('lang', 'es')
    return other_client
