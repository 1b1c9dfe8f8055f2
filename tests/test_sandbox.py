"""The sandbox banks on their own: the bank's side of each protocol and the misbehaviour switches."""
import base64
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import webtest

from canonportal.sandbox import mount
from canonportal.sandbox.banamex import BanamexSandbox
from canonportal.sandbox.bbva import BBVASandbox
from canonportal.sandbox.common import card_outcome, parse_expiry

MERCHANT = 'TESTCANON01'
PASSWORD = 'sandbox-api-password'
WEBHOOK_SECRET = 'sandbox-webhook-secret'
NOTIFY_URL = 'http://portal.test/notificaciones/banamex'
BBVA_SECRET = 'sandbox-bbva-secret'
API = f'/api/rest/version/73/merchant/{MERCHANT}'


def basic(user, password):
    return {'Authorization': 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()}


AUTH = basic(f'merchant.{MERCHANT}', PASSWORD)


def session_body(order_id='228', amount='36870.80', cancel_url=None):
    interaction = {'operation': 'PURCHASE', 'returnUrl': 'http://portal.test/pagos/228/regreso',
                   'merchant': {'name': 'Canon Mexicana'}}
    if cancel_url:
        interaction['cancelUrl'] = cancel_url
    return {'apiOperation': 'INITIATE_CHECKOUT',
            'order': {'id': order_id, 'amount': amount, 'currency': 'MXN', 'description': 'Facturas'},
            'interaction': interaction}


@pytest.fixture
def banamex(recorder):
    sandbox = BanamexSandbox(MERCHANT, PASSWORD, NOTIFY_URL, WEBHOOK_SECRET,
                             transport=httpx.WSGITransport(app=recorder))
    return sandbox


@pytest.fixture
def banamex_web(banamex):
    return webtest.TestApp(banamex)


def open_session(web, **kw):
    res = web.post_json(f'{API}/session', session_body(**kw), headers=AUTH, status=201)
    return res.json


def pay(web, session_id, card='5123450000000008', expiry='01/39', csc='100', action='pay'):
    page = web.get(f'/checkout/pay/{session_id}')
    form = page.forms[0]
    form['card_number'] = card
    form['expiry'] = expiry
    form['csc'] = csc
    return form.submit('action', value=action, status='*')


# -- test cards ---------------------------------------------------------------

@pytest.mark.parametrize('expiry, code', [
    ('01/39', 'APPROVED'), ('05/39', 'DECLINED'), ('04/27', 'EXPIRED_CARD'),
    ('08/28', 'TIMED_OUT'), ('01/37', 'ACQUIRER_SYSTEM_ERROR')])
def test_expiry_chooses_the_outcome(expiry, code):
    assert card_outcome('5123 4500 0000 0008', expiry, '100').code == code


def test_csc_convention():
    assert card_outcome('4508750015741019', '01/39', '100').csc == 'MATCH'
    assert card_outcome('4508750015741019', '01/39', '101').approved
    assert card_outcome('4508750015741019', '01/39', '102').code == 'DECLINED'


def test_unknown_card_or_date_is_an_error_message():
    assert isinstance(card_outcome('4111111111111111', '01/39', '100'), str)
    assert isinstance(card_outcome('5123450000000008', '02/30', '100'), str)
    assert parse_expiry('1/2039') == ('01', '39')


# -- Citibanamex --------------------------------------------------------------

def test_session_api_answers_a_session_and_indicator(banamex_web):
    data = open_session(banamex_web)
    assert data['result'] == 'SUCCESS'
    assert data['session']['id'].startswith('SESSION')
    assert re.match(r'^[0-9a-f]{16}$', data['successIndicator'])


