"""Sign-ins without conflicts: many failed attempts on one account at once (issue 11), and
different accounts signing in at the same moment (issue 20)."""
import datetime
import threading
from types import SimpleNamespace
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from canonportal.resources.credentials import LOCKOUT_THRESHOLD, LoginAttempts
from portal_support import CANON

NOW = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def database(tmp_path):
    db = ZODB.DB(FileStorage(str(tmp_path / 'Data.fs')))
    with db.transaction() as conn:
        conn.root()['attempts'] = LoginAttempts()
    yield db
    db.close()


def two_connections(db):
    managers = [transaction.TransactionManager() for _ in range(2)]
    connections = [db.open(transaction_manager=m) for m in managers]
    return managers, [c.root()['attempts'] for c in connections]


def test_concurrent_failures_are_merged_not_refused(database):
    managers, (first, second) = two_connections(database)
    first.add_failure(NOW)
    second.add_failure(NOW)            # the same instant: still two failures
    managers[0].commit()
    managers[1].commit()               # a ConflictError before
    with database.transaction() as conn:
        assert len(conn.root()['attempts'].recent(NOW)) == 2


def test_a_lock_taken_concurrently_stands(database):
    with database.transaction() as conn:
        for _ in range(LOCKOUT_THRESHOLD - 1):
            conn.root()['attempts'].add_failure(NOW)
    managers, (first, second) = two_connections(database)
    first.add_failure(NOW)             # the fifth: locks
    second.add_failure(NOW)
    managers[0].commit()
    managers[1].commit()
    with database.transaction() as conn:
        assert conn.root()['attempts'].is_locked(NOW + datetime.timedelta(minutes=14))
        assert not conn.root()['attempts'].is_locked(NOW + datetime.timedelta(minutes=16))


def test_an_unlock_wins_over_a_concurrent_failure(database):
    with database.transaction() as conn:
        for _ in range(LOCKOUT_THRESHOLD):
            conn.root()['attempts'].add_failure(NOW)
    later = NOW + datetime.timedelta(minutes=1)
    managers, (staff, attacker) = two_connections(database)
    staff.clear(later, unlock=True)
    attacker.add_failure(later - datetime.timedelta(seconds=1))
    managers[0].commit()
    managers[1].commit()
    with database.transaction() as conn:
        attempts = conn.root()['attempts']
        assert not attempts.is_locked(later) and attempts.recent(later) == ()


def test_150_parallel_wrong_passwords_get_no_500_and_lock_the_account(dev_server):
    def attempt(n):
        with httpx.Client(base_url=dev_server.base_url, timeout=60) as browser:
            page = browser.get('/')
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            return browser.post('/login', data={'csrf_token': token, 'login': CANON,
                                                'password': f'wrong password {n}'}).status_code

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(attempt, range(150)))
    assert 500 not in statuses, statuses          # 10 of 150 were 500 before
    # 400 wrong password, 403 locked, 503 "try again in a few seconds" past the hashing queue.
    assert set(statuses) <= {400, 403, 503}, statuses
    assert 403 in statuses
    assert attempt(150) == 403                    # and the account is locked


# -- different accounts signing in at the same moment (issue 20) -------------------------------

CUSTOMERS = ('CME930812PW3', 'DIS010203AB1')
PASSWORD = 'una contraseña larga de prueba'


def _database(app):
    return app.registry._zodb_databases['']


def _in_root(app, work):
    from canonportal.bootstrap import ensure_root
    with _database(app).transaction() as conn:
        return work(ensure_root(conn.root()))


@pytest.fixture
def active_customers(app):
    """The two demo customers with a password, on a portal in use (its audit log has entries):
    ready to sign in."""
    from canonportal import signin
    from canonportal.resources import ACTIVE

    def activate(root):
        for rfc in CUSTOMERS:
            customer = root.customers[rfc]
            signin.set_password(customer, PASSWORD)
            customer.state = ACTIVE
        for minute in range(5):
            root.audit_log.append(NOW + datetime.timedelta(minutes=minute), 'staff:alice',
                                  'customer.unlock', '/customers/CME930812PW3')
    _in_root(app, activate)
    return app


@pytest.fixture
def together(monkeypatch):
    """Each verification of a password counted; and the first two sign-ins, once each has
    written what it records (the audit entry, or the throttle's count of an unknown name),
    wait for each other before committing: two transactions open at once, both writing."""
    from canonportal import audit, passwords
    from canonportal.resources.throttle import Throttle
    meeting, calls, met = threading.Barrier(2, timeout=30), [], []

    def counted(real):
        def verify(password_hash, password):
            calls.append(password_hash)
            return real(password_hash, password)
        return verify

    def meets(real):
        def write(*args, **kwargs):
            result = real(*args, **kwargs)
            met.append(1)
            if len(met) <= 2:
                meeting.wait()
            return result
        return write
    monkeypatch.setattr(passwords, 'verify_password', counted(passwords.verify_password))
    monkeypatch.setattr(audit, 'record', meets(audit.record))
    monkeypatch.setattr(Throttle, 'allow', meets(Throttle.allow))
    return SimpleNamespace(hashed=calls, written=met)


