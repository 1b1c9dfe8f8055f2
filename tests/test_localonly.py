"""The console scripts' endpoints answer only straight from this machine (issue 20).

``/reconciliar``, ``/empaquetar``, ``/alta-personal`` and ``/notificar`` take a token, but a token is not
all: whatever the
proxy in front lets through, and under every spelling Pyramid answers (``/name``,
``/@@name``, ``/name/``, ``/name/anything``), a request that did not come from loopback
to waitress itself, or that a proxy forwarded, gets our 404 page and changes nothing.
"""
import os

import pytest
import webtest

from canonportal import localonly
from canonportal.localonly import ADDUSER, NOTIFY, PACK, RECONCILE, TOKEN_HEADER, script_token
from payment_support import accept, confirmation, misbehave, receipts, state_of
from portal_support import Client, nothing_changes, with_root

HOST = 'portal.example.mx'
NOT_FOUND = 'Página no encontrada'
INTERNAL = {('PortalRoot', 'reconciliar'), ('PortalRoot', 'empaquetar'),
            ('PortalRoot', 'alta-personal'), ('PortalRoot', 'notificar')}
STAFF_PASSWORD = 'la mesa de tesorería abre a las nueve'


def token(app, script):
    return {TOKEN_HEADER: script_token(app.registry.settings, script)}


def spellings(name):
    return [f'/{name}', f'/@@{name}', f'/{name}/', f'/@@{name}/', f'/{name}/x/y', f'//{name}',
            f'/./{name}', f'/customers/../{name}']


#: How a request from outside looks to the app: (REMOTE_ADDR, extra headers).
FROM_OUTSIDE = [
    ('203.0.113.7', {}),                                    # behind trusted_proxy: the client
    ('10.0.0.5', {}),                                       # a load balancer straight to waitress
    ('::ffff:10.0.0.5', {}),
    (None, {}),                                             # no peer address at all
    ('127.0.0.1', {'X-Forwarded-For': '203.0.113.7'}),      # a proxy on this machine
    ('127.0.0.1', {'X-Forwarded-For': '127.0.0.1'}),
    ('127.0.0.1', {'X-Real-IP': '203.0.113.7'}),            # deploy/'s nginx, untrusted XFF dropped
    ('127.0.0.1', {'Forwarded': 'for=203.0.113.7'}),
    ('127.0.0.1', {'X-Forwarded-Host': HOST}),
    ('::1', {'Via': '1.1 lb'}),
]


def client_from(app, remote_addr):
    environ = {'HTTP_HOST': HOST}
    if remote_addr is not None:
        environ['REMOTE_ADDR'] = remote_addr
    return webtest.TestApp(app, extra_environ=environ)


@pytest.mark.parametrize('address, expected', [
    ('127.0.0.1', True), ('127.8.9.10', True), ('::1', True), ('[::1]', True),
    ('::ffff:127.0.0.1', True), ('localhost', True),
    ('10.0.0.5', False), ('203.0.113.7', False), ('::ffff:10.0.0.5', False), ('[2001:db8::1]', False),
    ('', False), (None, False), ('127.0.0.1, 10.0.0.5', False), ('localhost.evil', False),
])
def test_loopback_addresses(address, expected):
    assert localonly.is_loopback(address) is expected


def test_the_script_endpoints_are_exactly_the_local_only_views(app):
    local = set()
    for item in app.registry.introspector.get_category('views'):
        view = item['introspectable']
        if view.get('local_only'):
            local.add((getattr(view['context'], '__name__', None), view['name']))
    assert local == INTERNAL


@pytest.fixture
def lost_payment(payer, portal, banks, frozen_clock):
    """Payment 229 approved at Citibanamex whose notification was lost: what a reconcile
    run would settle (and mail the receipt of)."""
    misbehave(banks, 'banamex', 'drop', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'banamex', {'6212976': None})))
    frozen_clock.advance(minutes=10)
    assert state_of(portal, '229') == 'pending'
    return '229'


@pytest.mark.parametrize('remote_addr, headers', FROM_OUTSIDE)
def test_reconciliar_from_outside_is_not_found_under_every_spelling(
        portal, portal_mailer, lost_payment, remote_addr, headers):
    outsider = client_from(portal, remote_addr)
    with nothing_changes(portal):
        for path in spellings('reconciliar'):
            answer = outsider.post(path, headers=dict(token(portal, RECONCILE), **headers),
                                   status='*')
            assert answer.status_int == 404 and NOT_FOUND in answer.text, path
            assert 'reconciled' not in answer.text
    assert state_of(portal, lost_payment) == 'pending'
    assert receipts(portal_mailer) == []


