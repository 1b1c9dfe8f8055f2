"""The BBVA gateway against the sandbox BBVA, in process, and forged post-backs."""
import hashlib
import hmac
import logging
import re
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import webtest

from canonportal.gateways import (
    APPROVED, CANCELLED, DECLINED, UNKNOWN, PaymentInfo, RejectedMessage, gateways_from_settings,
)
from canonportal.gateways.bbva import BBVAGateway
from canonportal.sandbox.bbva import BBVASandbox

SECRET = 'sandbox-bbva-secret'
ENDPOINT = 'http://bank.test/clb/endpoint/canon'


@pytest.fixture
def sandbox(recorder):
    return BBVASandbox('8001', SECRET, transport=httpx.WSGITransport(app=recorder))


@pytest.fixture
def bank_browser(sandbox):
    return webtest.TestApp(sandbox)


@pytest.fixture
def gateway():
    return BBVAGateway(ENDPOINT, '8001', SECRET)


def info(reference='228', amount='36870.80', currency='MXN'):
    return PaymentInfo(
        reference=reference, amount=Decimal(amount), currency=currency, description='Pago de facturas 6212976',
        customer_rfc='CME930812PW3', customer_name='Canon Cliente SA de CV', customer_email='cxp@example.mx',
        return_url=f'https://portal.example.mx/pagos/{reference}/bbva',
        failure_url=f'https://portal.example.mx/pagos/{reference}/bbva-error',
    )


def hand_sign(key, *parts):
    return hmac.new(key.encode(), ''.join(parts).encode(), hashlib.sha256).hexdigest()


def pay(bank_browser, start, expiry='01/39', action='pay'):
    """The tester's bank_browser: the auto-submitted form, the card page, the post-back form."""
    page = bank_browser.post(urlsplit(start.url).path, dict(start.fields), status=303).follow()
    form = page.forms[0]
    form['card_number'] = '5123450000000008'
    form['expiry'] = expiry
    form['csc'] = '100'
    form['name_on_card'] = 'ANA PEREZ'
    res = form.submit('action', value=action)
    if 'postback' not in res.forms:
        return res, None, None
    postback = res.forms['postback']
    return res, postback.action, {name: f[0].value for name, f in postback.fields.items() if name}


def test_start_builds_the_signed_form(gateway):
    start = gateway.start(info())
    assert start.method == 'POST' and start.url == ENDPOINT and not start.is_redirect
    fields = dict(start.fields)
    assert fields == {
        'mp_account': '8001', 'mp_product': '1', 'mp_order': '228', 'mp_reference': 'CME930812PW3',
        'mp_node': '0', 'mp_concept': 'Pago de facturas 6212976', 'mp_amount': '36870.80',
        'mp_customername': 'Canon Cliente SA de CV', 'mp_currency': '1',
        'mp_urlsuccess': 'https://portal.example.mx/pagos/228/bbva',
        'mp_urlfailure': 'https://portal.example.mx/pagos/228/bbva-error',
        'mp_email': 'cxp@example.mx',
        'mp_signature': hand_sign(SECRET, '228', 'CME930812PW3', '36870.80'),
    }
    assert re.match(r'^[0-9a-f]{64}$', fields['mp_signature'])
    assert start.stored == {'order_id': '228', 'reference': 'CME930812PW3', 'amount': '36870.80',
                            'currency': 'MXN'}
    assert dict(gateway.start(info(amount='5')).fields)['mp_amount'] == '5.00'
    assert dict(gateway.start(info(currency='USD')).fields)['mp_currency'] == '2'


def test_start_refuses_amounts_that_are_not_cents():
    with pytest.raises(ValueError):
        info(amount='10.005')
    with pytest.raises(ValueError):
        info(amount='0')
    with pytest.raises(TypeError):
        PaymentInfo('228', 10.5, 'MXN', '', '', '', '', 'https://x')


def test_approved_payment(gateway, bank_browser):
    start = gateway.start(info())
    _, action, back = pay(bank_browser, start)
    assert action == 'https://portal.example.mx/pagos/228/bbva'
    result = gateway.read_return(back, start.stored)
    assert result.outcome == APPROVED and result.verified and result.source == 'return'
    assert result.reference == '228' and result.customer_reference == 'CME930812PW3'
    assert result.amount == Decimal('36870.80') and result.currency == 'MXN'
    assert result.authorization == back['mp_authorization'] and len(result.authorization) == 6
    assert result.bank_reference == f'BBVA {result.authorization}'
    assert result.discrepancies('228', Decimal('36870.80'), 'MXN', 'CME930812PW3') == ()
    assert result.raw['mp_pan'] == '************0008'
    assert SECRET not in str(result.bank_data())


