"""The portal behind Debian's nginx with deploy/'s site, as an operator installs it: HTTPS,
HSTS, the redirect from HTTP, a slow-loris that does not stop other requests, bodies over
the limit refused by the proxy, unknown hosts refused (issue 11).

Skipped without nginx, unless CANONPORTAL_TEST_NGINX=1 (.ci/run) makes it mandatory.
"""
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from server_support import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
REQUIRED = os.environ.get('CANONPORTAL_TEST_NGINX') == '1'

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(not os.path.exists(NGINX) and not REQUIRED,
                       reason='nginx is not installed (.ci/run installs Debian nginx-light)'),
]


def render_site(folder, http_port, https_port, app_port):
    """deploy/nginx/canonportal.conf with this test's ports, host and certificate."""
    site = (ROOT / 'deploy/nginx/canonportal.conf').read_text()
    site = site.replace('listen 80', f'listen {http_port}').replace('listen 443', f'listen {https_port}')
    site = site.replace('127.0.0.1:6543', f'127.0.0.1:{app_port}')
    site = site.replace('127.0.0.1:6544', f'127.0.0.1:{app_port}')    # development.ini: no sign-in lane
    site = site.replace('pagosenlinea.canon.com.mx', 'localhost')
    site = site.replace('/etc/ssl/canonportal/', f'{folder}/')
    # No IPv6 in every sandbox.
    site = '\n'.join(line for line in site.splitlines() if 'listen [::]' not in line)
    (folder / 'site.conf').write_text(site)
    user = 'user root;\n' if os.geteuid() == 0 else ''
    temp = ''.join(f'    {kind}_temp_path {folder}/{kind};\n'
                   for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    (folder / 'nginx.conf').write_text(
        f'{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n'
        f'events {{ worker_connections 1024; }}\n'
        f'http {{\n    access_log off;\n{temp}    include {folder}/site.conf;\n}}\n')


@pytest.fixture(scope='module')
def proxied(tmp_path_factory):
    from devserver_support import start_dev_server
    folder = tmp_path_factory.mktemp('nginx')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=localhost', '-keyout', str(folder / 'privkey.pem'),
                    '-out', str(folder / 'fullchain.pem')], check=True, capture_output=True)
    portal = start_dev_server(tmp_path_factory.mktemp('portal'))
    http_port, https_port = free_port(), free_port()
    render_site(folder, http_port, https_port, portal.port)
    nginx = subprocess.Popen([NGINX, '-p', str(folder), '-c', str(folder / 'nginx.conf'),
                              '-g', 'daemon off;'], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', https_port), timeout=1).close()
            break
        except OSError:
            assert nginx.poll() is None, nginx.stderr.read().decode()
            time.sleep(0.1)
    yield {'https': f'https://localhost:{https_port}', 'http': f'http://localhost:{http_port}',
           'port': https_port}
    nginx.terminate()
    nginx.wait(timeout=10)
    portal.stop()


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