def test_reconciliar_straight_from_loopback_settles_the_lost_payment(portal, portal_mailer, lost_payment):
    script = client_from(portal, '127.0.0.1')
    # The script's own headers (Host and X-Forwarded-Proto of the public URL) are not a proxy's.
    answer = script.post('/reconciliar',
                         headers=dict(token(portal, RECONCILE), **{'X-Forwarded-Proto': 'https'}))
    assert f'payment {lost_payment}: approved' in answer.text
    assert state_of(portal, lost_payment) == 'approved'
    assert [m.subject for m in receipts(portal_mailer)] == [f'Recibo de pago {lost_payment}']


@pytest.mark.parametrize('address', ['::1', '[::1]', '127.0.0.2', '::ffff:127.0.0.1'])
def test_reconciliar_answers_every_loopback_address(portal, address):
    answer = client_from(portal, address).post('/@@reconciliar/', headers=token(portal, RECONCILE))
    assert answer.text.startswith('reconciled: ')


def test_a_wrong_token_from_loopback_is_still_refused(portal, portal_mailer, lost_payment):
    script = client_from(portal, '127.0.0.1')
    with nothing_changes(portal):
        assert script.post('/reconciliar', headers={TOKEN_HEADER: 'x' * 64},
                           status=403).text == 'forbidden\n'
        # Another script's token is not this one's.
        for other in (PACK, ADDUSER):
            assert script.post('/reconciliar', headers=token(portal, other), status=403)
    assert state_of(portal, lost_payment) == 'pending'


def _packed_copy(app):
    """True once the FileStorage was packed (FileStorage keeps the old file as Data.fs.old)."""
    storage = app.registry._zodb_databases[''].storage  # noqa: SLF001
    return os.path.exists(storage._file_name + '.old')  # noqa: SLF001


@pytest.mark.parametrize('remote_addr, headers', FROM_OUTSIDE)
def test_empaquetar_from_outside_is_not_found_under_every_spelling(app, remote_addr, headers):
    outsider = client_from(app, remote_addr)
    with nothing_changes(app):
        for path in spellings('empaquetar'):
            answer = outsider.post(path, {'days': '0'}, headers=dict(token(app, PACK), **headers),
                                   status='*')
            assert answer.status_int == 404 and NOT_FOUND in answer.text, path
    assert not _packed_copy(app)


@pytest.mark.parametrize('days', ['', '-1', 'x', '99999'])
def test_empaquetar_with_the_token_but_a_bad_number_of_days_packs_nothing(app, days):
    with nothing_changes(app):
        answer = client_from(app, '127.0.0.1').post('/empaquetar', {'days': days},
                                                    headers=token(app, PACK), status=400)
    assert answer.text.startswith('days must be a whole number')
    assert not _packed_copy(app)


def test_empaquetar_straight_from_loopback_packs(app):
    answer = client_from(app, '127.0.0.1').post('/empaquetar', {'days': '0'},
                                                headers=token(app, PACK))
    assert answer.text.startswith('packed, keeping 0 days of history')
    assert _packed_copy(app)


# -- /alta-personal: canonportal-adduser while the portal serves ----------------------------

def staff_and_audit(app):
    """What an /alta-personal request may change: the staff accounts and the audit log."""
    return with_root(app, lambda root: (
        {name: (user.role, user.password_hash) for name, user in root.staff.items()},
        len(list(root.audit_log.search()))))


ALICE = {'username': 'Alice', 'role': 'admin', 'email': 'alice@canon.com.mx',
         'password': STAFF_PASSWORD}


@pytest.mark.parametrize('remote_addr, headers', FROM_OUTSIDE)
def test_alta_personal_from_outside_is_not_found_under_every_spelling(app, remote_addr, headers):
    before = staff_and_audit(app)
    outsider = client_from(app, remote_addr)
    for path in spellings('alta-personal'):
        answer = outsider.post(path, ALICE, headers=dict(token(app, ADDUSER), **headers),
                               status='*')
        assert answer.status_int == 404 and NOT_FOUND in answer.text, path
        assert 'staff user' not in answer.text
    assert staff_and_audit(app) == before


