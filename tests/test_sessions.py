"""The session cookie as a browser and an attacker see it: its format is Pyramid's own, a
remembered signature never lets a forged cookie through, and what one request does to its
session is not seen by the next request carrying the same cookie."""
import base64

from pyramid.session import JSONSerializer
from webob.cookies import RequestCookies, SignedSerializer

from canonportal.request import (
    MAX_REMEMBERED_COOKIES, MAX_REMEMBERED_HEADER, REMEMBERED_HEADERS, PortalRequest, _parsed)
from canonportal.sessions import HASHALG, REMEMBERED, SALT, VerifiedCookies
from portal_support import BASE_SETTINGS, IXTAPA

SECRET = BASE_SETTINGS['canonportal.session_secret']
SALDOS = f'/customers/{IXTAPA}/saldos'


def pyramids_own():
    """What Pyramid's SignedCookieSessionFactory signs and reads (the format before)."""
    return SignedSerializer(SECRET, SALT, HASHALG, serializer=JSONSerializer())


def test_the_portals_session_cookie_is_pyramids_format_both_ways(client):
    client.sign_in_active(rfc=IXTAPA)
    issued = client.cookies['canonportal'].strip('"')
    _renewed, _created, state = pyramids_own().loads(issued.encode('ascii'))
    assert state['uid'] == f'customer-user:{IXTAPA}'
    # A cookie signed the way Pyramid did before this serializer (sessions open at an
    # upgrade) still opens the customer's pages.
    again = pyramids_own().dumps(pyramids_own().loads(issued.encode('ascii'))).decode('ascii')
    client.set_cookie('canonportal', again)
    assert client.get(SALDOS).status_int == 200


def test_a_forged_cookie_is_refused_even_after_the_real_one_was_remembered(client, other_client):
    client.sign_in_active(rfc=IXTAPA)
    real = client.cookies['canonportal'].strip('"')
    assert client.get(SALDOS).status_int == 200          # its signature is now remembered
    raw = base64.urlsafe_b64decode(real + '=' * (-len(real) % 4))
    signature, payload = raw[:64], raw[64:]
    forged_payload = payload.replace(IXTAPA.encode(), b'CME930812PW3')
    forgeries = [
        real[:-3] + ('AAA' if real[-3:] != 'AAA' else 'BBB'),             # another signature
        base64.urlsafe_b64encode(signature + forged_payload).decode().rstrip('='),  # another user
        SignedSerializer('another-secret-' + 'y' * 40, SALT, HASHALG,
                         serializer=JSONSerializer()).dumps(pyramids_own().loads(real.encode())).decode(),
    ]
    for forged in forgeries:
        other_client.set_cookie('canonportal', forged)
        answer = other_client.get(SALDOS)
        assert answer.status_int == 302 and answer.location.endswith('/'), forged
    assert client.get(SALDOS).status_int == 200          # the real one still works


def test_a_refused_cookie_is_not_remembered_and_the_memory_is_bounded():
    cookies = VerifiedCookies(SECRET)
    good = cookies.dumps([1.0, 1.0, {'uid': 'u'}])
    assert cookies.loads(good) == [1.0, 1.0, {'uid': 'u'}]
    for number in range(50):
        bad = good[:-6] + f'{number:06d}'.encode()
        try:
            cookies.loads(bad)
        except ValueError:
            pass
        else:  # pragma: no cover - a forged signature must never pass
            raise AssertionError(bad)
    assert cookies._verified.cache_info().currsize == 1
    for number in range(REMEMBERED + 10):
        cookies.loads(cookies.dumps([1.0, 1.0, {'n': number}]))
    assert cookies._verified.cache_info().currsize == REMEMBERED


def test_what_a_request_changes_in_its_session_is_not_seen_by_the_next_one_with_that_cookie():
    cookies = VerifiedCookies(SECRET)
    cookie = cookies.dumps([1.0, 1.0, {'_f_': ['Pago 228 aplicado'], 'uid': 'u'}])
    first = cookies.loads(cookie)
    first[2]['_f_'].pop()            # the flash message shown and taken by one request
    first[2]['uid'] = 'someone else'
    assert cookies.loads(cookie) == [1.0, 1.0, {'_f_': ['Pago 228 aplicado'], 'uid': 'u'}]


def test_the_requests_cookies_are_webobs_parse_read_only_and_bounded():
    long = 'x=' + 'y' * (MAX_REMEMBERED_HEADER + 10)
    many = '; '.join(f'c{number}=v' for number in range(MAX_REMEMBERED_COOKIES + 2))
    for header in ['canonportal=abc; lang=en', 'lang="es"; a=1; a=2', ' b = 3 ;c=', '', long, many]:
        request = PortalRequest.blank('/', headers={'Cookie': header} if header else {})
        assert dict(request.cookies) == dict(RequestCookies({'HTTP_COOKIE': header}))
        try:
            request.cookies['lang'] = 'fr'
        except TypeError:
            pass
        else:  # pragma: no cover
            raise AssertionError('cookies must be read-only')
    # Neither a long header nor one of many cookies is remembered: what anyone sends can
    # hold only a few MB of the process.
    _parsed.cache_clear()
    for header in (long, many):
        assert PortalRequest.blank('/', headers={'Cookie': header}).cookies['c1' if header is many else 'x']
    assert _parsed.cache_info().currsize == 0
    for number in range(REMEMBERED_HEADERS + 10):
        assert PortalRequest.blank('/', headers={'Cookie': f'n={number}'}).cookies['n'] == str(number)
    assert _parsed.cache_info().currsize == REMEMBERED_HEADERS
