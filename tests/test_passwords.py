"""canonportal.passwords: argon2id at OWASP's cost in production, whatever the tests use."""
import configparser
import os

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
