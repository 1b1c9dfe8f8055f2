"""The Citibanamex gateway against the sandbox Citibanamex, in process.

Decision tested here: the bank_browser's ``resultIndicator`` is only a hint. The
order retrieved server to server decides: a matching indicator on an order
that is not captured is not approved; a mismatching indicator on a captured
order is approved (the money was taken), with the mismatch kept as ``hint``.
"""
import json
import logging
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import webtest

from canonportal.banking import configured_gateways
from canonportal.gateways import (
    APPROVED, CANCELLED, DECLINED, UNKNOWN, GatewayError, PaymentInfo, RejectedMessage,
)
from canonportal.gateways.banamex import BanamexGateway, mask_card
from canonportal.gateways.http import get_with_retries
from canonportal.sandbox.banamex import BanamexSandbox

MERCHANT = 'TESTCANON01'
PASSWORD = 'sandbox-api-password'
WEBHOOK_SECRET = 'sandbox-webhook-secret'
BASE = 'http://bank.test/sandbox/banamex'


class Counting(httpx.BaseTransport):
    """Wraps a transport, counting requests; can answer the first ones with a status."""

    def __init__(self, inner, fail_first=0, fail_status=503):
        self.inner = inner
        self.requests = []
        self.fail_first = fail_first
        self.fail_status = fail_status

    def handle_request(self, request):
        self.requests.append((request.method, request.url.path))
        if len(self.requests) <= self.fail_first:
            return httpx.Response(self.fail_status, json={'result': 'ERROR'})
        return self.inner.handle_request(request)

    def count(self, method):
        return sum(1 for m, _ in self.requests if m == method)


