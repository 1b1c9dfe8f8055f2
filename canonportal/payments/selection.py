"""Choosing what to pay: the payable invoices and the server-side validation of what
the browser sent, at the day's rate (:mod:`.day_rate`).

A pure service module: no Pyramid, no request. The SALDOS page ("Calcular")
and the pay view both call :func:`validate_selection`, so the amounts a
payment reserves are always the ones computed here from the stored invoices
and the stored rate, never the browser's.

Conversions are those of :mod:`canonportal.money` (and of ``static/saldos.js``,
which mirrors them): USD → MXN is ``usd × rate`` truncated to the cent, as the
ERP and the manual do; MXN → USD is ``mxn / rate`` rounded half up.
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal

from translationstring import TranslationStringFactory

from ..formatting import money as format_money
from ..money import (
    ZERO, AmountError, TooManyDecimals, mxn_to_usd, parse_amount, to_money, usd_to_mxn,
)
from ..resources.invoice import MXN, USD
from .day_rate import DayRate, as_day_rate

# The same domain as canonportal.i18n, without importing Pyramid.
_ = TranslationStringFactory('canonportal')


#: Which amount of a row the customer typed last.
EDITED_MXN = 'mxn'
EDITED_USD = 'usd'

#: Form field names: the checkbox ``pick`` (value = invoice key) and, per key,
#: ``mxn-<key>``, ``usd-<key>``, ``edited-<key>`` (set by the JavaScript) and
#: ``prev-mxn-<key>`` / ``prev-usd-<key>`` (what the server last rendered, so
#: that without JavaScript we can tell which of the two amounts was edited).
PICK = 'pick'
MXN_PREFIX = 'mxn-'
USD_PREFIX = 'usd-'
EDITED_PREFIX = 'edited-'
PREV_MXN_PREFIX = 'prev-mxn-'
PREV_USD_PREFIX = 'prev-usd-'

#: At most this many invoices in one selection (a bound on the work per request).
MAX_ENTRIES = 10000

# Messages shown next to a field.
MSG_POSITIVE = _('Escriba una cantidad mayor que cero.')
MSG_DECIMALS = _('Use a lo más 2 decimales.')
MSG_NOT_NUMBER = _('Escriba una cantidad válida, por ejemplo 1234.56.')
MSG_UNKNOWN = _('Esta factura no existe o ya no tiene saldo por pagar.')
MSG_TOO_SMALL_USD = _('La cantidad es menor que un centavo de dólar al tipo de cambio del día.')


def payable_invoices(customer):
    """The customer's invoices with a pending balance, sorted by due date, then folio
    (the order of its index of open invoices).

    An invoice whose whole balance is already in transit stays on the list (its
    "Pago en Tránsito" is shown until the ERP applies the payment) but cannot be
    selected: see :func:`is_selectable`.
    """
    return list(customer.open_invoices)


def payable_page(customer, start, stop, accounts=None):
    """``(count, invoices)``: how many invoices are payable, and
    ``payable_invoices(customer)[start:stop]``, reading only that slice of the index.
    With ``accounts`` only theirs count (the index is read whole, filtered)."""
    if accounts is not None:
        mine = [invoice for invoice in customer.open_invoices if invoice.account in accounts]
        start = max(start, 0)
        return len(mine), mine[start:max(stop, start)]
    index = customer.open_invoices
    count = len(index)
    start = max(start, 0)
    return count, index.page(start, min(max(stop, start), count))


def payable_positions(customer, keys):
    """``{key: 0-based place in payable_invoices(customer)}`` for those of ``keys``
    that are payable."""
    wanted = set(keys)
    return customer.open_invoices.positions(wanted) if wanted else {}


def is_selectable(invoice, rate):
    """Whether ``invoice`` may be selected with ``rate`` (a :class:`DayRate`)."""
    return invoice.left_to_pay > ZERO and (invoice.currency == MXN or as_day_rate(rate).usable)


def left_amounts(invoice, rate):
    """``(left in MXN, left in USD or None)`` of an invoice at the day's rate.

    For a USD invoice without a usable rate the MXN amount is None.
    """
    rate = as_day_rate(rate)
    left = invoice.left_to_pay
    if invoice.currency == MXN:
        return left, None
    if not rate.usable:
        return None, left
    return usd_to_mxn(left, rate.rate), left


@dataclass
class Entry:
    """What the browser sent for one invoice."""

    key: str
    ticked: bool = False
    mxn: str = ''
    usd: str = ''
    edited: str = ''   # EDITED_MXN, EDITED_USD or '' (unknown)


@dataclass
class Line:
    """One invoice of a selection, with the amounts computed by the server.

    ``mxn_text`` / ``usd_text`` are what to show in the fields: the computed
    amounts when valid, what the customer typed otherwise. ``errors`` maps a
    field (``'mxn'``, ``'usd'`` or ``'invoice'``) to a message.
    """

    key: str
    invoice: object = None
    ticked: bool = False
    amount_mxn: Decimal = None
    amount_usd: Decimal = None
    mxn_text: str = ''
    usd_text: str = ''
    edited: str = ''
    errors: dict = field(default_factory=dict)

    @property
    def valid(self):
        return self.ticked and not self.errors and self.amount_mxn is not None

    @property
    def currency(self):
        return self.invoice.currency if self.invoice is not None else None

    @property
    def amount_currency(self):
        """The amount in the invoice's own currency (what its reservation takes)."""
        return self.amount_usd if self.currency == USD else self.amount_mxn


