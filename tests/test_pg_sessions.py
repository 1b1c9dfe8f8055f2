"""Two app servers on one PostgreSQL database: what one process learns, the other knows.

Real waitress servers (``pserve``) A and B share a RelStorage database (see
server_support). A customer's browser goes to either, as behind a load
balancer: activation, confirmation links, password resets, failed logins and
logouts must hold on both, because they live in the database and not in a
process.
"""
import re
import time
from urllib.parse import urlsplit

import pytest

from portal_support import GOOD_PASSWORD, IXTAPA
from server_support import Browser, add_customer, csrf_token_of, requires_postgres, run_at_once

pytestmark = requires_postgres

NEW_PASSWORD = 'otra contraseña larga de prueba'
LOCKED = 'la cuenta está bloqueada'
LOCKOUT = 'PGL010101AB1'
RACE = 'PGR010101AB2'
LOGOUT = 'PGS010101AB3'
RESET = 'PGT010101AB4'


@pytest.fixture(scope='module', autouse=True)
def customers(cluster):
    """Activated customers written straight to the database while both servers run."""
    def work(root):
        for rfc in (LOCKOUT, RACE, LOGOUT, RESET):
            add_customer(root, rfc, [(rfc[-3:] + '001', '1000.00')], password=GOOD_PASSWORD)
    cluster.write(work)


def link_in(server, subject, path):
    """The link to ``path`` in the last mail ``server`` wrote with ``subject`` (account mails
    leave after the answer, from a background thread: wait a little for them)."""
    deadline = time.monotonic() + 10
    while True:
        bodies = [body for _to, sub, body in server.mails() if sub == subject]
        if bodies or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert bodies, f'server {server.name} wrote no mail "{subject}": {server.mails()}'
    match = re.search(r'https?://\S+' + re.escape(path) + r'/[\w\-]+', bodies[-1])
    assert match, bodies[-1]
    return match.group(0)


def user_state(cluster, rfc):
    def work(root):
        user = root.customers[rfc]
        return {'state': user.state, 'email': user.email, 'failed': len(user.failed_logins),
                'locked': user.locked_until is not None, 'generation': user.session_generation}
    return cluster.read(work)


def test_both_servers_serve_one_database(cluster):
    # Customers written by this process after both servers started are there for both.
    for server in (cluster.a, cluster.b):
        browser = Browser()
        assert browser.sign_in(server, LOCKOUT, GOOD_PASSWORD).status_code == 303
        saldos = browser.get(server.url(f'/customers/{LOCKOUT}/saldos'))
        assert saldos.status_code == 200 and '1,000.00' in saldos.text
    assert cluster.a.process.pid != cluster.b.process.pid
    assert cluster.read(lambda root: type(root._p_jar.db().storage).__name__) == 'RelStorage'


def test_activation_on_one_server_holds_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    browser = Browser()
    first = browser.sign_in(a, IXTAPA, IXTAPA)
    assert first.status_code == 200 and 'p***@example.com' in first.text

    # The activation link mailed by A works on B (the token is in the database).
    link = link_in(a, 'Active su cuenta', '/activar')
    assert b.mails() == []
    page = browser.get(b.url(urlsplit(link).path))
    assert page.status_code == 200, page.text[:2000]
    done = browser.submit(page, {'password': NEW_PASSWORD,
                                 'password_confirmation': NEW_PASSWORD}, server=b)
    assert done.status_code == 303, done.text[:2000]
    assert user_state(cluster, IXTAPA)['state'] == 'active'
    assert user_state(cluster, IXTAPA)['email'] == 'pagos@example.com'

    # B knows the new password, and no longer the RFC as a first password.
    other = Browser()
    assert other.sign_in(b, IXTAPA, IXTAPA).status_code == 400
    signed_in = other.sign_in(b, IXTAPA, NEW_PASSWORD)
    assert signed_in.status_code == 303
    assert signed_in.headers['location'].endswith(f'/customers/{IXTAPA}/estados-de-cuenta')


def test_failed_logins_spread_over_both_servers_lock_the_account_on_both(cluster):
    a, b = cluster.a, cluster.b
    browser = Browser()
    answers = [browser.sign_in(server, LOCKOUT, 'not the password').status_code
               for server in (a, b, a, b)]
    assert answers == [400, 400, 400, 400]
    assert user_state(cluster, LOCKOUT)['failed'] == 4
    fifth = browser.sign_in(b, LOCKOUT, 'not the password')
    assert fifth.status_code == 403 and LOCKED in fifth.text
    # Locked on both servers, even with the right password.
    for server in (a, b):
        refused = Browser().sign_in(server, LOCKOUT, GOOD_PASSWORD)
        assert refused.status_code == 403 and LOCKED in refused.text
    assert user_state(cluster, LOCKOUT)['locked']


def test_concurrent_failed_logins_on_both_servers_are_all_counted_without_an_error(cluster):
    """Three wrong passwords at once write the same user's LoginAttempts, which merges
    concurrent failures: all counted, no error, nothing left to retry (issue 11)."""
    a, b = cluster.a, cluster.b
    retried_before = a.retries() + b.retries()
    browsers = [Browser() for _ in range(3)]
    pages = [(browser, server, browser.get(server.url('/')))
             for browser, server in zip(browsers, (a, b, a))]
    answers = run_at_once([
        (lambda browser=browser, server=server, page=page: browser.submit(
            page, {'login': RACE, 'password': 'wrong password'}, server=server).status_code)
        for browser, server, page in pages])
    assert answers == [400, 400, 400]
    assert user_state(cluster, RACE)['failed'] == 3
    assert a.errors() == [] and b.errors() == []
    assert a.retries() + b.retries() == retried_before


def test_logout_on_one_server_ends_the_session_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    saldos = f'/customers/{LOGOUT}/saldos'
    browser = Browser()
    assert browser.sign_in(a, LOGOUT, GOOD_PASSWORD).status_code == 303
    assert browser.get(b.url(saldos)).status_code == 200   # one signed cookie, both servers
    copied = browser.copy()                                  # e.g. left in another tab
    generation = user_state(cluster, LOGOUT)['generation']

    page = browser.get(a.url(saldos))
    logout = browser.post(a.url('/logout'), {'csrf_token': csrf_token_of(page)})
    assert logout.status_code == 303
    assert user_state(cluster, LOGOUT)['generation'] == generation + 1
    for server in (b, a):
        answer = copied.get(server.url(saldos))
        assert answer.status_code == 302, (server.name, answer.status_code)
        assert answer.headers['location'] == server.url('/')


def test_a_reset_link_mailed_by_one_server_is_used_once_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    browser = Browser()
    sent = browser.post(b.url('/recuperar-contrasena'),
                        {'login': RESET, 'csrf_token': browser.csrf(b)})
    assert sent.status_code == 200
    path = urlsplit(link_in(b, 'Restablecer contraseña', '/restablecer')).path
    page = browser.get(a.url(path))
    assert page.status_code == 200
    done = browser.submit(page, {'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD},
                          server=a)
    assert done.status_code == 200, done.text[:2000]
    # Used on A, so dead on B too; and B signs in with the new password only.
    assert Browser().get(b.url(path)).status_code == 400
    assert Browser().sign_in(b, RESET, GOOD_PASSWORD).status_code == 400
    assert Browser().sign_in(b, RESET, NEW_PASSWORD).status_code == 303