@pytest.mark.parametrize('expiry, response', [('05/39', '05'), ('04/27', '54'), ('08/28', '68'), ('01/37', '96')])
def test_declined_payments(gateway, bank_browser, expiry, response):
    start = gateway.start(info())
    _, action, back = pay(bank_browser, start, expiry=expiry)
    assert action.endswith('/bbva-error')
    result = gateway.read_return(back, start.stored)
    assert result.outcome == DECLINED and result.verified and back['mp_response'] == response
    assert result.authorization is None and result.bank_reference is None


def test_cancelled_payment(gateway, bank_browser):
    start = gateway.start(info())
    _, action, back = pay(bank_browser, start, action='cancel')
    assert action.endswith('/bbva-error')
    assert gateway.read_notification({}, urlencode(back).encode(),
                                     stored_for=lambda order: start.stored).outcome == CANCELLED


def test_sandbox_refuses_a_bad_request_signature(gateway, bank_browser):
    fields = dict(gateway.start(info()).fields)
    fields['mp_amount'] = '1.00'
    assert 'Firma inválida' in bank_browser.post('/clb/endpoint/canon', fields, status=403).text
    other = BBVAGateway(ENDPOINT, '8001', 'another-key')
    bank_browser.post('/clb/endpoint/canon', dict(other.start(info()).fields), status=403)


def signed_back(**changes):
    fields = {'mp_order': '228', 'mp_reference': 'CME930812PW3', 'mp_amount': '36870.80',
              'mp_response': '00', 'mp_responsemsg': 'Aprobada', 'mp_authorization': '063197'}
    fields.update(changes)
    fields['mp_signature'] = hand_sign(SECRET, fields['mp_order'], fields['mp_reference'],
                                       fields['mp_amount'], fields['mp_authorization'])
    return fields


#: What ``start`` keeps for the payment ``signed_back`` answers.
STORED = {'order_id': '228', 'reference': 'CME930812PW3', 'amount': '36870.80', 'currency': 'MXN'}


def test_a_message_recut_across_the_unseparated_fields_is_refused(gateway):
    """Order 2280 + reference CME… signs the same bytes as order 228 + reference 0CME…."""
    genuine = signed_back(mp_order='2280')
    recut = dict(genuine, mp_order='228', mp_reference='0CME930812PW3')
    assert gateway.read_return(recut, None).outcome == APPROVED    # what the bytes alone prove
    for read in (lambda: gateway.read_return(recut, STORED),
                 lambda: gateway.read_notification({}, b'', form=recut, stored_for=lambda o: STORED)):
        with pytest.raises(RejectedMessage):
            read()


def test_an_unsigned_currency_that_is_not_ours_is_refused_and_ours_is_used(gateway):
    with pytest.raises(RejectedMessage):
        gateway.read_return(signed_back(mp_currency='2'), STORED)
    assert gateway.read_return(signed_back(), dict(STORED, currency='MXN')).currency == 'MXN'


def test_a_notification_for_no_payment_of_ours_is_refused(gateway):
    with pytest.raises(RejectedMessage):
        gateway.read_notification({}, b'', form=signed_back(), stored_for=lambda order: None)


def forgeries():
    good = signed_back()
    wrong_key = dict(good, mp_signature=hand_sign('guessed', '228', 'CME930812PW3', '36870.80', '063197'))
    amount_altered = dict(good, mp_amount='36870.81')
    amount_reformatted = dict(good, mp_amount='36870.8')
    order_altered = dict(good, mp_order='229')
    authorization_altered = dict(good, mp_authorization='999999')
    another_message = dict(signed_back(mp_order='229'), mp_order='228')
    other_signature = dict(good, mp_signature=signed_back(mp_order='229')['mp_signature'])
    unsigned = {k: v for k, v in good.items() if k != 'mp_signature'}
    empty_signature = dict(good, mp_signature='')
    unkeyed_sha256 = dict(good, mp_signature=hashlib.sha256(b'228CME930812PW336870.80063197').hexdigest())
    missing_authorization = {k: v for k, v in good.items() if k != 'mp_authorization'}
    request_signature = dict(good, mp_signature=hand_sign(SECRET, '228', 'CME930812PW3', '36870.80'))
    not_ascii = dict(good, mp_signature='ñ' * 64)
    return [wrong_key, amount_altered, amount_reformatted, order_altered, authorization_altered,
            another_message, other_signature, unsigned, empty_signature, unkeyed_sha256,
            missing_authorization, request_signature, not_ascii]


