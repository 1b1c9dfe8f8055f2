"""BBVA México: Multipagos Express.

``start`` gives an auto-submitted form for the bank's endpoint, signed with
``mp_signature = hex(HMAC-SHA256(secret, mp_order + mp_reference + mp_amount))``.

The bank answers by making the browser POST back to ``mp_urlsuccess`` /
``mp_urlfailure``; that post-back is also the notification. It is accepted
only when ``mp_signature`` equals HMAC-SHA256(secret, mp_order + mp_reference
+ mp_amount + mp_authorization), computed over the exact strings received and
compared in constant time.

Outcomes:

* ``mp_response == "00"`` and an authorization of 6 letters/digits other than
  ``000000`` → approved;
* ``mp_response`` in :data:`CANCEL_RESPONSES` (``"99"``, the sandbox's
  "cancelled by the customer") → cancelled;
* a real authorization with any other response → unknown (the signed
  authorization says "authorized" while the unsigned ``mp_response`` says
  otherwise: left for reconciliation / review, never approved, never released);
* anything else → declined.

The signature does not cover ``mp_response``, ``mp_currency`` or the card
details, and the concatenation has no separators, so a signed message can be
re-cut (order "2300" + reference "DIS…" reads as order "230" + reference
"0DIS…"). A post-back is therefore checked against what :meth:`start` stored
for the payment it came back to: order, reference and amount must be exactly
what we sent, the signature is recomputed from those stored strings plus the
received authorization, and a currency other than ours is refused; any
mismatch is a :class:`RejectedMessage` (403, nothing changes). The caller still
processes one authorization only once (``event_id``). There is no status
query: :meth:`BBVAGateway.query` returns None.
"""
import hashlib
import hmac
import re
from urllib.parse import parse_qsl

from .base import (
    APPROVED, CANCELLED, DECLINED, SOURCE_NOTIFICATION, SOURCE_RETURN, UNKNOWN,
    BankResult, Gateway, StartResult, format_amount, parse_amount, reject,
)
from . import base

CURRENCY_CODES = {'MXN': '1', 'USD': '2'}
CURRENCY_NAMES = {code: name for name, code in CURRENCY_CODES.items()}
APPROVED_RESPONSE = '00'
#: mp_response codes meaning "the customer cancelled" (the sandbox sends "99").
CANCEL_RESPONSES = frozenset({'99'})

#: ``mp_response`` codes (ISO 8583, as the acquirer passes on the card issuer's answer)
#: of a payment that did not go through.
RESPONSE_REASONS = {
    '01': base.REASON_DECLINED, '02': base.REASON_DECLINED, '05': base.REASON_DECLINED,
    '12': base.REASON_DECLINED, '57': base.REASON_BLOCKED, '62': base.REASON_BLOCKED,
    '04': base.REASON_BLOCKED, '07': base.REASON_BLOCKED, '41': base.REASON_BLOCKED,
    '43': base.REASON_BLOCKED, '59': base.REASON_BLOCKED,
    '51': base.REASON_INSUFFICIENT_FUNDS,
    '54': base.REASON_EXPIRED_CARD,
    '14': base.REASON_CARD_DETAILS, '55': base.REASON_CARD_DETAILS,
    '82': base.REASON_CARD_DETAILS, 'N7': base.REASON_CARD_DETAILS,
    '61': base.REASON_LIMIT, '65': base.REASON_LIMIT,
    '68': base.REASON_TIMED_OUT, '91': base.REASON_TIMED_OUT,
    '96': base.REASON_SYSTEM_ERROR,
    '99': base.REASON_CANCELLED,
}

_ORDER = re.compile(r'^[A-Za-z0-9_-]{1,40}$')
_AUTHORIZATION = re.compile(r'^[A-Za-z0-9]{6}$')
_HEX64 = re.compile(r'^[0-9a-fA-F]{64}$')
#: Response fields kept with the payment; card data only as masked by the bank.
KEPT_FIELDS = (
    'mp_order', 'mp_reference', 'mp_amount', 'mp_response', 'mp_responsemsg',
    'mp_authorization', 'mp_pan', 'mp_cardholdername', 'mp_cardType', 'mp_paymentMethod',
    'mp_bankname', 'mp_bankcode', 'mp_date', 'mp_folio', 'mp_saleid', 'mp_trx_historyid',
    'mp_currency',
)


