"""The portal behind Debian's nginx with deploy/'s site, as an operator installs it: HTTPS,
HSTS, the redirect from HTTP, a slow-loris that does not stop other requests, bodies over
the limit refused by the proxy, unknown hosts refused (issue 11); every spelling of a URL
under the same rule, the scripts' endpoints closed even to a proxy without that rule, the
health check for the load balancer only, Mozilla's intermediate TLS, no version in the
Server header (issue 20).

Requests whose path must reach nginx exactly as written (``//login``, ``/./reconciliar``)
go through http.client, which does not normalise paths; those that must come from another
client address bind a source address in 127.0.0.0/8 (nginx listens on all of them).

Skipped without nginx, unless CANONPORTAL_TEST_NGINX=1 (.ci/run) makes it mandatory.
"""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from benchmarks import proxy
from server_support import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
REQUIRED = os.environ.get('CANONPORTAL_TEST_NGINX') == '1'

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(not os.path.exists(NGINX) and not REQUIRED,
                       reason='nginx is not installed (.ci/run installs Debian nginx-light)'),
]


#: Debian's /etc/nginx/nginx.conf allows these in its http block: the site must override them.
DEBIAN_HTTP_DEFAULTS = ('    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n'
                        '    ssl_prefer_server_ciphers on;\n')
#: The rule that keeps the scripts' endpoints from the outside, as the site writes it.
INTERNAL_RULE = ('location ~ ^/(@@)?(reconciliar|empaquetar|alta-personal|notificar)(/|$) {\n'
                 '        return 404;\n    }')


def render_site(folder, http_port, https_port, app_port, drop_internal_rule=False):
    """deploy/nginx/canonportal.conf with this test's ports, host and certificate, as the
    benchmarks render it, under Debian's http-level TLS defaults; make run's portal has no
    sign-in lane, so /login goes to its one waitress."""
    proxy.render(folder, https_port, http_port, app_port, app_port,
                 drop=(INTERNAL_RULE,) if drop_internal_rule else (),
                 http_extra=DEBIAN_HTTP_DEFAULTS, worker_connections=1024)


def start_nginx(folder, https_port):
    nginx = subprocess.Popen([NGINX, '-p', str(folder), '-c', str(folder / 'nginx.conf'),
                              '-g', 'daemon off;'], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', https_port), timeout=1).close()
            return nginx
        except OSError:
            assert nginx.poll() is None, nginx.stderr.read().decode()
            time.sleep(0.1)
    raise AssertionError('nginx did not listen')


def stop_nginx(nginx):
    nginx.terminate()
    nginx.wait(timeout=10)


def make_certificate(folder):
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=localhost', '-keyout', str(folder / 'privkey.pem'),
                    '-out', str(folder / 'fullchain.pem')], check=True, capture_output=True)


@pytest.fixture(scope='module')
def proxied(tmp_path_factory, dev_server):
    folder = tmp_path_factory.mktemp('nginx')
    make_certificate(folder)
    http_port, https_port = free_port(), free_port()
    render_site(folder, http_port, https_port, dev_server.port)
    nginx = start_nginx(folder, https_port)
    yield {'https': f'https://localhost:{https_port}', 'http': f'http://localhost:{http_port}',
           'port': https_port, 'http_port': http_port}
    stop_nginx(nginx)


def test_pages_come_over_https_with_hsts_and_http_is_redirected(proxied):
    page = httpx.get(proxied['https'] + '/', verify=False, timeout=10)
    assert page.status_code == 200 and 'Iniciar sesión' in page.text
    assert page.headers['Strict-Transport-Security'].startswith('max-age=31536000')
    assert 'Content-Security-Policy' in page.headers
    plain = httpx.get(proxied['http'] + '/saldos', timeout=10)
    assert plain.status_code == 301 and plain.headers['location'].startswith('https://localhost')


