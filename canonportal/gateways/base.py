"""The interface every bank plug-in implements, and the values it speaks in.

A gateway knows one bank's protocol and nothing of the portal: it turns a
:class:`PaymentInfo` into what the browser must be sent to (:class:`StartResult`)
and turns whatever comes back from the bank (browser return, notification,
server-to-server query) into a :class:`BankResult`.

What a gateway guarantees and what it leaves to its caller:

* A :class:`BankResult` with ``verified=True`` carries data that came from a
  verified source: a signature checked with the merchant secret, or an order
  retrieved server to server with the merchant credentials. Nothing else is
  ever marked verified.
* A message that fails authentication (wrong secret, bad or missing
  signature, malformed fields) raises :class:`RejectedMessage`. The gateway
  logs one line for it (no secrets, no card data); the caller need not log
  it again, it only answers the sender and changes nothing.
* A transport failure talking to the bank raises :class:`GatewayError`.
* The gateway does not know the portal's records: the caller must compare
  ``reference``, ``amount`` and ``currency`` (and ``customer_reference`` when
  present) with its own payment, e.g. with :meth:`BankResult.discrepancies`,
  and de-duplicate on ``event_id`` / its own state machine.
"""
import abc
import dataclasses
import datetime
import logging
import re
import types
from decimal import Decimal, InvalidOperation
from typing import Mapping, Optional

from translationstring import TranslationStringFactory

log = logging.getLogger('canonportal.gateways')

#: Marks the few words of a gateway that customers read (a bank's title) for the
#: portal's catalog; the gateway itself never translates anything.
translatable = TranslationStringFactory('canonportal')

APPROVED = 'approved'
DECLINED = 'declined'
CANCELLED = 'cancelled'
PENDING = 'pending'
#: The bank has no usable record of the order (e.g. the customer never paid),
#: or its verified data contradict themselves: never final, never approved.
UNKNOWN = 'unknown'
OUTCOMES = (APPROVED, DECLINED, CANCELLED, PENDING, UNKNOWN)

#: Why a bank declined a payment, whatever its protocol calls it: each plug-in maps its
#: own codes to these (:meth:`Gateway.decline_reason`); the portal says what they mean.
REASON_DECLINED = 'declined'                    # the card's bank said no, and not why
REASON_INSUFFICIENT_FUNDS = 'insufficient-funds'
REASON_EXPIRED_CARD = 'expired-card'
REASON_CARD_DETAILS = 'card-details'            # number, expiry, security code or PIN wrong
REASON_AUTHENTICATION = 'authentication'        # the card's bank could not verify the payer
REASON_BLOCKED = 'blocked'                      # card reported, restricted or held for fraud
REASON_LIMIT = 'limit'                          # over the card's amount or count limit
REASON_TIMED_OUT = 'timed-out'                  # the card's bank did not answer in time
REASON_SYSTEM_ERROR = 'system-error'            # a bank's system failed
REASON_CANCELLED = 'cancelled'                  # the payer gave up at the bank
DECLINE_REASONS = (REASON_DECLINED, REASON_INSUFFICIENT_FUNDS, REASON_EXPIRED_CARD,
                   REASON_CARD_DETAILS, REASON_AUTHENTICATION, REASON_BLOCKED, REASON_LIMIT,
                   REASON_TIMED_OUT, REASON_SYSTEM_ERROR, REASON_CANCELLED)

#: Where a result came from.
SOURCE_RETURN = 'return'
SOURCE_NOTIFICATION = 'notification'
SOURCE_QUERY = 'query'

CENT = Decimal('0.01')
_AMOUNT = re.compile(r'^[0-9]{1,12}\.[0-9]{2}$')


class GatewayError(Exception):
    """The bank could not be reached or answered something unusable."""