@pytest.mark.parametrize('headers, merchant', [
    (basic(f'merchant.{MERCHANT}', 'wrong'), MERCHANT),
    (basic('merchant.OTHER', PASSWORD), MERCHANT),
    (basic(f'merchant.{MERCHANT}', PASSWORD), 'OTHER'),
    ({}, MERCHANT),
])
def test_session_api_checks_credentials_and_merchant(banamex_web, headers, merchant):
    res = banamex_web.post_json(f'/api/rest/version/73/merchant/{merchant}/session', session_body(),
                                headers=headers, status=401)
    assert res.json['result'] == 'ERROR'


def test_session_api_validates_the_request(banamex_web):
    body = session_body()
    body['apiOperation'] = 'CREATE_CHECKOUT_SESSION'
    banamex_web.post_json(f'{API}/session', body, headers=AUTH, status=400)
    banamex_web.post_json(f'{API}/session', session_body(amount='12.345'), headers=AUTH, status=400)


def test_hosted_page_shows_the_order(banamex_web):
    session_id = open_session(banamex_web)['session']['id']
    page = banamex_web.get(f'/checkout/pay/{session_id}')
    assert '$36,870.80 MXN' in page.text
    assert 'Cancelar' in page.text and 'Pagar' in page.text
    banamex_web.get('/checkout/pay/SESSIONUNKNOWN', status=404)


def test_approved_payment_returns_the_success_indicator(banamex, banamex_web, recorder):
    data = open_session(banamex_web)
    res = pay(banamex_web, data['session']['id'])
    assert res.status_int == 303
    query = parse_qs(urlsplit(res.location).query)
    assert res.location.startswith('http://portal.test/pagos/228/regreso?')
    assert query['resultIndicator'] == [data['successIndicator']]
    order = banamex_web.get(f'{API}/order/228', headers=AUTH).json
    assert order['status'] == 'CAPTURED' and order['amount'] == 36870.8 and order['currency'] == 'MXN'
    txn = order['transaction'][-1]['transaction']
    assert re.match(r'^\d{6}$', txn['authorizationCode'])
    assert order['sourceOfFunds']['provided']['card']['number'] == '512345xxxxxx0008'
    assert banamex.deliverer.wait()
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert call['headers']['X-Notification-Secret'] == WEBHOOK_SECRET
    assert json.loads(call['body'])['order']['id'] == '228'
    # The session is spent: the page now says so.
    assert 'ya fue procesado' in banamex_web.get(f'/checkout/pay/{data["session"]["id"]}').text


def test_declined_payment_returns_another_indicator(banamex_web):
    data = open_session(banamex_web)
    res = pay(banamex_web, data['session']['id'], expiry='05/39')
    assert parse_qs(urlsplit(res.location).query)['resultIndicator'] != [data['successIndicator']]
    order = banamex_web.get(f'{API}/order/228', headers=AUTH).json
    assert order['status'] == 'FAILED'
    assert order['transaction'][-1]['response']['gatewayCode'] == 'DECLINED'


def test_cancel_goes_to_the_cancel_url_when_given(banamex_web):
    data = open_session(banamex_web, cancel_url='http://portal.test/pagos/228/cancelado')
    res = pay(banamex_web, data['session']['id'], action='cancel')
    assert res.location == 'http://portal.test/pagos/228/cancelado'
    assert banamex_web.get(f'{API}/order/228', headers=AUTH).json['status'] == 'CANCELLED'


def test_bad_card_input_changes_nothing(banamex_web):
    data = open_session(banamex_web)
    res = pay(banamex_web, data['session']['id'], card='4111111111111111')
    assert res.status_int == 400 and 'tarjetas de prueba' in res.text
    banamex_web.get(f'{API}/order/228', headers=AUTH, status=400)


def test_order_retrieval_needs_credentials_and_a_known_order(banamex_web):
    banamex_web.get(f'{API}/order/228', headers=basic(f'merchant.{MERCHANT}', 'x'), status=401)
    res = banamex_web.get(f'{API}/order/999', headers=AUTH, status=400)
    assert res.json['error']['field'] == 'orderId'


def control(web, **data):
    return web.post_json('/_control', data).json


