"""Money arithmetic: Decimal only, two decimals, half up."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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


def usd_to_mxn(usd, rate):
    return to_money(Decimal(usd) * Decimal(rate))


def mxn_to_usd(mxn, rate):
    return to_money(Decimal(mxn) / Decimal(rate))


def parse_amount(text):
    """Parse what a person typed as an amount: '1,234.50', '$1234.5'.

    Returns a Decimal with the digits as typed (not rounded), or raises
    ValueError with a reason. At most 2 decimals are allowed.
    """
    cleaned = (text or '').strip().replace(',', '').replace('$', '').strip()
    if not cleaned:
        raise ValueError('empty')
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError('not a number') from None
    if not value.is_finite():
        raise ValueError('not a number')
    if value.as_tuple().exponent < -2:
        raise ValueError('more than 2 decimals')
    return value
