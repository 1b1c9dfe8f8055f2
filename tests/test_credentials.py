"""Failed sign-ins counted without conflicts: many attempts on one account at once (issue 11)."""
import datetime
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
