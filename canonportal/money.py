"""Money arithmetic: Decimal only, two decimals.

Rounding is half up, with one exception: converting USD to MXN truncates to
the cent, as the ERP and the manual do (167.94 USD × 18.8869 = 3,171.865986
→ $3,171.86 MXN, so the manual's three invoices total $36,870.80). The
customer is never charged a fraction of a cent more than the USD amount is
worth, and the way back (MXN → USD, half up) still gives 167.94.
"""
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal('0.01')
RATE_QUANTUM = Decimal('0.0001')
ZERO = Decimal('0.00')


def to_money(value):
    """Return ``value`` as a Decimal rounded half up to cents.

    Accepts Decimal, int or str; floats are refused because they cannot hold
    cents exactly.
    """
    if isinstance(value, float):
        raise TypeError('money is never a float')
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_rate(value):
    """Return an exchange rate with exactly 4 decimals (Banxico's FIX)."""
    if isinstance(value, float):
        raise TypeError('rates are never floats')
    return Decimal(value).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def _exact(value):
    """``value`` as a Decimal, refusing floats (they would bring binary noise)."""
    if isinstance(value, float):
        raise TypeError('money and rates are never floats')
    return Decimal(value)


def usd_to_mxn(usd, rate):
    """USD at ``rate`` in MXN, truncated to the cent (see the module docstring)."""
    return (_exact(usd) * _exact(rate)).quantize(CENT, rounding=ROUND_DOWN)


def mxn_to_usd(mxn, rate):
    return to_money(_exact(mxn) / _exact(rate))


#: An amount as people write it: ASCII digits, optionally grouped by thousands
#: with commas (1,234,567), optionally a point and decimals. No exponents.
_TYPED_AMOUNT = re.compile(r'(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+')


class AmountError(ValueError):
    """What a person typed is not an amount; ``str()`` says why, in English."""


class EmptyAmount(AmountError):
    pass


class NotANumber(AmountError):
    pass


class TooManyDecimals(AmountError):
    pass


def parse_amount(text, trailing_zeros=False):
    """Parse what a person typed as an amount: '1,234.50', '$1234.5'.

    Returns a Decimal with the digits as typed (not rounded), or raises an
    :class:`AmountError`: :class:`EmptyAmount`, :class:`NotANumber` or
    :class:`TooManyDecimals`. At most 2 decimals are allowed (with
    ``trailing_zeros``, zeros after them are too: '12.500'). An optional
    ``-`` before or after the ``$`` is kept (callers decide whether negatives
    make sense).

    Refused as 'not a number': commas that are not thousands separators
    ('12,34' would silently mean 1234), exponents ('1e3'), 'NaN',
    'Infinity' and non-ASCII digits.
    """
    cleaned = (text or '').strip()
    sign = ''
    if cleaned[:1] in ('-', '+'):
        sign, cleaned = cleaned[0], cleaned[1:].lstrip()
    if cleaned.startswith('$'):
        cleaned = cleaned[1:].strip()
        if not sign and cleaned[:1] == '-':
            sign, cleaned = '-', cleaned[1:].lstrip()
    if not cleaned:
        raise EmptyAmount('empty')
    if not _TYPED_AMOUNT.fullmatch(cleaned):
        raise NotANumber('not a number')
    if trailing_zeros and '.' in cleaned:
        cleaned = cleaned.rstrip('0').rstrip('.') or '0'
    try:
        value = Decimal(sign + cleaned.replace(',', ''))
    except InvalidOperation:
        raise NotANumber('not a number') from None
    if not value.is_finite():
        raise NotANumber('not a number')
    if value.as_tuple().exponent < -2:
        raise TooManyDecimals('more than 2 decimals')
    return value
