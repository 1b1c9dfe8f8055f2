"""canonportal.passwords: argon2id at OWASP's cost in production, whatever the tests use."""
import configparser
import os
import threading

import pytest

from canonportal import passwords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWASP = (2, 19 * 1024)


def app_settings(ini):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, ini))
    return dict(parser['app:main'])


@pytest.fixture
def restore_cost():
    before = passwords.current_cost()
    yield
    passwords.set_cost(*before)


@pytest.mark.parametrize('ini', ['production.ini', 'development.ini'])
def test_the_shipped_configurations_hash_at_owasps_cost(ini):
    assert passwords.cost_from_settings(app_settings(ini)) == OWASP


def test_without_settings_the_cost_is_owasps():
    assert passwords.cost_from_settings({}) == OWASP
    assert (passwords.DEFAULT_TIME_COST, passwords.DEFAULT_MEMORY_KIB) == OWASP


def test_an_app_built_from_production_settings_hashes_at_that_cost(restore_cost):
    passwords.set_cost(1, 8)
    passwords.set_cost(*passwords.cost_from_settings(app_settings('production.ini')))
    stored = passwords.hash_password('un pájaro azul sobre el volcán')
    assert stored.startswith('$argon2id$v=19$m=19456,t=2,p=1$')


def test_hashes_keep_their_cost_and_verify_under_another(restore_cost):
    passwords.set_cost(1, 8)
    cheap = passwords.hash_password('una contraseña larga')
    passwords.set_cost(*OWASP)
    assert '$m=8,t=1,' in cheap
    assert passwords.verify_password(cheap, 'una contraseña larga')
    assert not passwords.verify_password(cheap, 'otra contraseña larga')


@pytest.mark.parametrize('settings', [{'canonportal.argon2_time_cost': '0'},
                                      {'canonportal.argon2_memory_kib': '4'},
                                      {'canonportal.argon2_time_cost': 'dos'}])
def test_a_cost_below_argon2s_floor_is_refused(settings):
    with pytest.raises(ValueError):
        passwords.cost_from_settings(settings)


# -- the sign-in gate: a bounded wait instead of an error at once (issue 20) ------------------

@pytest.fixture
def gate():
    """A gate of one place and one waiting spot (the test sets its wait), put in use."""
    before = passwords.current_gate()
    gate = passwords.SignInGate(places=1, queue=1, wait=60)
    passwords.set_gate(gate)
    yield gate
    passwords.set_gate(before)


def in_thread(work):
    """Run ``work`` in a thread; ``outcome`` holds its result or exception when done."""
    outcome = {}

    def run():
        try:
            outcome['result'] = work()
        except Exception as error:  # noqa: BLE001 - handed to the test
            outcome['error'] = error
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def until_waiting(gate, count):
    with gate.changed:
        assert gate.changed.wait_for(lambda: gate.waiting == count, timeout=30)


def test_a_sign_in_waits_for_a_place_and_goes_through_when_one_frees(gate):
    stored = passwords.hash_password('una contraseña larga')
    gate.enter()                                   # another sign-in is hashing
    thread, outcome = in_thread(lambda: passwords.verify_password(stored, 'una contraseña larga'))
    until_waiting(gate, 1)
    assert thread.is_alive() and outcome == {}     # waiting its turn, not refused
    gate.leave()
    thread.join(30)
    assert outcome == {'result': True}
    assert gate.inside == 0 and gate.waiting == 0


def test_past_the_longest_wait_a_sign_in_is_refused(gate, caplog):
    gate.wait = 0
    gate.enter()
    try:
        with pytest.raises(passwords.Busy), caplog.at_level('INFO', 'canonportal.passwords'):
            passwords.verify_password(None, 'una contraseña larga')
    finally:
        gate.leave()
    assert gate.inside == 0 and gate.waiting == 0
    # The log says why, for whoever reads it after a storm of sign-ins.
    assert [r.getMessage() for r in caplog.records] == [
        'sign-in refused: waited 0.0 s, 1 in the gate, 1 waiting, its place in the queue 1']


def test_past_the_queue_a_sign_in_is_refused_at_once_and_the_queue_goes_on(gate, caplog):
    caplog.set_level('INFO', logger='canonportal.passwords')
    stored = passwords.hash_password('una contraseña larga')
    gate.enter()
    thread, outcome = in_thread(lambda: passwords.verify_password(stored, 'una contraseña larga'))
    until_waiting(gate, 1)
    third, refused = in_thread(lambda: passwords.verify_password(stored, 'una contraseña larga'))
    third.join(30)                                 # the one waiting spot is taken: no wait
    assert not third.is_alive() and isinstance(refused['error'], passwords.Busy)
    assert 'sign-in refused: 1 in the gate and 1 waiting (its queue is full)' in caplog.messages
    assert gate.waiting == 1
    gate.leave()
    thread.join(30)
    assert outcome == {'result': True}


def test_waiting_sign_ins_go_in_the_order_they_came(gate):
    gate.queue = 2
    order = []
    gate.enter()
    first, _ = in_thread(lambda: (gate.enter(), order.append('first'), gate.leave()))
    until_waiting(gate, 1)
    second, _ = in_thread(lambda: (gate.enter(), order.append('second'), gate.leave()))
    until_waiting(gate, 2)
    gate.leave()
    first.join(30)
    second.join(30)
    assert order == ['first', 'second']


def test_the_gate_comes_from_the_settings():
    default = passwords.gate_from_settings({})
    assert (default.places, default.queue, default.wait) == (4, 4, 5.0)
    gate = passwords.gate_from_settings({'canonportal.signin_concurrency': '2',
                                         'canonportal.signin_queue': '0',
                                         'canonportal.signin_wait_seconds': '2.5'})
    assert (gate.places, gate.queue, gate.wait) == (2, 0, 2.5)


@pytest.mark.parametrize('settings', [{'canonportal.signin_concurrency': '0'},
                                      {'canonportal.signin_queue': '-1'},
                                      {'canonportal.signin_wait_seconds': 'nan'},
                                      {'canonportal.signin_wait_seconds': '3600'}])
def test_a_gate_that_could_not_work_is_refused(settings):
    with pytest.raises(ValueError):
        passwords.gate_from_settings(settings)