class Mounted:
    """Serves the sandbox under /sandbox/banamex as development does."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        from canonportal.sandbox.mount import Mount
        return Mount(None, {'/sandbox/banamex': self.app})(environ, start_response)


@pytest.fixture
def sandbox(recorder):
    return BanamexSandbox(MERCHANT, PASSWORD, 'http://portal.test/notificaciones/banamex', WEBHOOK_SECRET,
                          transport=httpx.WSGITransport(app=recorder))


@pytest.fixture
def transport(sandbox):
    return Counting(httpx.WSGITransport(app=Mounted(sandbox)))


def make_gateway(transport, password=PASSWORD, secret=WEBHOOK_SECRET):
    return BanamexGateway(BASE, MERCHANT, password, notification_secret=secret,
                          merchant_name='Canon Mexicana', api_version=73, transport=transport)


@pytest.fixture
def gateway(transport):
    return make_gateway(transport)


@pytest.fixture
def bank_browser(sandbox):
    return webtest.TestApp(Mounted(sandbox))


def info(reference='228', amount='36870.80'):
    return PaymentInfo(
        reference=reference, amount=Decimal(amount), currency='MXN', description='Pago de facturas',
        customer_rfc='CME930812PW3', customer_name='Canon Cliente', customer_email='cxp@example.mx',
        return_url=f'https://portal.example.mx/pagos/{reference}/regreso',
        failure_url=f'https://portal.example.mx/pagos/{reference}/cancelado',
    )


def pay(bank_browser, start, expiry='01/39', action='pay', csc='100'):
    """The tester's bank_browser on the hosted page; returns the return URL's parameters."""
    page = bank_browser.get(urlsplit(start.url).path)
    form = page.forms[0]
    form['card_number'] = '5123450000000008'
    form['expiry'] = expiry
    form['csc'] = csc
    res = form.submit('action', value=action, status=303)
    return res.location, {k: v[0] for k, v in parse_qs(urlsplit(res.location).query).items()}


def test_start_creates_a_session_and_keeps_the_indicator_server_side(gateway, transport, sandbox):
    start = gateway.start(info())
    assert start.is_redirect and start.method == 'GET'
    session_id = start.stored['session_id']
    assert start.url == f'{BASE}/checkout/pay/{session_id}'
    indicator = start.stored['success_indicator']
    assert indicator and indicator not in start.url and not start.fields
    assert start.stored_dict()['order_id'] == '228'
    session = sandbox.sessions[session_id]
    assert session['amount'] == Decimal('36870.80') and session['currency'] == 'MXN'
    assert session['return_url'] == 'https://portal.example.mx/pagos/228/regreso'
    assert transport.requests == [('POST', f'/sandbox/banamex/api/rest/version/73/merchant/{MERCHANT}/session')]


def test_wrong_api_password_is_refused_by_the_bank(transport):
    with pytest.raises(GatewayError, match='authentication'):
        make_gateway(transport, password='wrong').start(info())


def test_session_post_is_never_retried(sandbox, transport, gateway, bank_browser):
    bank_browser.post_json('/sandbox/banamex/_control', {'behaviour': 'timeout'})
    with pytest.raises(GatewayError, match='504'):
        gateway.start(info())
    assert transport.count('POST') == 1


def test_order_retrieval_is_retried(sandbox, bank_browser, monkeypatch):
    transport = Counting(httpx.WSGITransport(app=Mounted(sandbox)), fail_first=2)
    gateway = make_gateway(transport)
    # The first POST is answered 503 by the wrapper and not retried.
    with pytest.raises(GatewayError):
        gateway.start(info())
    transport.fail_first = 0
    start = gateway.start(info())
    pay(bank_browser, start)
    transport.requests.clear()
    transport.fail_first = 2
    monkeypatch.setattr('canonportal.gateways.http._sleep', lambda seconds: None)
    result = gateway.query('228', start.stored)
    assert result.outcome == APPROVED
    assert transport.count('GET') == 3


def test_retries_give_up_with_a_gateway_error():
    transport = Counting(httpx.MockTransport(lambda request: httpx.Response(200)), fail_first=9)
    client = httpx.Client(transport=transport)
    with pytest.raises(GatewayError, match='503'):
        get_with_retries(client, 'http://bank.test/x', attempts=3, sleep=lambda s: None)
    assert transport.count('GET') == 3


def test_approved_payment(gateway, bank_browser, transport):
    start = gateway.start(info())
    location, params = pay(bank_browser, start)
    assert location.startswith('https://portal.example.mx/pagos/228/regreso?')
    transport.requests.clear()
    result = gateway.read_return(params, start.stored)
    assert transport.count('GET') == 1              # the order was retrieved
    assert result.outcome == APPROVED and result.verified and result.approved
    assert result.hint == 'indicator-match'
    assert result.amount == Decimal('36870.80') and result.currency == 'MXN'
    assert result.reference == '228'
    assert len(result.authorization) == 6
    assert result.bank_reference == f'BC-Banamex {result.authorization}'
    assert result.discrepancies('228', Decimal('36870.80'), 'MXN') == ()
    assert result.raw['card_number'] == '512345xxxxxx0008'
    assert 'success_indicator' not in result.raw and PASSWORD not in json.dumps(result.bank_data())
    assert result.source == 'return'


@pytest.mark.parametrize('expiry, code', [('05/39', 'DECLINED'), ('04/27', 'EXPIRED_CARD'),
                                          ('08/28', 'TIMED_OUT'), ('01/37', 'ACQUIRER_SYSTEM_ERROR')])
def test_declined_payments(gateway, bank_browser, expiry, code):
    start = gateway.start(info())
    _, params = pay(bank_browser, start, expiry=expiry)
    result = gateway.read_return(params, start.stored)
    assert result.outcome == DECLINED and result.verified
    assert result.hint == 'indicator-mismatch'
    assert result.message == code
    assert result.authorization is None and result.bank_reference is None


def test_csc_no_match_declines(gateway, bank_browser):
    start = gateway.start(info())
    _, params = pay(bank_browser, start, csc='102')
    assert gateway.read_return(params, start.stored).outcome == DECLINED


def test_cancelled_payment(gateway, bank_browser):
    start = gateway.start(info())
    location, params = pay(bank_browser, start, action='cancel')
    assert location == 'https://portal.example.mx/pagos/228/cancelado'
    result = gateway.read_return(params, start.stored)
    assert result.outcome == CANCELLED and result.verified


def test_forged_return_with_the_right_indicator_is_not_approved_without_the_order(gateway):
    start = gateway.start(info())
    # Even a correct resultIndicator (leaked) does not approve an order the bank has not captured.
    result = gateway.read_return({'resultIndicator': start.stored['success_indicator']}, start.stored)
    assert result.hint == 'indicator-match'
    assert result.outcome == UNKNOWN and not result.approved and result.amount is None


def test_forged_return_with_made_up_parameters(gateway):
    start = gateway.start(info())
    result = gateway.read_return({'resultIndicator': 'made-up', 'amount': '1.00'}, start.stored)
    assert result.outcome == UNKNOWN and not result.approved
    assert gateway.read_return({'resultIndicator': 'x'}, {}) is None


def test_indicator_mismatch_on_a_captured_order_is_approved(gateway, bank_browser, caplog):
    start = gateway.start(info())
    _, params = pay(bank_browser, start)
    params['resultIndicator'] = 'tampered'
    with caplog.at_level(logging.WARNING, logger='canonportal.gateways'):
        result = gateway.read_return(params, start.stored)
    assert result.outcome == APPROVED and result.hint == 'indicator-mismatch'
    assert 'mismatch' in caplog.text


def test_amount_and_currency_come_from_the_retrieved_order(gateway, bank_browser):
    # A second session for the same order at another amount: the bank's order says what was charged.
    start = gateway.start(info(amount='36870.80'))
    other = gateway.start(info(amount='1.00'))
    _, params = pay(bank_browser, other)
    result = gateway.read_return(params, start.stored)
    assert result.amount == Decimal('1.00') and result.currency == 'MXN'
    assert result.discrepancies('228', Decimal('36870.80'), 'MXN') == ('amount',)
    assert result.discrepancies('228', Decimal('1.00'), 'USD') == ('currency',)
    assert result.discrepancies('229', Decimal('1.00'), 'MXN') == ('reference',)


def test_notification_from_the_sandbox_causes_a_retrieval(gateway, bank_browser, sandbox, recorder, transport):
    start = gateway.start(info())
    pay(bank_browser, start)
    sandbox.deliverer.wait()
    [call] = recorder.calls
    transport.requests.clear()
    result = gateway.read_notification(call['headers'], call['body'])
    assert transport.requests == [('GET', f'/sandbox/banamex/api/rest/version/73/merchant/{MERCHANT}/order/228')]
    assert result.outcome == APPROVED and result.source == 'notification' and result.verified
    assert result.raw['notification_id'] == call['headers']['X-Notification-Id']
    # The same transaction seen by a query has the same event id: one event.
    assert gateway.query('228', start.stored).event_id == result.event_id


def test_notification_body_is_not_trusted(gateway, bank_browser, sandbox, recorder):
    start = gateway.start(info())
    pay(bank_browser, start, expiry='05/39')
    sandbox.deliverer.wait()
    [call] = recorder.calls
    body = json.loads(call['body'])
    body['order']['status'] = 'CAPTURED'
    body['order']['amount'] = 1.0
    body['result'] = 'SUCCESS'
    result = gateway.read_notification(call['headers'], json.dumps(body).encode())
    assert result.outcome == DECLINED and result.amount == Decimal('36870.80')


@pytest.mark.parametrize('headers', [
    {'X-Notification-Secret': 'wrong-secret', 'Content-Type': 'application/json'},
    {'X-Notification-Secret': WEBHOOK_SECRET[:-1], 'Content-Type': 'application/json'},
    {'X-Notification-Secret': '', 'Content-Type': 'application/json'},
    {'Content-Type': 'application/json'},
    {'X-Notification-Secret': 'ñ' * 10},
])
def test_forged_notification_secret_is_rejected(gateway, transport, caplog, headers):
    body = json.dumps({'order': {'id': '228', 'status': 'CAPTURED'}}).encode()
    with caplog.at_level(logging.WARNING, logger='canonportal.gateways'):
        with pytest.raises(RejectedMessage):
            gateway.read_notification(headers, body)
    assert transport.requests == []                     # not even a retrieval
    [record] = caplog.records
    assert 'rejected banamex notification' in record.getMessage()
    assert WEBHOOK_SECRET not in record.getMessage()


def test_notification_with_a_lowercase_header_and_bad_bodies(gateway):
    headers = {'x-notification-secret': WEBHOOK_SECRET}
    with pytest.raises(RejectedMessage):
        gateway.read_notification(headers, b'not json')
    with pytest.raises(RejectedMessage):
        gateway.read_notification(headers, json.dumps({'order': {'id': '../admin'}}).encode())
    result = gateway.read_notification(headers, json.dumps({'order': {'id': '404'}}).encode())
    assert result.outcome == UNKNOWN


def test_without_a_configured_secret_every_notification_is_refused(transport):
    gateway = make_gateway(transport, secret='')
    with pytest.raises(RejectedMessage):
        gateway.read_notification({'X-Notification-Secret': ''}, b'{"order": {"id": "228"}}')


def test_query_reports_pending_and_unknown_orders(gateway, sandbox):
    assert gateway.query('999', {}).outcome == UNKNOWN
    start = gateway.start(info())
    with sandbox._lock:
        order = sandbox._order_for(sandbox.sessions[start.stored['session_id']])
        order['status'] = 'AUTHORIZED'
    assert gateway.query('228', start.stored).outcome == 'pending'


def test_mask_card_never_lets_a_full_number_through():
    assert mask_card('5123450000000008') == '512345xxxxxx0008'
    assert mask_card('512345xxxxxx0008') == '512345xxxxxx0008'


def test_the_portal_reads_the_banks_secrets_from_the_environment(monkeypatch, transport):
    monkeypatch.setenv('TEST_BANAMEX_PASSWORD', PASSWORD)
    settings = {
        'canonportal.banks': 'banamex',
        'banamex.base_url': BASE, 'banamex.api_version': '73', 'banamex.merchant_id': MERCHANT,
        'banamex.api_password': 'env:TEST_BANAMEX_PASSWORD',
        'banamex.notification_secret': WEBHOOK_SECRET, 'banamex.merchant_name': 'Canon Mexicana',
    }
    gateways = configured_gateways(settings, transport={'banamex': transport})
    assert gateways['banamex'].start(info()).stored['session_id']
    monkeypatch.delenv('TEST_BANAMEX_PASSWORD')
    with pytest.raises(RuntimeError):
        configured_gateways(settings)
    assert configured_gateways({}) == {}
    with pytest.raises(ValueError):
        configured_gateways({'canonportal.banks': 'paypal'})