def test_a_slow_loris_does_not_stop_a_normal_request(proxied):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    slow = []
    try:
        for _ in range(150):
            raw = socket.create_connection(('127.0.0.1', proxied['port']), timeout=5)
            sock = context.wrap_socket(raw, server_hostname='localhost')
            sock.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ')   # never finished
            slow.append(sock)
        started = time.monotonic()
        page = httpx.get(proxied['https'] + '/', verify=False, timeout=10)
        assert page.status_code == 200
        assert time.monotonic() - started < 2.0
    finally:
        for sock in slow:
            sock.close()


def test_a_50_mb_body_is_refused_by_the_proxy(proxied):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(('127.0.0.1', proxied['port']), timeout=10)
    with context.wrap_socket(raw, server_hostname='localhost') as sock:
        sock.sendall(b'POST /login HTTP/1.1\r\nHost: localhost\r\n'
                     b'Content-Type: application/x-www-form-urlencoded\r\n'
                     + f'Content-Length: {50 * 1024 * 1024}\r\n\r\n'.encode() + b'a' * 65536)
        assert sock.recv(100).startswith(b'HTTP/1.1 413')


def test_an_unknown_host_is_refused(proxied):
    with pytest.raises(httpx.HTTPError):
        httpx.get(proxied['https'] + '/', headers={'Host': 'evil.example'}, verify=False, timeout=5)


# -- issue 20: every spelling under one rule, the scripts' endpoints, health, TLS ------------

def _tls_context(**settings):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for name, value in settings.items():
        setattr(context, name, value)
    return context


def send(port, method, path, headers=None, body=None, source='127.0.0.1', tls=True):
    """One request with ``path`` exactly as given, from ``source``; (status, headers, text)."""
    if tls:
        connection = http.client.HTTPSConnection('127.0.0.1', port, timeout=10,
                                                 source_address=(source, 0), context=_tls_context())
    else:
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=10,
                                                source_address=(source, 0))
    try:
        headers = {'Host': 'localhost', **(headers or {})}
        if body is not None:
            headers.setdefault('Content-Type', 'application/x-www-form-urlencoded')
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode('utf-8', 'replace')
    finally:
        connection.close()


def script_tokens(server, script):
    """The header ``script`` (canonportal-reconcile, -pack, -adduser) sends, with the
    server's token."""
    from pyramid.paster import get_appsettings

    from canonportal.localonly import TOKEN_HEADER, script_token
    settings = get_appsettings(str(server.ini), name='main', options={'http_port': str(server.port)})
    return {TOKEN_HEADER: script_token(settings, script)}


#: Each endpoint of the console scripts, the script that asks it, and what it is sent.
ENDPOINTS = {'reconciliar': ('canonportal-reconcile', ''),
             'empaquetar': ('canonportal-pack', 'days=0'),
             'alta-personal': ('canonportal-adduser',
                               'username=mallory&role=admin&password=una+frase+larga+de+mallory'),
             'notificar': ('canonportal-notify', 'today=2017-11-06')}


def spellings(name):
    return [f'/{name}', f'/@@{name}', f'/{name}/', f'/@@{name}/', f'/{name}/x', f'//{name}',
            f'/./{name}', f'/static/../{name}', '/%40%40' + name, f'/{name}%2F']


def test_the_scripts_endpoints_are_refused_under_every_spelling(proxied, dev_server):
    for name, (script, body) in ENDPOINTS.items():
        tokens = script_tokens(dev_server, script)
        for path in spellings(name):
            status, _, text = send(proxied['port'], 'POST', path, tokens, body=body)
            assert status == 404, (path, status)
            assert not any(word in text for word in ('reconciled', 'packed', 'staff user',
                                                     'notified')), path
    assert not (dev_server.folder / 'var' / 'Data.fs.old').exists()       # never packed
    assert 'staff user' not in dev_server.log()                           # nobody was made