def test_switch_drop_sends_no_notification(banamex, banamex_web, recorder):
    control(banamex_web, behaviour='drop')
    pay(banamex_web, open_session(banamex_web)['session']['id'])
    banamex.deliverer.wait()
    assert recorder.calls == []
    assert banamex.deliverer.entries()[0]['dropped']


def test_switch_twice_sends_two_identical_notifications(banamex, banamex_web, recorder):
    control(banamex_web, behaviour='twice')
    pay(banamex_web, open_session(banamex_web)['session']['id'])
    banamex.deliverer.wait()
    assert len(recorder.calls) == 2
    assert recorder.calls[0]['body'] == recorder.calls[1]['body']
    assert recorder.calls[0]['headers']['X-Notification-Id'] == recorder.calls[1]['headers']['X-Notification-Id']


def test_switch_early_notifies_before_the_browser_returns(banamex_web, recorder):
    control(banamex_web, behaviour='early')
    pay(banamex_web, open_session(banamex_web)['session']['id'])
    assert len(recorder.calls) == 1   # already there, without waiting


def test_switch_late_notifies_after_the_delay(banamex, banamex_web, recorder):
    control(banamex_web, behaviour='late', delay=0.3)
    pay(banamex_web, open_session(banamex_web)['session']['id'])
    assert recorder.calls == []
    assert banamex.deliverer.wait(5)
    assert len(recorder.calls) == 1


def test_switch_decline_and_cancel_override_the_card(banamex_web):
    control(banamex_web, behaviour='decline')
    pay(banamex_web, open_session(banamex_web)['session']['id'])
    assert banamex_web.get(f'{API}/order/228', headers=AUTH).json['status'] == 'FAILED'
    control(banamex_web, reset=True, behaviour='cancel')
    pay(banamex_web, open_session(banamex_web, order_id='229')['session']['id'])
    assert banamex_web.get(f'{API}/order/229', headers=AUTH).json['status'] == 'CANCELLED'


def test_switch_timeout_is_per_order(banamex_web):
    control(banamex_web, behaviour='timeout', order='228')
    banamex_web.post_json(f'{API}/session', session_body(), headers=AUTH, status=504)
    open_session(banamex_web, order_id='229')
    state = banamex_web.get('/_control', headers={'Accept': 'application/json'}).json
    assert state['switches']['orders'] == {'228': ['timeout']}


def test_switch_no_return_keeps_the_browser(banamex_web, recorder, banamex):
    control(banamex_web, behaviour='no_return')
    res = pay(banamex_web, open_session(banamex_web)['session']['id'])
    assert res.status_int == 200 and 'No fue posible regresar' in res.text
    banamex.deliverer.wait()
    assert len(recorder.calls) == 1   # the bank still notifies


def test_switch_form_on_the_pages(banamex_web):
    session_id = open_session(banamex_web)['session']['id']
    page = banamex_web.get(f'/checkout/pay/{session_id}')
    form = page.forms[1]
    form.get('behaviour', index=1).checked = True      # drop
    res = form.submit().follow()
    assert 'Pagar' in res.text
    state = banamex_web.get('/_control', headers={'Accept': 'application/json'}).json
    assert state['switches']['orders'] == {'228': ['drop']}
    assert 'interruptores' in banamex_web.get('/_control').text


def test_unknown_behaviour_is_refused(banamex_web):
    banamex_web.post_json('/_control', {'behaviour': 'explode'}, status=400)


# -- BBVA ---------------------------------------------------------------------

def bbva_request(order='228', reference='CME930812PW3', amount='36870.80', secret=BBVA_SECRET):
    signature = hmac.new(secret.encode(), (order + reference + amount).encode(), hashlib.sha256).hexdigest()
    return {
        'mp_account': '8001', 'mp_product': '1', 'mp_order': order, 'mp_reference': reference,
        'mp_node': '0', 'mp_concept': 'Pago de facturas', 'mp_amount': amount,
        'mp_customername': 'Canon Cliente SA de CV', 'mp_currency': '1',
        'mp_urlsuccess': 'http://portal.test/pagos/228/bbva', 'mp_urlfailure': 'http://portal.test/pagos/228/bbva-error',
        'mp_email': 'cxp@example.mx', 'mp_signature': signature,
    }


