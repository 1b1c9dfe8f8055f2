"""The console scripts' endpoints answer only straight from this machine (issue 20).

``/reconciliar`` and ``/empaquetar`` take a token, but a token is not all: whatever the
proxy in front lets through, and under every spelling Pyramid answers (``/name``,
``/@@name``, ``/name/``, ``/name/anything``), a request that did not come from loopback
to waitress itself, or that a proxy forwarded, gets our 404 page and changes nothing.
"""
import os

import pytest
import webtest

from canonportal import localonly, packing
from canonportal.payments.reconciliation import TOKEN_HEADER, reconcile_token
from portal_support import nothing_changes
from payment_support import accept, confirmation, misbehave, receipts, state_of

HOST = 'portal.example.mx'
NOT_FOUND = 'Página no encontrada'
INTERNAL = {('PortalRoot', 'reconciliar'), ('PortalRoot', 'empaquetar')}


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
    token = {TOKEN_HEADER: reconcile_token(portal.registry.settings)}
    with nothing_changes(portal):
        for path in spellings('reconciliar'):
            answer = outsider.post(path, headers=dict(token, **headers), status='*')
            assert answer.status_int == 404 and NOT_FOUND in answer.text, path
            assert 'reconciled' not in answer.text


def test_reconciliar_straight_from_loopback_settles_the_lost_payment(portal, portal_mailer, lost_payment):
    token = {TOKEN_HEADER: reconcile_token(portal.registry.settings)}
    script = client_from(portal, '127.0.0.1')
    # The script's own headers (Host and X-Forwarded-Proto of the public URL) are not a proxy's.
    answer = script.post('/reconciliar', headers=dict(token, **{'X-Forwarded-Proto': 'https'}))
    assert f'payment {lost_payment}: approved' in answer.text
    assert state_of(portal, lost_payment) == 'approved'
    assert [m.subject for m in receipts(portal_mailer)] == [f'Recibo de pago {lost_payment}']


@pytest.mark.parametrize('address', ['::1', '[::1]', '127.0.0.2', '::ffff:127.0.0.1'])
def test_reconciliar_answers_every_loopback_address(portal, address):
    token = {TOKEN_HEADER: reconcile_token(portal.registry.settings)}
    answer = client_from(portal, address).post('/@@reconciliar/', headers=token)
    assert answer.text.startswith('reconciled: ')


def test_a_wrong_token_from_loopback_is_still_refused(portal, portal_mailer, lost_payment):
    script = client_from(portal, '127.0.0.1')
    with nothing_changes(portal):
        assert script.post('/reconciliar', headers={TOKEN_HEADER: 'x' * 64},
                           status=403).text == 'forbidden'


def _packed_copy(app):
    """True once the FileStorage was packed (FileStorage keeps the old file as Data.fs.old)."""
    storage = app.registry._zodb_databases[''].storage  # noqa: SLF001
    return os.path.exists(storage._file_name + '.old')  # noqa: SLF001


@pytest.mark.parametrize('remote_addr, headers', FROM_OUTSIDE)
def test_empaquetar_from_outside_is_not_found_under_every_spelling(app, remote_addr, headers):
    outsider = client_from(app, remote_addr)
    token = {packing.TOKEN_HEADER: packing.pack_token(app.registry.settings)}
    with nothing_changes(app):
        for path in spellings('empaquetar'):
            answer = outsider.post(path, {'days': '0'}, headers=dict(token, **headers),
                                   status='*')
            assert answer.status_int == 404 and NOT_FOUND in answer.text, path
    assert not _packed_copy(app)


@pytest.mark.parametrize('days', ['', '-1', 'x', '99999'])
def test_empaquetar_with_the_token_but_a_bad_number_of_days_packs_nothing(app, days):
    token = {packing.TOKEN_HEADER: packing.pack_token(app.registry.settings)}
    with nothing_changes(app):
        answer = client_from(app, '127.0.0.1').post('/empaquetar', {'days': days},
                                                    headers=token, status=400)
    assert answer.text.startswith('days must be a whole number')
    assert not _packed_copy(app)


def test_empaquetar_straight_from_loopback_packs(app):
    token = {packing.TOKEN_HEADER: packing.pack_token(app.registry.settings)}
    answer = client_from(app, '127.0.0.1').post('/empaquetar', {'days': '0'}, headers=token)
    assert answer.text.startswith('packed, keeping 0 days of history')
    assert _packed_copy(app)
