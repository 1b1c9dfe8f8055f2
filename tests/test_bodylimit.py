"""Request bodies bounded by what a request legitimately needs (issue 11)."""
import socket
import time

import httpx
import pytest

from portal_support import CANON, GOOD_PASSWORD, Client, add_staff_user, last_form, nothing_changes

BIG = 2 * 1024 * 1024


def test_an_anonymous_post_over_the_limit_is_refused_with_our_page(app, client):
    with nothing_changes(app):
        refused = client.post('/login', b'login=x&password=' + b'a' * BIG, status=413,
                              content_type='application/x-www-form-urlencoded')
    assert 'demasiado grande' in refused.text
    assert refused.headers['Content-Security-Policy']


def test_a_customer_post_over_the_limit_is_refused(app, client):
    client.sign_in_active()
    with nothing_changes(app):
        for page in ('saldos', 'pagar'):
            refused = client.post(f'/customers/{CANON}/{page}', b'pick=' + b'1' * BIG,
                                  status=413, content_type='application/x-www-form-urlencoded')
    assert 'demasiado grande' in refused.text


def test_the_staff_upload_limit_is_only_for_signed_in_staff(app, client):
    add_staff_user(app, 'oscar', role='operator')
    body = b'x' * BIG
    # Anonymous, or a customer: the small limit applies under /manage too.
    with nothing_changes(app):
        client.post('/manage/@@importar', body, status=413,
                    content_type='application/octet-stream')
    client.sign_in_active()
    staff = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    page = last_form(staff.get('/'))
    page['login'], page['password'] = 'oscar', GOOD_PASSWORD
    page.submit()
    with nothing_changes(app):
        client.post('/manage/@@importar', body, status=413,
                    content_type='application/octet-stream')
        # Past the size check: refused for what it is (no CSRF token), not for its size.
        assert staff.post('/manage/@@importar', body, status='*',
                          content_type='application/octet-stream').status_int == 400


def post_huge_body(base_port, length, send_at_most):
    """POST ``length`` declared bytes, sending at most ``send_at_most``; the status line."""
    with socket.create_connection(('127.0.0.1', base_port), timeout=10) as sock:
        sock.sendall(b'POST /login HTTP/1.1\r\nHost: localhost\r\n'
                     b'Content-Type: application/x-www-form-urlencoded\r\n'
                     + f'Content-Length: {length}\r\n\r\n'.encode())
        chunk = b'a' * (1024 * 1024)
        sent = 0
        while sent < send_at_most:
            try:
                sock.sendall(chunk)
            except OSError:
                break          # the server closed: it refused without reading
            sent += len(chunk)
        sock.settimeout(10)
        try:
            return sock.recv(200).split(b'\r\n', 1)[0].decode()
        except OSError:
            return 'closed'


def test_a_400_mb_anonymous_post_does_not_grow_the_server(dev_server):
    before = dev_server.peak_rss_kb()
    status = post_huge_body(dev_server.port, 400 * 1024 * 1024, 64 * 1024 * 1024)
    assert status.startswith('HTTP/1.1 413') or status == 'closed', status
    time.sleep(0.5)
    grown_mb = (dev_server.peak_rss_kb() - before) / 1024
    assert grown_mb < 40, grown_mb          # was 168 -> 1,359 MB
    assert httpx.get(dev_server.url('/'), timeout=5).status_code == 200