@pytest.fixture
def bbva(recorder):
    return BBVASandbox('8001', BBVA_SECRET, transport=httpx.WSGITransport(app=recorder))


@pytest.fixture
def bbva_web(bbva):
    return webtest.TestApp(bbva)


def bbva_pay(web, fields=None, expiry='01/39', action='pay', card='4508750015741019'):
    page = web.post('/clb/endpoint/canon', fields or bbva_request(), status=303).follow()
    form = page.forms[0]
    form['card_number'] = card
    form['expiry'] = expiry
    form['csc'] = '100'
    form['name_on_card'] = 'ANA PEREZ'
    return form.submit('action', value=action)


def postback_of(res):
    return {name: field[0].value for name, field in res.forms['postback'].fields.items() if name}


def test_bbva_refuses_a_bad_request_signature(bbva_web):
    fields = bbva_request()
    fields['mp_amount'] = '1.00'
    res = bbva_web.post('/clb/endpoint/canon', fields, status=403)
    assert 'Firma inválida' in res.text
    fields = bbva_request(secret='another-key')
    bbva_web.post('/clb/endpoint/canon', fields, status=403)
    fields = bbva_request()
    del fields['mp_signature']
    bbva_web.post('/clb/endpoint/canon', fields, status=400)
    fields = bbva_request()
    fields['mp_account'] = '9999'
    bbva_web.post('/clb/endpoint/canon', fields, status=400)


def test_bbva_approved_post_back(bbva_web, recorder):
    res = bbva_pay(bbva_web)
    assert res.forms['postback'].action == 'http://portal.test/pagos/228/bbva'
    back = postback_of(res)
    assert back['mp_response'] == '00' and re.match(r'^\d{6}$', back['mp_authorization'])
    assert (back['mp_order'], back['mp_reference'], back['mp_amount']) == ('228', 'CME930812PW3', '36870.80')
    expected = hmac.new(BBVA_SECRET.encode(), ('228' + 'CME930812PW3' + '36870.80' + back['mp_authorization']).encode(),
                        hashlib.sha256).hexdigest()
    assert back['mp_signature'] == expected
    assert back['mp_pan'] == '450875******1019'
    assert re.match(r'^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$', back['mp_date'])
    assert 'document.getElementById("postback").submit()' in res.text
    assert recorder.calls == []   # the browser carries it


def test_bbva_declined_and_cancelled_go_to_the_failure_url(bbva_web):
    res = bbva_pay(bbva_web, expiry='05/39')
    back = postback_of(res)
    assert res.forms['postback'].action.endswith('/bbva-error')
    assert back['mp_response'] == '05' and back['mp_authorization'] == ''
    res = bbva_pay(bbva_web, fields=bbva_request(order='229'), action='cancel')
    assert postback_of(res)['mp_response'] == '99'


def test_bbva_switch_twice_adds_a_server_to_server_post(bbva, bbva_web, recorder):
    bbva_web.post_json('/_control', {'behaviour': 'twice'})
    res = bbva_pay(bbva_web)
    bbva.deliverer.wait()
    assert len(recorder.calls) == 1 and 'postback' in res.forms
    assert recorder.calls[0]['form'] == postback_of(res)


def test_bbva_switch_drop_shows_the_receipt_only(bbva, bbva_web, recorder):
    bbva_web.post_json('/_control', {'behaviour': 'drop'})
    res = bbva_pay(bbva_web)
    bbva.deliverer.wait()
    assert 'postback' not in res.forms and 'Pago aprobado' in res.text
    assert recorder.calls == []