class RejectedMessage(Exception):
    """A message that claims to come from the bank failed verification.

    ``reason`` is safe to log: it never holds secrets or card data.
    """

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def reject(bank, source, reason):
    """Log one line about a refused bank message and return the exception to raise."""
    log.warning('rejected %s %s: %s', bank, source, reason)
    return RejectedMessage(reason)


def format_amount(amount):
    """``Decimal('36870.8')`` → ``'36870.80'``; refuses floats, negatives and fractions of a cent."""
    if isinstance(amount, float) or not isinstance(amount, (Decimal, int)):
        raise TypeError('amounts are Decimal')
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError(f'not a positive amount in cents: {amount}')
    return f'{amount.quantize(CENT):f}'


def parse_amount(text):
    """A bank's ``'36870.80'`` as a Decimal; None when it is not exactly that shape."""
    if not isinstance(text, str) or not _AMOUNT.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        return None


@dataclasses.dataclass(frozen=True)
class PaymentInfo:
    """What a gateway needs to start one payment.

    ``return_url`` is where the bank sends the browser back; ``failure_url``
    (BBVA's ``mp_urlfailure``, Citibanamex's ``cancelUrl``) defaults to it.
    Both are built by the caller from the configured public URL, never from
    the request's Host header.
    """

    reference: str
    amount: Decimal
    currency: str
    description: str
    customer_rfc: str
    customer_name: str
    customer_email: str
    return_url: str
    failure_url: Optional[str] = None

    def __post_init__(self):
        format_amount(self.amount)  # validates
        if not re.match(r'^[A-Za-z0-9_-]{1,40}$', self.reference or ''):
            raise ValueError('a payment reference is 1-40 letters, digits, - or _')


@dataclasses.dataclass(frozen=True)
class StartResult:
    """Where to send the browser, and what to keep server side.

    ``method == 'GET'``: redirect the browser to ``url`` (303).
    ``method == 'POST'``: render an auto-submitted form with ``action = url``
    and the hidden ``fields`` (ordered pairs).
    ``stored`` holds strings to save with the payment (e.g. Citibanamex's
    ``success_indicator``): they must never be sent to the browser, and the
    gateway wants them back in ``read_return`` / ``query``.
    """

    method: str
    url: str
    fields: tuple = ()
    stored: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def is_redirect(self):
        return self.method == 'GET'

    def stored_dict(self):
        """``stored`` as a plain dict of strings, ready to persist."""
        return {str(k): str(v) for k, v in self.stored.items()}


@dataclasses.dataclass(frozen=True)
class BankResult:
    """What the bank says about one payment. Immutable.

    ``reference``: our payment reference as the bank echoed it.
    ``outcome``: one of :data:`OUTCOMES`.
    ``amount`` / ``currency``: as the bank states them (None when unknown).
    ``authorization``: the authorization code (6 characters) or None.
    ``bank_reference``: text to show the customer ("BC-Banamex 063197").
    ``event_id``: identifies the bank event, the same for every copy of it
    (return, notification, query of one transaction state).
    ``verified``: the data came from a signature or a server-to-server retrieval.
    ``customer_reference``: the second reference the bank echoes (BBVA's
    ``mp_reference``: the customer's RFC), or None.
    ``message``: the bank's own short text for the outcome.
    ``hint``: the unverified claim of the browser return, if any
    (Citibanamex: ``'indicator-match'`` / ``'indicator-mismatch'``).
    ``raw``: the verified fields, strings only; never a full card number or a secret.
    """

    bank: str
    reference: str
    outcome: str
    amount: Optional[Decimal]
    currency: Optional[str]
    authorization: Optional[str]
    bank_reference: Optional[str]
    event_id: str
    verified: bool
    source: str
    customer_reference: Optional[str] = None
    message: str = ''
    hint: Optional[str] = None
    raw: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f'unknown outcome {self.outcome!r}')
        object.__setattr__(self, 'raw', types.MappingProxyType(
            {str(k): str(v) for k, v in dict(self.raw).items()}))

    @property
    def approved(self):
        return self.verified and self.outcome == APPROVED

    def bank_data(self):
        """The verified fields as a plain dict of strings (picklable, for the payment)."""
        return dict(self.raw)

    def discrepancies(self, reference, amount, currency, customer_reference=None):
        """What differs from the portal's own record; an empty tuple when all match."""
        found = []
        if self.reference != str(reference):
            found.append('reference')
        if self.amount is None or self.amount != Decimal(amount):
            found.append('amount')
        if self.currency != currency:
            found.append('currency')
        if (customer_reference is not None and self.customer_reference is not None
                and self.customer_reference != customer_reference):
            found.append('customer')
        return tuple(found)


