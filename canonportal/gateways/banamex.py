"""Citibanamex: Mastercard Gateway Hosted Checkout.

1. ``start``: create a checkout session server to server (HTTP Basic
   ``merchant.{id}`` + API password); keep ``successIndicator`` server side;
   send the browser to the hosted payment page of the session.
2. ``read_return``: the browser comes back with ``resultIndicator``. It is
   compared with the stored ``successIndicator`` in constant time, but only as
   a hint: whatever it says, the order is retrieved server to server and the
   retrieved order is the truth. So a matching indicator on an order that is
   not captured is *not* approved, and a mismatching (tampered, truncated)
   indicator on an order the gateway reports CAPTURED *is* approved — the
   money was taken, and only a retrieval authenticated with our own
   credentials can say so. The hint is kept in ``BankResult.hint``.
3. ``read_notification``: the webhook is accepted only with the right
   ``X-Notification-Secret``; its body is then used only for the order id,
   and the order is retrieved (bodies can be replayed, delivery is not
   guaranteed).
4. ``query``: ``GET …/order/{orderId}``.
"""
import hmac
import json
import logging
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from . import http
from .base import (
    APPROVED, CANCELLED, CENT, DECLINED, PENDING, SOURCE_NOTIFICATION, SOURCE_QUERY,
    SOURCE_RETURN, UNKNOWN, BankResult, Gateway, GatewayError, StartResult,
    format_amount, header, reject,
)
from . import base

log = logging.getLogger('canonportal.gateways')

STATUS_OUTCOMES = {
    'CAPTURED': APPROVED,
    'PURCHASED': APPROVED,
    'DECLINED': DECLINED,
    'FAILED': DECLINED,
    'CANCELLED': CANCELLED,
}
#: The Mastercard Gateway's ``response.gatewayCode`` of a payment that did not go through.
GATEWAY_CODE_REASONS = {
    'DECLINED': base.REASON_DECLINED,
    'DECLINED_DO_NOT_CONTACT': base.REASON_DECLINED,
    'DECLINED_PAYMENT_PLAN': base.REASON_DECLINED,
    'REFERRED': base.REASON_DECLINED,
    'NOT_SUPPORTED': base.REASON_DECLINED,
    'DECLINED_AVS': base.REASON_CARD_DETAILS,
    'DECLINED_CSC': base.REASON_CARD_DETAILS,
    'DECLINED_AVS_CSC': base.REASON_CARD_DETAILS,
    'DECLINED_INVALID_PIN': base.REASON_CARD_DETAILS,
    'DECLINED_PIN_REQUIRED': base.REASON_CARD_DETAILS,
    'INSUFFICIENT_FUNDS': base.REASON_INSUFFICIENT_FUNDS,
    'EXPIRED_CARD': base.REASON_EXPIRED_CARD,
    'AUTHENTICATION_FAILED': base.REASON_AUTHENTICATION,
    'AUTHENTICATION_IN_PROGRESS': base.REASON_AUTHENTICATION,
    'BLOCKED': base.REASON_BLOCKED,
    'TIMED_OUT': base.REASON_TIMED_OUT,
    'ACQUIRER_SYSTEM_ERROR': base.REASON_SYSTEM_ERROR,
    'SYSTEM_ERROR': base.REASON_SYSTEM_ERROR,
    'UNSPECIFIED_FAILURE': base.REASON_SYSTEM_ERROR,
    'ABORTED': base.REASON_CANCELLED,
    'CANCELLED': base.REASON_CANCELLED,
}
_SAFE_ID = re.compile(r'^[A-Za-z0-9_.-]{1,100}$')
_CARD_DIGITS = re.compile(r'\d{7,}')


def mask_card(number):
    """Keep a masked PAN masked: any run of 7+ digits keeps only its first 6 and last 4."""
    def hide(match):
        digits = match.group(0)
        return digits[:6] + 'x' * (len(digits) - 10) + digits[-4:] if len(digits) > 10 else 'x' * len(digits)
    return _CARD_DIGITS.sub(hide, number or '')


def _text(value):
    return '' if value is None else str(value)