def test_bbva_switch_early_and_late(bbva, bbva_web, recorder):
    bbva_web.post_json('/_control', {'behaviour': 'early', 'order': '228'})
    res = bbva_pay(bbva_web)
    assert len(recorder.calls) == 1 and 'postback' in res.forms
    bbva_web.post_json('/_control', {'behaviour': 'late', 'order': '229', 'delay': 0.2})
    res = bbva_pay(bbva_web, fields=bbva_request(order='229'))
    assert 'postback' not in res.forms and len(recorder.calls) == 1
    assert bbva.deliverer.wait(5)
    assert len(recorder.calls) == 2 and recorder.calls[1]['form']['mp_order'] == '229'


def test_bbva_switch_timeout(bbva_web):
    bbva_web.post('/_control', {'behaviour': 'timeout'}, status=303)
    bbva_web.post('/clb/endpoint/canon', bbva_request(), status=504)


# -- mounting -----------------------------------------------------------------

def test_mount_routes_prefixes_to_the_sandboxes():
    def portal(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [f'portal {environ["SCRIPT_NAME"]}|{environ["PATH_INFO"]}'.encode()]

    conf = {'banamex.merchant_id': MERCHANT, 'banamex.api_password': PASSWORD,
            'bbva.account': '8001', 'bbva.secret': BBVA_SECRET}
    web = webtest.TestApp(mount.filter_factory({}, **conf)(portal))
    assert web.get('/customers/x').text == 'portal |/customers/x'
    assert web.get('/sandboxes').text == 'portal |/sandboxes'
    assert 'Citibanamex' in web.get('/sandbox/banamex/').text
    assert 'BBVA' in web.get('/sandbox/bbva/').text
    page = web.post('/sandbox/bbva/clb/endpoint/canon', bbva_request(), status=303)
    assert page.location.endswith('/sandbox/bbva/clb/pay/' + page.location.rsplit('/', 1)[1])
    assert mount.sandboxes({}) == {}


def test_development_ini_serves_the_portal_with_the_sandboxes(tmp_path):
    from pyramid.paster import get_app, get_appsettings
    import pathlib
    ini = pathlib.Path(__file__).parent.parent / 'development.ini'
    text = ini.read_text().replace('%(here)s/var', str(tmp_path))
    copy = tmp_path / 'development.ini'
    copy.write_text(text)
    settings = get_appsettings(str(copy), name='main', options={'http_port': '6543'})
    assert settings['zodbconn.uri'].startswith('file://')     # the scripts still find the portal
    assert settings['banamex.base_url'] == 'http://localhost:6543/sandbox/banamex'
    app = get_app(str(copy), options={'http_port': '6543'})
    assert sorted(path for path, _ in app.mounts) == [
        '/sandbox/banamex', '/sandbox/bbva', '/sandbox/cep', '/sandbox/spei']
    from canonportal.banking import configured_gateways
    assert sorted(configured_gateways(settings)) == ['banamex', 'bbva', 'spei']
    database = app.default.registry._zodb_databases['']
    database.close()


def test_composite_factory_mounts_the_sandboxes_beside_a_named_portal(tmp_path):
    from pyramid.paster import get_app
    ini = tmp_path / 'composite.ini'
    ini.write_text(f"""
[composite:main]
use = egg:canonportal#with_sandboxes
portal = portal
banamex.merchant_id = {MERCHANT}
banamex.api_password = {PASSWORD}
bbva.account = 8001
bbva.secret = {BBVA_SECRET}

[app:portal]
use = egg:canonportal
zodbconn.uri = memory://
canonportal.public_url = http://localhost:6543
canonportal.session_secret = {'s' * 40}
""")
    app = get_app(str(ini))
    assert sorted(path for path, _ in app.mounts) == ['/sandbox/banamex', '/sandbox/bbva']
    assert app.default.registry.settings['zodbconn.uri'] == 'memory://'
    web = webtest.TestApp(app)
    web.post_json(f'/sandbox/banamex{API}/session', session_body(), headers=AUTH, status=201)