@pytest.mark.parametrize('wrong', [None, 'x' * 64, RECONCILE, PACK])
def test_alta_personal_without_its_own_token_is_refused_and_changes_nothing(app, wrong):
    before = staff_and_audit(app)
    headers = {} if wrong is None else (
        {TOKEN_HEADER: wrong} if wrong.startswith('x') else token(app, wrong))
    answer = client_from(app, '127.0.0.1').post('/alta-personal', ALICE, headers=headers,
                                                status=403)
    assert answer.text == 'forbidden\n'
    assert staff_and_audit(app) == before


def test_alta_personal_straight_from_loopback_makes_an_account_that_signs_in(app):
    answer = client_from(app, '127.0.0.1').post('/alta-personal', ALICE, headers=token(app, ADDUSER))
    assert answer.text == 'created staff user alice (admin)\n'
    assert STAFF_PASSWORD not in answer.text
    audit = with_root(app, lambda root: [(e.actor, e.action) for e in root.audit_log.search()
                                         if e.action.startswith('staff.')])
    assert audit == [('console:canonportal-adduser', 'staff.created')]
    browser = Client(app, extra_environ={'HTTP_HOST': HOST})
    signed_in = browser.login('alice', STAFF_PASSWORD)
    assert signed_in.status_int == 303 and signed_in.location.endswith('/manage')
    assert 'Panel del personal' in browser.get('/manage').text


@pytest.mark.parametrize('change, reason', [
    ({'password': 'corta'}, '12 caracteres'),
    ({'password': 'x' * 1025 + ' frase'}, 'demasiado larga'),
    ({'username': 'cme930812pw3'}, 'RFC de un cliente'),
    ({'username': 'ana maría'}, 'El usuario debe tener'),
    ({'username': 'a' * 65}, 'El usuario debe tener'),
    ({'role': 'root'}, 'Elija un rol'),
    ({'email': 'no es un correo'}, 'correo electrónico válido'),
])
def test_alta_personal_checks_everything_again_and_refuses_without_a_change(app, change, reason):
    """The portal does not trust that the script checked: a bad request is a 400 that says
    why, with nothing written."""
    before = staff_and_audit(app)
    answer = client_from(app, '127.0.0.1').post('/alta-personal', dict(ALICE, **change),
                                                headers=token(app, ADDUSER), status=400)
    assert reason in answer.text
    assert staff_and_audit(app) == before


# -- /notificar: canonportal-notify while the portal serves ----------------------------------

@pytest.mark.parametrize('remote_addr, headers', FROM_OUTSIDE[:4] + FROM_OUTSIDE[-2:])
def test_notificar_from_outside_is_not_found_under_every_spelling(app, remote_addr, headers):
    outsider = client_from(app, remote_addr)
    with nothing_changes(app):
        for path in spellings('notificar'):
            answer = outsider.post(path, {'today': '2017-11-06'},
                                   headers=dict(token(app, NOTIFY), **headers), status='*')
            assert answer.status_int == 404 and NOT_FOUND in answer.text, path


def test_notificar_needs_its_own_token_and_a_real_day(app):
    script = client_from(app, '127.0.0.1')
    with nothing_changes(app):
        for other in (RECONCILE, PACK, ADDUSER):
            script.post('/notificar', {'today': '2017-11-06'}, headers=token(app, other),
                        status=403)
        for day in ('2017-13-01', '1999-12-31', 'x' * 5000):
            answer = script.post('/notificar', {'today': day}, headers=token(app, NOTIFY),
                                 status=400)
            assert answer.text.startswith('today must be a date')


def test_notificar_straight_from_loopback_mails_the_days_reminders(app, mailer):
    script = client_from(app, '127.0.0.1')
    answer = script.post('/@@notificar/', {'today': '2017-11-06'}, headers=token(app, NOTIFY))
    assert answer.text.startswith('notified: ') and 'reminder mails: 3' in answer.text
    assert len(mailer.outbox) == 5
    again = script.post('/notificar', {'today': '2017-11-06'}, headers=token(app, NOTIFY))
    assert again.text.strip() == 'notified: nothing to send' and len(mailer.outbox) == 5