def sign(secret, *parts):
    """Lowercase hex HMAC-SHA256 of the concatenated ``parts``, keyed with ``secret``."""
    message = ''.join(parts).encode('utf-8')
    return hmac.new(secret.encode('utf-8'), message, hashlib.sha256).hexdigest()


def mask_pan(pan):
    """Only the last four digits of a card number survive, the length is kept."""
    text = re.sub(r'[\s-]', '', pan or '')[:24]
    if len(text) <= 4:
        return '*' * len(text)
    tail = text[-4:] if text[-4:].isdigit() else '****'
    return '*' * (len(text) - 4) + tail


def _clean(text, limit):
    """Free text for the bank's form: no control characters, bounded."""
    return re.sub(r'[\x00-\x1f\x7f]', ' ', text or '').strip()[:limit]


class BBVAGateway(Gateway):
    """BBVA Multipagos Express: signed form out, signed post-back in."""

    name = 'bbva'
    title = 'BBVA Bancomer'
    decline_codes = ('mp_response', RESPONSE_REASONS)

    def __init__(self, endpoint_url, account, secret, product='1', node='0'):
        if not endpoint_url or not account or not secret:
            raise ValueError('bbva needs endpoint_url, account and secret')
        self.endpoint_url = endpoint_url
        self.account = account
        self._secret = secret
        self.product = product
        self.node = node

    def __repr__(self):
        return f'<BBVAGateway account={self.account} endpoint={self.endpoint_url}>'

    def start(self, payment_info):
        info = payment_info
        if info.currency not in CURRENCY_CODES:
            raise ValueError(f'BBVA does not take {info.currency}')
        amount = format_amount(info.amount)
        reference = _clean(info.customer_rfc, 40)
        fields = [
            ('mp_account', self.account),
            ('mp_product', self.product),
            ('mp_order', info.reference),
            ('mp_reference', reference),
            ('mp_node', self.node),
            ('mp_concept', _clean(info.description, 100)),
            ('mp_amount', amount),
            ('mp_customername', _clean(info.customer_name, 100)),
            ('mp_currency', CURRENCY_CODES[info.currency]),
            ('mp_urlsuccess', info.return_url),
            ('mp_urlfailure', info.failure_url or info.return_url),
            ('mp_email', _clean(info.customer_email, 100)),
            ('mp_signature', sign(self._secret, info.reference, reference, amount)),
        ]
        return StartResult(
            method='POST', url=self.endpoint_url, fields=tuple(fields),
            stored={'order_id': info.reference, 'reference': reference,
                    'amount': amount, 'currency': info.currency},
        )

    def resume(self, payment_info, stored):
        """The same signed form again: the same order, reference and amount."""
        if (stored or {}).get('order_id') != payment_info.reference:
            return None
        return self.start(payment_info)

    def read_return(self, params, stored=None):
        if params is None or not any(str(key).startswith('mp_') for key in params.keys()):
            return None
        return self._verify(params, SOURCE_RETURN, stored)

    def read_notification(self, headers, body, form=None, stored_for=None):
        """``stored_for(order)`` gives what :meth:`start` stored for the payment the
        post-back names (None when there is none): without it nothing is believed."""
        if form is None:
            text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else (body or '')
            form = dict(parse_qsl(text, keep_blank_values=True))
        order = form.get('mp_order')
        stored = stored_for(order) if stored_for is not None and isinstance(order, str) else None
        if not stored:
            raise reject(self.name, SOURCE_NOTIFICATION,
                         f'post-back for no payment of ours (order {_loggable(order)})')
        return self._verify(form, SOURCE_NOTIFICATION, stored)

    def _verify(self, params, source, stored):
        def field(name):
            value = params.get(name)
            return value if isinstance(value, str) else None

        order, reference, amount = field('mp_order'), field('mp_reference'), field('mp_amount')
        authorization, signature = field('mp_authorization'), field('mp_signature')
        if not signature:
            raise reject(self.name, source, f'unsigned post-back (order {_loggable(order)})')
        if order is None or reference is None or amount is None or authorization is None:
            raise reject(self.name, source, f'post-back missing signed fields (order {_loggable(order)})')
        sent = _what_we_sent(stored)
        if sent is not None:
            # The signature has no separators ("230"+"0DIS…" = "2300"+"DIS…"): it proves
            # something only about the very fields we sent for this payment, so those
            # are what it is checked against, and a message that re-cuts them is refused.
            if (order, reference, amount) != sent[:3]:
                raise reject(self.name, source, f'post-back does not match what we sent for order '
                                                f'{_loggable(sent[0])} (got {_loggable(order)})')
            received_currency = field('mp_currency')
            if received_currency is not None and received_currency != CURRENCY_CODES.get(sent[3]):
                # Not signed: it cannot change anything, and a message that lies about it is not the bank's.
                raise reject(self.name, source, f'post-back with another currency (order {_loggable(order)})')
            order, reference, amount = sent[:3]
        expected = sign(self._secret, order, reference, amount, authorization)
        if not hmac.compare_digest(expected.encode('ascii'), signature.strip().lower().encode('utf-8', 'replace')) \
                or not _HEX64.match(signature.strip()):
            raise reject(self.name, source, f'bad signature (order {_loggable(order)})')
        # Authentic from here on; still refuse shapes we do not understand.
        parsed_amount = parse_amount(amount)
        if not _ORDER.match(order) or parsed_amount is None:
            raise reject(self.name, source, f'signed post-back with malformed order or amount (order {_loggable(order)})')

        response = (field('mp_response') or '').strip()
        real_authorization = bool(_AUTHORIZATION.match(authorization)) and authorization != '000000'
        if response == APPROVED_RESPONSE and real_authorization:
            outcome = APPROVED
        elif real_authorization:
            outcome = UNKNOWN
        elif response in CANCEL_RESPONSES:
            outcome = CANCELLED
        else:
            outcome = DECLINED

        currency = sent[3] if sent is not None else (
            CURRENCY_NAMES.get(field('mp_currency') or '') or 'MXN')
        raw = {}
        for name in KEPT_FIELDS:
            value = field(name)
            if value is not None:
                raw[name] = value[:120]
        if 'mp_pan' in raw:
            raw['mp_pan'] = mask_pan(raw['mp_pan'])
        return BankResult(
            bank=self.name,
            reference=order,
            outcome=outcome,
            amount=parsed_amount,
            currency=currency,
            authorization=authorization if outcome == APPROVED else None,
            bank_reference=f'BBVA {authorization}' if outcome == APPROVED else None,
            event_id=f'bbva:{order}:{authorization or "-"}:{response or "-"}',
            verified=True,
            source=source,
            customer_reference=reference,
            message=(field('mp_responsemsg') or '')[:120],
            raw=raw,
        )


def _what_we_sent(stored):
    """``(order, reference, amount, currency)`` as :meth:`BBVAGateway.start` sent them, or None
    for a payment started before they were kept."""
    stored = stored or {}
    sent = tuple(stored.get(name) for name in ('order_id', 'reference', 'amount', 'currency'))
    return sent if all(isinstance(value, str) and value for value in sent) else None


def _loggable(value):
    """An order id fit for a log line: short, printable."""
    if not value:
        return '-'
    return re.sub(r'[^A-Za-z0-9_-]', '?', value[:40])


def from_settings(settings, prefix='bbva.', transport=None, resolve=lambda v: v):
    """A :class:`BBVAGateway` from ini settings under ``prefix``."""
    return BBVAGateway(
        endpoint_url=settings.get(prefix + 'endpoint_url'),
        account=settings.get(prefix + 'account'),
        secret=resolve(settings.get(prefix + 'secret')),
        product=settings.get(prefix + 'product', '1'),
        node=settings.get(prefix + 'node', '0'),
    )
