"""Paths that are not UTF-8 answer our 400 page; paths carrying tokens are masked in logs."""
import logging

import httpx
import pytest

from canonportal.paths import loggable
from portal_support import Client, nothing_changes


@pytest.mark.parametrize('path', ['/%ff', '/customers/%ff', '/static/%c0%ae%c0%ae/x',
                                  '/customers/CME930812PW3/%ff/saldos'])
def test_a_path_that_is_not_utf8_gets_our_400_page_with_headers(client, path, caplog):
    with caplog.at_level(logging.INFO):
        answer = client.get(path, status='*')
    assert answer.status_int == 400
    assert 'La dirección no es válida.' in answer.text
    assert answer.headers['Content-Security-Policy'] and answer.headers['X-Frame-Options'] == 'DENY'
    assert not [r for r in caplog.records if r.exc_info], 'no traceback for a bad path'


def test_a_served_portal_answers_a_bad_path_with_its_page(dev_server):
    for path in ('/%ff', '/customers/%ff', '/static/%c0%ae%c0%ae/x'):
        answer = httpx.get(dev_server.url(path), timeout=10)
        assert answer.status_code == 400, path
        assert 'Content-Security-Policy' in answer.headers
    assert 'Traceback' not in dev_server.log()


class Catch(logging.Handler):
    """Every record of the portal's loggers (a test that loaded an ini's logging
    configuration may have stopped them from reaching the root logger)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_tokens_never_reach_the_log(app, client):
    token = 'Zx9-secret-token-value'
    catch, logger = Catch(), logging.getLogger('canonportal')
    level = logger.level
    logger.addHandler(catch)
    logger.setLevel(logging.DEBUG)
    try:
        with nothing_changes(app):
            for path in ('restablecer', 'activar', 'confirmar-correo', 'bienvenida',
                         '@@bienvenida'):
                client.post(f'/{path}/{token}', {'password': 'x', 'csrf_token': 'forged'},
                            status=400)
    finally:
        logger.removeHandler(catch)
        logger.setLevel(level)
    logged = '\n'.join(r.getMessage() for r in catch.records)
    assert 'bad CSRF token' in logged
    assert token not in logged


def test_loggable_masks_only_the_token():
    assert loggable('/restablecer/abc123') == '/restablecer/***'
    assert loggable('/bienvenida/abc123') == '/bienvenida/***'
    assert loggable('/@@bienvenida/abc123/') == '/@@bienvenida/***/'
    assert loggable('/activar/abc/más') == '/activar/***/más'
    assert loggable('/customers/CME930812PW3/saldos') == '/customers/CME930812PW3/saldos'


@pytest.mark.parametrize('host', ['evil.example', 'evil.example:80', 'portal.example.mx.evil.example',
                                  'bad host'])
def test_a_foreign_host_is_refused_and_never_reflected(app, host):
    stranger = Client(app, extra_environ={'HTTP_HOST': host})
    with nothing_changes(app):
        answers = (stranger.get('/', status='*'), stranger.get('/activar/x', status='*'),
                   stranger.post('/login', {'login': 'x'}, status='*'))
    for answer in answers:
        assert answer.status_int == 400
        assert 'evil' not in answer.text and 'evil' not in str(answer.headers)


def test_the_configured_hosts_are_the_only_ones(app):
    from canonportal.paths import allowed_hosts, host_name
    assert allowed_hosts({'canonportal.public_url': 'https://portal.example.mx'}) == {
        'portal.example.mx', 'localhost', '127.0.0.1', '[::1]'}
    assert allowed_hosts({'canonportal.allowed_hosts': 'Portal.Canon.mx'}) == {'portal.canon.mx'}
    assert host_name('Portal.Example.MX:443') == 'portal.example.mx'
    assert host_name('x/y') is None and host_name('a:b') is None