@dataclass
class Selection:
    """The outcome of :func:`validate_selection`."""

    rate: DayRate
    lines: dict   # invoice key -> Line (ticked rows only, in the order received)
    errors: list = field(default_factory=list)   # messages not tied to a row

    @property
    def chosen(self):
        """The valid lines: what a payment would take."""
        return [line for line in self.lines.values() if line.valid]

    @property
    def total_mxn(self):
        return sum((line.amount_mxn for line in self.chosen), ZERO)

    @property
    def has_errors(self):
        return bool(self.errors) or any(line.errors for line in self.lines.values())

    @property
    def ok(self):
        """Valid and not empty: ready to be paid."""
        return not self.has_errors and bool(self.chosen)

    def line_errors(self):
        return [line for line in self.lines.values() if line.errors]


def parse_typed(text):
    """``(Decimal, None)`` or ``(None, message)`` for an amount typed by a person:
    ``1234.5``, ``1,234.50``, ``$1,234.50``, ``1 234.50``; zeros after 2 decimals are fine."""
    body = re.sub(r'\s+', '', text or '')     # spaces pasted from a spreadsheet
    if len(body) > 32:
        return None, MSG_NOT_NUMBER
    try:
        value = parse_amount(body, trailing_zeros=True)
    except TooManyDecimals:
        return None, MSG_DECIMALS
    except AmountError:
        return None, MSG_NOT_NUMBER
    if value <= 0:
        return None, MSG_POSITIVE
    return value, None


def _typed(line, field, text, left, currency):
    """The amount typed in ``field`` if it is one and at most ``left``; else None, with the
    reason on the line."""
    value, problem = parse_typed(text)
    if problem is None and value > left:
        problem = _over_message(left, currency)
    if problem is not None:
        line.errors[field] = problem
        return None
    return value


def _over_message(limit, currency):
    return over_message_template(format_money(limit, currency))


def over_message_template(amount):
    """The message for an amount over what is left, with ``amount`` (text) in it."""
    return _('La cantidad excede lo que queda por pagar de esta factura (${amount}).',
             mapping={'amount': amount})


def _plain(value):
    return '' if value is None else f'{value:.2f}'


def validate_line(invoice, rate, entry):
    """Validate one ticked entry against ``invoice`` (which may be None)."""
    rate = as_day_rate(rate)
    line = Line(key=entry.key, invoice=invoice, ticked=True, mxn_text=(entry.mxn or '').strip(),
                usd_text=(entry.usd or '').strip(), edited=entry.edited)
    if invoice is None or invoice.left_to_pay <= ZERO:
        line.errors['invoice'] = MSG_UNKNOWN
        return line
    left = invoice.left_to_pay
    if invoice.currency == MXN:
        line.usd_text = ''
        if not line.mxn_text:
            mxn = left
        else:
            mxn = _typed(line, 'mxn', line.mxn_text, left, MXN)
            if mxn is None:
                return line
        line.amount_mxn = to_money(mxn)
        line.mxn_text = _plain(line.amount_mxn)
        return line

    # A USD invoice: paid in MXN at the day's stored rate.
    if not rate.usable:
        line.errors['mxn'] = rate.reason
        return line
    source = entry.edited
    if source not in (EDITED_MXN, EDITED_USD):
        source = EDITED_MXN if line.mxn_text or not line.usd_text else EDITED_USD
    if source == EDITED_MXN and not line.mxn_text or source == EDITED_USD and not line.usd_text:
        usd = left
        mxn = usd_to_mxn(usd, rate.rate)
    elif source == EDITED_USD:
        usd = _typed(line, 'usd', line.usd_text, left, USD)
        if usd is None:
            return line
        mxn = usd_to_mxn(usd, rate.rate)
    else:
        mxn = _typed(line, 'mxn', line.mxn_text, usd_to_mxn(left, rate.rate), MXN)
        if mxn is None:
            return line
        usd = mxn_to_usd(mxn, rate.rate)
        if usd <= ZERO:
            line.errors['mxn'] = MSG_TOO_SMALL_USD
            return line
    line.amount_mxn, line.amount_usd = to_money(mxn), to_money(usd)
    line.mxn_text, line.usd_text = _plain(line.amount_mxn), _plain(line.amount_usd)
    return line