def test_forged_post_backs_are_rejected_and_logged(gateway, caplog):
    forged = forgeries()
    with caplog.at_level(logging.WARNING, logger='canonportal.gateways'):
        for fields in forged:
            with pytest.raises(RejectedMessage):
                gateway.read_return(fields, None)
            with pytest.raises(RejectedMessage):
                gateway.read_notification({}, urlencode(fields).encode())
    assert len(caplog.records) == 2 * len(forged)
    for record in caplog.records:
        message = record.getMessage()
        assert message.startswith('rejected bbva ') and '\n' not in message
        assert SECRET not in message


def test_signature_in_uppercase_hex_is_accepted(gateway):
    fields = signed_back()
    fields['mp_signature'] = fields['mp_signature'].upper()
    assert gateway.read_notification({}, b'', form=fields,
                                     stored_for=lambda order: STORED).outcome == APPROVED


def test_approval_needs_00_and_an_authorization(gateway):
    assert gateway.read_return(signed_back(), None).outcome == APPROVED
    assert gateway.read_return(signed_back(mp_authorization=''), None).outcome == DECLINED
    assert gateway.read_return(signed_back(mp_authorization='000000'), None).outcome == DECLINED
    assert gateway.read_return(signed_back(mp_response='05', mp_authorization=''), None).outcome == DECLINED
    # A signed authorization with a response other than 00 contradicts itself: never approved, never final.
    assert gateway.read_return(signed_back(mp_response='05'), None).outcome == UNKNOWN
    assert gateway.read_return(signed_back(mp_response='99', mp_authorization=''), None).outcome == CANCELLED


def test_signed_but_malformed_fields_are_refused(gateway):
    with pytest.raises(RejectedMessage):
        gateway.read_return(signed_back(mp_amount='1e3'), None)
    with pytest.raises(RejectedMessage):
        gateway.read_return(signed_back(mp_order='228<script>'), None)


def test_signed_amount_one_cent_off_is_reported_as_a_discrepancy(gateway):
    result = gateway.read_return(signed_back(mp_amount='36870.79'), None)
    assert result.verified and result.discrepancies('228', Decimal('36870.80'), 'MXN') == ('amount',)
    assert result.discrepancies('228', Decimal('36870.79'), 'MXN', 'DIS010203AB1') == ('customer',)


def test_return_without_bank_fields_reads_nothing(gateway):
    assert gateway.read_return({}, None) is None
    assert gateway.read_return({'csrf_token': 'x'}, None) is None
    assert gateway.query('228', {}) is None


def test_event_id_is_the_same_for_every_copy(gateway, bank_browser, sandbox, recorder):
    bank_browser.post_json('/_control', {'behaviour': 'twice'})
    start = gateway.start(info())
    _, _, back = pay(bank_browser, start)
    sandbox.deliverer.wait()
    [call] = recorder.calls                             # plus the bank_browser's copy: two deliveries
    from_browser = gateway.read_return(back, start.stored)
    from_server = gateway.read_notification(call['headers'], call['body'],
                                            stored_for=lambda order: start.stored)
    assert from_browser.event_id == from_server.event_id
    assert from_server.source == 'notification' and from_server.outcome == APPROVED


def test_drop_delivers_nothing(gateway, bank_browser, sandbox, recorder):
    bank_browser.post_json('/_control', {'behaviour': 'drop'})
    res, action, back = pay(bank_browser, gateway.start(info()))
    sandbox.deliverer.wait()
    assert back is None and recorder.calls == [] and 'Pago aprobado' in res.text


def test_gateways_from_settings_take_the_secret_from_the_callers_resolve(monkeypatch):
    monkeypatch.setenv('TEST_BBVA_SECRET', 'not-this-one')
    settings = {'canonportal.banks': 'bbva', 'bbva.endpoint_url': ENDPOINT,
                'bbva.account': '8001', 'bbva.secret': 'vault:bbva'}
    gateways = gateways_from_settings(settings, {'vault:bbva': SECRET}.__getitem__)
    fields = dict(gateways['bbva'].start(info()).fields)
    assert fields['mp_signature'] == hand_sign(SECRET, '228', 'CME930812PW3', '36870.80')
    with pytest.raises(TypeError):      # no caller can forget to resolve the secrets
        gateways_from_settings(settings)
