"""``/salud``: what the load balancer asks before sending a customer to this server."""
from portal_support import Client, database_of, make_app


def test_a_serving_portal_answers_ok_without_a_cookie(client):
    response = client.get('/salud')
    assert response.status_int == 200
    assert response.text == 'ok\n'
    assert response.content_type == 'text/plain'
    assert 'Set-Cookie' not in response.headers
    # The security headers still apply, and nothing may be cached.
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    assert response.headers['Cache-Control'] == 'no-store'
    assert client.head('/salud').status_int == 200


def test_a_signed_in_browser_gets_no_new_session_cookie(client):
    client.sign_in_active()
    assert client.get('/salud').headers.get('Set-Cookie') is None


def test_a_closed_database_answers_503_unavailable(app):
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    database_of(app).close()
    response = client.get('/salud', status=503)
    assert response.text == 'unavailable\n'
    assert 'Set-Cookie' not in response.headers


def test_a_database_without_the_portal_answers_503(tmp_path):
    app = make_app(**{'zodbconn.uri': f'file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs'})
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert client.get('/salud', status=503).text == 'unavailable\n'