def _amount(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(CENT) if amount.is_finite() else None


class BanamexGateway(Gateway):
    """Citibanamex through the Mastercard Gateway's REST API."""

    name = 'banamex'
    title = 'Citibanamex'
    decline_codes = ('gateway_code', GATEWAY_CODE_REASONS)

    def __init__(self, base_url, merchant_id, api_password, notification_secret=None,
                 merchant_name='', api_version=73, transport=None, client=None):
        if not base_url or not merchant_id or not api_password:
            raise ValueError('banamex needs base_url, merchant_id and api_password')
        self.base_url = base_url.rstrip('/')
        self.merchant_id = merchant_id
        self._auth = (f'merchant.{merchant_id}', api_password)
        self._notification_secret = notification_secret or None
        self.merchant_name = merchant_name
        self.api_version = int(api_version)
        self._client = client or http.make_client(transport)

    def __repr__(self):
        return f'<BanamexGateway merchant={self.merchant_id} base={self.base_url}>'

    @property
    def api_url(self):
        return (f'{self.base_url}/api/rest/version/{self.api_version}'
                f'/merchant/{quote(self.merchant_id, safe="")}')

    def checkout_url(self, session_id):
        """The hosted payment page of a session."""
        return f'{self.base_url}/checkout/pay/{quote(session_id, safe="")}'

    def resume(self, payment_info, stored):
        """The hosted page of the session already open for this order (the gateway
        keeps it valid for an hour; the caller does not offer it later)."""
        session_id = (stored or {}).get('session_id')
        if not isinstance(session_id, str) or not _SAFE_ID.match(session_id) \
                or stored.get('order_id') != payment_info.reference:
            return None
        return StartResult(method='GET', url=self.checkout_url(session_id), stored=dict(stored))

    def close(self):
        self._client.close()

    # -- start -------------------------------------------------------------

    def start(self, payment_info):
        info = payment_info
        interaction = {
            'operation': 'PURCHASE' if self.api_version >= 63 else 'PAY',
            'returnUrl': info.return_url,
            'merchant': {'name': self.merchant_name},
        }
        if info.failure_url:
            interaction['cancelUrl'] = info.failure_url
        body = {
            'apiOperation': 'INITIATE_CHECKOUT' if self.api_version >= 63 else 'CREATE_CHECKOUT_SESSION',
            'order': {
                'id': info.reference,
                'amount': format_amount(info.amount),
                'currency': info.currency,
                'description': info.description[:127],
            },
            'interaction': interaction,
        }
        # Sent once: retrying a session POST could create two sessions.
        response = http.post_once(self._client, f'{self.api_url}/session', json=body, auth=self._auth)
        if response.status_code == 401:
            raise GatewayError('session refused: authentication failed')
        if response.status_code not in (200, 201):
            raise GatewayError(f'session refused: HTTP {response.status_code}')
        try:
            data = response.json()
            session_id = data['session']['id']
            indicator = data['successIndicator']
        except (ValueError, KeyError, TypeError):
            raise GatewayError('session answer unreadable') from None
        if data.get('result') != 'SUCCESS' or not isinstance(session_id, str) \
                or not _SAFE_ID.match(session_id) or not isinstance(indicator, str) or not indicator:
            raise GatewayError('session answer unusable')
        return StartResult(
            method='GET',
            url=self.checkout_url(session_id),
            stored={
                'order_id': info.reference,
                'session_id': session_id,
                'success_indicator': indicator,
                'amount': format_amount(info.amount),
                'currency': info.currency,
            },
        )

    # -- browser return ----------------------------------------------------

    def read_return(self, params, stored):
        stored = stored or {}
        order_id = stored.get('order_id')
        if not order_id:
            return None
        indicator = params.get('resultIndicator') if params is not None else None
        expected = stored.get('success_indicator')
        if indicator and expected:
            matched = hmac.compare_digest(indicator.encode('utf-8', 'replace'), expected.encode('utf-8'))
            hint = 'indicator-match' if matched else 'indicator-mismatch'
        else:
            hint = None
        result = self._retrieve(order_id, SOURCE_RETURN, hint)
        if hint == 'indicator-mismatch' and result.outcome == APPROVED:
            log.warning('banamex return for order %s: resultIndicator mismatch, '
                        'retrieved order is captured; the order wins', order_id)
        return result

    # -- webhook -----------------------------------------------------------

    def read_notification(self, headers, body, form=None, stored_for=None):
        secret = header(headers, 'X-Notification-Secret')
        if self._notification_secret is None:
            raise reject(self.name, 'notification', 'no notification secret configured')
        if not secret:
            raise reject(self.name, 'notification', 'missing X-Notification-Secret')
        if not hmac.compare_digest(secret.encode('utf-8', 'replace'),
                                   self._notification_secret.encode('utf-8')):
            raise reject(self.name, 'notification', 'wrong X-Notification-Secret')
        try:
            data = json.loads(body)
            order_id = data['order']['id']
        except (ValueError, KeyError, TypeError):
            raise reject(self.name, 'notification', 'body without order.id') from None
        order_id = str(order_id)
        if not _SAFE_ID.match(order_id):
            raise reject(self.name, 'notification', 'malformed order.id')
        # The body is not trusted beyond the order id: retrieve the order.
        result = self._retrieve(order_id, SOURCE_NOTIFICATION, None,
                                notification_id=_text(header(headers, 'X-Notification-Id'))[:100])
        return result

    # -- query -------------------------------------------------------------

    def query(self, reference, stored=None):
        return self._retrieve(str(reference), SOURCE_QUERY, None)

    def _retrieve(self, order_id, source, hint, notification_id=''):
        url = f'{self.api_url}/order/{quote(order_id, safe="")}'
        response = http.get_with_retries(self._client, url, auth=self._auth)
        if response.status_code == 401:
            raise GatewayError('order retrieval refused: authentication failed')
        try:
            data = response.json(parse_float=Decimal)
        except ValueError:
            raise GatewayError(f'order retrieval unreadable (HTTP {response.status_code})') from None
        if response.status_code == 404 or (response.status_code == 400 and _order_not_found(data)):
            return BankResult(
                bank=self.name, reference=order_id, outcome=UNKNOWN, amount=None, currency=None,
                authorization=None, bank_reference=None, event_id=f'banamex:{order_id}:none',
                verified=True, source=source, message='order not found', hint=hint,
                raw={'order_id': order_id, 'status': 'NOT_FOUND'},
            )
        if response.status_code != 200 or not isinstance(data, dict):
            raise GatewayError(f'order retrieval failed: HTTP {response.status_code}')
        if _text(data.get('id')) != order_id:
            raise GatewayError('retrieved order has another id')
        return self._result(data, order_id, source, hint, notification_id)

    def _result(self, data, order_id, source, hint, notification_id):
        status = _text(data.get('status')).upper()
        outcome = STATUS_OUTCOMES.get(status, PENDING)
        transactions = [t for t in (data.get('transaction') or []) if isinstance(t, dict)]
        last = transactions[-1] if transactions else {}
        last_txn = last.get('transaction') if isinstance(last.get('transaction'), dict) else {}
        gateway_code = _text((last.get('response') or {}).get('gatewayCode'))
        authorization = None
        receipt = ''
        for entry in reversed(transactions):
            txn = entry.get('transaction') or {}
            if entry.get('result') == 'SUCCESS' and txn.get('authorizationCode'):
                authorization = _text(txn['authorizationCode'])[:12]
                receipt = _text(txn.get('receipt'))[:40]
                break
        # Only an approved order has an authorization worth showing the customer.
        authorization_shown = authorization if outcome == APPROVED else None
        amount = _amount(data.get('amount'))
        currency = _text(data.get('currency')) or None
        card = (((data.get('sourceOfFunds') or {}).get('provided') or {}).get('card') or {})
        raw = {
            'order_id': order_id,
            'status': status,
            'result': _text(data.get('result')),
            'amount': f'{amount:f}' if amount is not None else '',
            'currency': currency or '',
            'total_captured_amount': _text(_amount(data.get('totalCapturedAmount'))),
            'transaction_id': _text(last_txn.get('id'))[:40],
            'gateway_code': gateway_code[:40],
            'authorization_code': authorization or '',
            'receipt': receipt,
            'card_brand': _text(card.get('brand'))[:20],
            'card_number': mask_card(_text(card.get('number')))[:25],
            # CREDIT / DEBIT: the payment complement's forma de pago (04 / 28) depends on it.
            'card_funding': _text(card.get('fundingMethod'))[:10],
        }
        if hint:
            raw['return_hint'] = hint
        if notification_id:
            raw['notification_id'] = notification_id
        return BankResult(
            bank=self.name,
            reference=order_id,
            outcome=outcome,
            amount=amount,
            currency=currency,
            authorization=authorization_shown,
            bank_reference=f'BC-Banamex {authorization_shown}' if authorization_shown else None,
            event_id=f'banamex:{order_id}:{status}:{raw["transaction_id"] or "-"}',
            verified=True,
            source=source,
            message=gateway_code or status,
            hint=hint,
            raw=raw,
        )


def _order_not_found(data):
    error = data.get('error') if isinstance(data, dict) else None
    return isinstance(error, dict) and error.get('field') == 'orderId'


def from_settings(settings, prefix='banamex.', transport=None, resolve=lambda v: v):
    """A :class:`BanamexGateway` from ini settings under ``prefix``."""
    def get(key, default=None):
        return settings.get(prefix + key, default)
    return BanamexGateway(
        base_url=get('base_url'),
        merchant_id=get('merchant_id'),
        api_password=resolve(get('api_password')),
        notification_secret=resolve(get('notification_secret')),
        merchant_name=get('merchant_name', ''),
        api_version=int(get('api_version', 73)),
        transport=transport,
    )