class Gateway(abc.ABC):
    """One bank. Instances are shared by all threads: keep them stateless."""

    #: Short name used in settings and stored with the payment ('banamex', 'bbva').
    name = None
    #: Name shown to customers.
    title = None
    #: The bank's own decline codes: ``(field of BankResult.raw, {code: DECLINE_REASONS item})``.
    decline_codes = (None, {})
    #: How long after the start "Continuar el pago" may send the customer back
    #: (None: as long as the payment waits). Citibanamex keeps a session an hour.
    resume_window = datetime.timedelta(minutes=55)
    #: Whether the customer pays on the bank's own page (a card): "Continuar el pago" sends
    #: them back there. A transfer is sent from the customer's bank with our instructions.
    has_bank_page = True

    @classmethod
    def decline_reason(cls, raw):
        """``(reason, code)`` of a decline whose verified fields are ``raw``: one of
        :data:`DECLINE_REASONS` (:data:`REASON_DECLINED` for a code this bank's table does
        not know) and the bank's own code ('' when it sent none)."""
        field, table = cls.decline_codes
        code = str((raw or {}).get(field) or '').strip()[:40] if field else ''
        return table.get(code.upper(), REASON_DECLINED), code

    @abc.abstractmethod
    def start(self, payment_info):
        """Prepare the bank for ``payment_info``; return a :class:`StartResult`.

        May call the bank (raises :class:`GatewayError`). Call it after the
        payment is committed, never inside a transaction that may be retried.
        """

    @abc.abstractmethod
    def read_return(self, params, stored):
        """Read the browser's return (``params``: its query or form fields).

        ``stored`` is what :meth:`start` asked to keep. Returns a
        :class:`BankResult`, or None when the return carries nothing to read.
        Raises :class:`RejectedMessage` for forged data and
        :class:`GatewayError` when the bank cannot be asked.
        """

    @abc.abstractmethod
    def read_notification(self, headers, body, form=None, stored_for=None):
        """Read a notification the bank POSTed to the portal.

        ``stored_for(reference)`` returns what :meth:`start` stored for our payment of
        that reference (or None), for banks whose messages must be checked against it.

        ``headers``: the request headers; ``body``: the raw body (bytes);
        ``form``: the parsed form fields when the body is a form.
        Returns a :class:`BankResult` or raises :class:`RejectedMessage`
        (answer the sender with an error and change nothing) or
        :class:`GatewayError`.
        """

    def resume(self, payment_info, stored):
        """Send the customer back to the bank for a payment already started (the tab
        was closed): a :class:`StartResult`, or None when the protocol allows no way
        back. Never a second charge: the same order, at the same amount."""
        return None

    def deadline(self, created):
        """When a payment started at ``created`` stops waiting, if the method sets its own
        (SPEI: business days); None: the portal's window for bank answers applies."""
        return None

    def query(self, reference, stored):
        """Ask the bank server to server about ``reference``.

        Returns a verified :class:`BankResult`, or None when the bank offers
        no query (BBVA Multipagos). Raises :class:`GatewayError`.
        """
        return None

    def close(self):
        """Release network resources."""


def header(headers, name):
    """Case-insensitive header lookup on any mapping."""
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = None
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in dict(headers).items():
        if key.lower() == lowered:
            return value
    return None