def validate_selection(customer, rate, entries, accounts=None):
    """Validate what the browser sent against the customer's stored invoices.

    ``rate`` is the :class:`DayRate` from :func:`day_rate` (a Decimal is taken
    as a usable rate); ``entries`` are :class:`Entry` objects (or a mapping
    key → Entry). Unticked entries are ignored. Nothing is written. With ``accounts``
    (a person limited to some ERP accounts), another account's invoice is as unknown.
    """
    rate = as_day_rate(rate)
    if isinstance(entries, dict):
        entries = entries.values()
    lines, errors = {}, []
    for entry in entries:
        if not entry.ticked or entry.key in lines:
            continue
        if len(lines) >= MAX_ENTRIES:
            errors.append(_('Seleccione a lo más ${max} facturas por pago.',
                            mapping={'max': str(MAX_ENTRIES)}))
            break
        invoice = customer.invoices.get(entry.key) if _valid_key(entry.key) else None
        if invoice is not None and accounts is not None and invoice.account not in accounts:
            invoice = None
        lines[entry.key] = validate_line(invoice, rate, entry)
    return Selection(rate=rate, lines=lines, errors=errors)


def _valid_key(key):
    return isinstance(key, str) and 0 < len(key) <= 100


#: Fields one SALDOS row may post: pick, mxn-, usd-, edited-, prev-mxn- and prev-usd-.
FIELDS_PER_INVOICE = 6
#: Fields of the form that belong to no row (CSRF token, page, bank, confirmation…),
#: with room to spare.
OTHER_FIELDS = 20
MSG_TOO_MANY_FIELDS = _('El formulario trae más facturas de las que tiene por pagar. '
                        'Vuelva a SALDOS y seleccione de nuevo.')


class TooManyFields(ValueError):
    """The form posts more fields than the customer's open invoices could have."""


def payable_count(customer):
    """How many invoices the customer has with a pending balance."""
    return len(customer.open_invoices)


def field_limit(customer):
    """The most fields a genuine SALDOS or pay form of ``customer`` posts."""
    return FIELDS_PER_INVOICE * min(payable_count(customer), MAX_ENTRIES) + OTHER_FIELDS


def check_field_count(customer, params):
    """Refuse a form with more fields (or ticked invoices) than the customer has open
    invoices, before any work on it: a flood of ``pick`` fields must cost nothing."""
    limit = field_limit(customer)
    if len(params) > limit:
        raise TooManyFields(len(params), limit)


def entries_from_form(params):
    """Read :class:`Entry` objects from a form (a WebOb MultiDict or any mapping
    with ``items``): the ticked keys and their amounts.

    The fields are read in one pass (a MultiDict looks a name up by scanning all
    of its fields, so one ``get`` per ticked key would cost the square of the
    form's size); the last value of a repeated name wins, as ``MultiDict.get``.

    Without JavaScript nobody tells us which amount was edited, so it is the one
    that differs from what the server last rendered (``prev-…``); MXN wins a tie.
    """
    picked, values = [], {}
    for name, value in params.items():
        if name == PICK:
            if isinstance(value, (list, tuple)):
                picked.extend(value)
            else:
                picked.append(value)
        else:
            values[name] = value
    get = values.get
    entries = {}
    for key in picked:
        if not isinstance(key, str) or key in entries:
            continue
        mxn = get(MXN_PREFIX + key, '') or ''
        usd = get(USD_PREFIX + key, '') or ''
        edited = get(EDITED_PREFIX + key, '')
        if edited not in (EDITED_MXN, EDITED_USD):
            prev_mxn = get(PREV_MXN_PREFIX + key)
            prev_usd = get(PREV_USD_PREFIX + key)
            if prev_usd is not None and usd.strip() != prev_usd.strip() and (
                    prev_mxn is None or mxn.strip() == prev_mxn.strip()):
                edited = EDITED_USD
            elif mxn.strip():
                edited = EDITED_MXN
            else:
                edited = EDITED_USD if usd.strip() else ''
        entries[key] = Entry(key=key, ticked=True, mxn=mxn, usd=usd, edited=edited)
        if len(entries) > MAX_ENTRIES:
            break
    return list(entries.values())