def test_without_the_proxy_rule_the_app_still_refuses_what_a_proxy_forwards(
        tmp_path_factory, proxied, dev_server):
    """Whatever the proxy lets through: deploy/'s site without its rule for the scripts'
    endpoints passes them on, and the app answers its 404 page (the request came through a
    proxy); straight to waitress from this machine, as the scripts ask, the token works."""
    folder = tmp_path_factory.mktemp('nginx-without-rule')
    make_certificate(folder)
    http_port, https_port = free_port(), free_port()
    render_site(folder, http_port, https_port, dev_server.port, drop_internal_rule=True)
    nginx = start_nginx(folder, https_port)
    try:
        for path in ('/reconciliar', '/@@reconciliar/', '/empaquetar', '/%40%40empaquetar',
                     '/alta-personal', '/@@alta-personal/'):
            script, body = ENDPOINTS[path.strip('/').removeprefix('@@').removeprefix('%40%40')]
            status, _, text = send(https_port, 'POST', path, script_tokens(dev_server, script),
                                   body=body)
            assert status == 404 and 'Página no encontrada' in text, (path, status, text[:200])
    finally:
        stop_nginx(nginx)
    assert 'not straight from this machine' in dev_server.log()
    assert 'staff user' not in dev_server.log()
    status, _, text = send(dev_server.port, 'POST', '/reconciliar',
                           script_tokens(dev_server, 'canonportal-reconcile'), tls=False)
    assert status == 200 and text.startswith('reconciled: '), text


@pytest.mark.parametrize('method, path, source', [
    ('POST', '/@@login', '127.0.0.3'),
    ('POST', '/login/', '127.0.0.4'),
    ('POST', '/%40%40login', '127.0.0.5'),
    ('POST', '//login/x', '127.0.0.6'),
    ('POST', '/@@recuperar-contrasena/', '127.0.0.7'),
])
def test_every_spelling_of_the_sign_in_is_rate_limited(proxied, method, path, source):
    """30 sign-ins at once from one address, under one spelling: the later ones get 429
    from the proxy (each test from its own address: the limit is per address)."""
    statuses = [send(proxied['port'], method, path, body='login=x&password=y', source=source)[0]
                for _ in range(30)]
    assert statuses[0] != 429 and statuses[-1] == 429, statuses
    # Another address is not held back.
    assert send(proxied['port'], method, path, body='login=x&password=y', source='127.0.0.8')[0] != 429


def test_the_server_header_names_no_version(proxied, dev_server):
    for port, path, tls in ((proxied['port'], '/', True), (proxied['port'], '/reconciliar', True),
                            (proxied['http_port'], '/saldos', False)):
        status, headers, text = send(port, 'GET', path, tls=tls)
        assert headers['Server'] == 'nginx', (path, headers['Server'])
        assert not re.search(r'nginx/\d', text)


def test_the_health_check_answers_only_the_load_balancer(proxied):
    status, _, text = send(proxied['port'], 'GET', '/salud')
    assert (status, text) == (200, 'ok\n')
    for path in ('/salud', '//salud', '/salud?x=1'):
        status, _, text = send(proxied['port'], 'GET', path, source='127.0.0.9')
        assert status == 403 and 'ok' not in text, (path, status)


def _handshake(port, server_name='localhost', **settings):
    raw = socket.create_connection(('127.0.0.1', port), timeout=5)
    with _tls_context(**settings).wrap_socket(raw, server_hostname=server_name) as sock:
        return sock.version(), sock.cipher()[0], sock.session


@pytest.mark.parametrize('server_name', ['localhost', 'unknown.example'])
def test_tls_offers_only_mozillas_intermediate_suites(proxied, server_name):
    tls12 = {'maximum_version': ssl.TLSVersion.TLSv1_2}
    version, cipher, _ = _handshake(proxied['port'], server_name, **tls12)
    assert version == 'TLSv1.2' and cipher.startswith('ECDHE-')
    for outside in ('AES128-GCM-SHA256', 'AES256-SHA256', 'ECDHE-RSA-AES128-SHA'):
        context = _tls_context(**tls12)
        context.set_ciphers(outside)
        raw = socket.create_connection(('127.0.0.1', proxied['port']), timeout=5)
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname=server_name).close()
        raw.close()


def test_tls_sessions_get_no_ticket(proxied):
    _, _, session = _handshake(proxied['port'], maximum_version=ssl.TLSVersion.TLSv1_2)
    assert session is not None and not session.has_ticket