def sign_in_at_once(app, logins):
    """POST /login for each ``(login, password)`` from its own browser, in parallel; the answers."""
    import webtest

    def one(login):
        browser = webtest.TestApp(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
        page = browser.get('/')
        form = page.forms[len(page.forms) - 1]
        form['login'], form['password'] = login
        answer = form.submit(status='*')
        if answer.status_int == 303:
            return answer.status_int, browser.get(f'/customers/{login[0]}/saldos', status='*').status_int
        return answer.status_int, None
    with ThreadPoolExecutor(len(logins)) as pool:
        return list(pool.map(one, logins))


def test_two_customers_signing_in_at_the_same_moment_both_get_in_without_a_conflict(
        active_customers, together):
    """Two connections, two accounts, both transactions open at once: both commit. Before,
    the second hit a ConflictError on the audit log and the whole sign-in ran again (or,
    past the retries, got 503 "intente de nuevo")."""
    answers = sign_in_at_once(active_customers, [(rfc, PASSWORD) for rfc in CUSTOMERS])
    assert answers == [(303, 200), (303, 200)]
    assert len(together.hashed) == 2              # each password hashed once
    assert len(together.written) == 2             # and written once: the audit log merged both
    entries = _in_root(active_customers, lambda root: sorted(
        e.target for e in root.audit_log.search(action='company.login')))
    assert entries == [f'/customers/{rfc}' for rfc in CUSTOMERS]


def test_when_the_audit_log_splits_a_bucket_the_write_alone_is_retried(active_customers, together):
    """The one collision left between different accounts: both appends land in a full bucket
    of the audit log, which splits. The second sign-in's write is committed again on a fresh
    view of the database; its password is not hashed again and it is let in."""
    from BTrees.LOBTree import LOBTree

    def fill_the_bucket(root):
        log = root.audit_log
        while len(log) < LOBTree.max_leaf_size:
            log.append(NOW, 'staff:alice', 'a', '/x')
    _in_root(active_customers, fill_the_bucket)
    answers = sign_in_at_once(active_customers, [(rfc, PASSWORD) for rfc in CUSTOMERS])
    assert answers == [(303, 200), (303, 200)]
    assert len(together.hashed) == 2               # argon2 once each
    assert len(together.written) == 3              # the second's write, once more
    assert _in_root(active_customers, lambda root: len(list(
        root.audit_log.search(action='company.login')))) == 2


def test_two_unknown_names_at_the_same_moment_are_both_counted(app, together):
    """Failed sign-ins of unknown names go to the shared throttle: different names merge."""
    answers = sign_in_at_once(app, [('XAXX010101001', 'no es'), ('XAXX010101002', 'tampoco')])
    assert answers == [(400, None), (400, None)]
    assert len(together.hashed) == 2 and len(together.written) == 2
    counted = _in_root(app, lambda root: sorted(
        key for key in root.throttle.sent.keys() if key.startswith('unknown-login:')))
    assert counted == ['unknown-login:XAXX010101001', 'unknown-login:XAXX010101002']


def test_the_password_is_checked_once_before_anything_is_written(active_customers, monkeypatch):
    """argon2 runs before the sign-in's write transaction begins, and not again in it; a
    locked account costs no argon2 at all (as before: a locked account is no oracle to
    hammer at our expense)."""
    from canonportal import passwords, signin
    hashed, now = [], datetime.datetime.now(datetime.timezone.utc)
    real = passwords.verify_password
    monkeypatch.setattr(passwords, 'verify_password',
                        lambda stored, password: hashed.append(stored) or real(stored, password))

    def check(root):
        outcomes = []
        for login, password in ((CUSTOMERS[0], PASSWORD), ('XAXX010101009', 'nadie'),
                                (CUSTOMERS[1], PASSWORD)):
            verified = {}
            signin.verify_first(root, login, password, now, verified)
            before = len(hashed)
            outcomes.append(signin.authenticate(root, login, password, now, verified)[0])
            assert len(hashed) == before          # authenticate did not hash again
        return outcomes

    def lock(root):
        for _ in range(LOCKOUT_THRESHOLD):
            root.customers[CUSTOMERS[1]].record_failed_login(now)
    _in_root(active_customers, lock)
    assert _in_root(active_customers, check) == [signin.OK, signin.BAD_CREDENTIALS, signin.LOCKED]
    assert len(hashed) == 2                       # the active account and the unknown name
