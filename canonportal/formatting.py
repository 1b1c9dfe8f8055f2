"""Money, dates and times as Mexican users read them (Babel, es_MX by default).

A SALDOS page formats hundreds of amounts, so the locale and the number
patterns are parsed once per process (:func:`number_format`), and the common
case, a finite Decimal already rounded to the pattern's decimals, is formatted
by Python with the locale's symbols. That shortcut is only taken for a locale
whose Babel output it reproduced on a set of probe values; any other value
(NaN, more decimals than the pattern) goes through Babel itself.
"""
import datetime
import functools
from decimal import Decimal

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import (get_decimal_symbol, get_group_symbol, get_minus_sign_symbol,
                           parse_pattern)

from .clock import MEXICO_CITY
from .money import to_money, to_rate

_BABEL_LOCALES = {'es': 'es_MX', 'en': 'en_US'}

AMOUNT_PATTERN = '#,##0.00'
RATE_PATTERN = '#,##0.0000'

#: Values the shortcut must format exactly as Babel does before it is used.
_PROBES = ('0', '-0', '0.5', '-0.5', '1', '12', '123', '999.99', '1000', '-1000', '1234.5',
           '-27794.52', '99999', '100000', '1234567.891', '-1234567.8', '12345678901234.5')


def babel_locale(locale_name):
    return _BABEL_LOCALES.get((locale_name or 'es')[:2], 'es_MX')


@functools.lru_cache(maxsize=None)
def _locale(babel_name):
    return Locale.parse(babel_name)


@functools.lru_cache(maxsize=64)
def number_format(babel_name, pattern_text):
    """A function formatting a Decimal with ``pattern_text`` in locale ``babel_name``,
    as ``babel.numbers.format_decimal(..., decimal_quantization=False)`` does."""
    locale = _locale(babel_name)
    pattern = parse_pattern(pattern_text)

    def with_babel(value):
        return pattern.apply(value, locale, decimal_quantization=False)

    low, high = pattern.frac_prec
    grouping = pattern.grouping
    if low != high or grouping != (3, 3) or pattern.int_prec[0] != 1 \
            or pattern.prefix != ('', '-') or pattern.suffix != ('', ''):
        return with_babel
    exponent = -low
    spec = f',.{low}f'
    table = str.maketrans({',': get_group_symbol(locale), '.': get_decimal_symbol(locale),
                           '-': get_minus_sign_symbol(locale)})

    def with_python(value):
        if type(value) is not Decimal or not value.is_finite() \
                or value.as_tuple().exponent != exponent:
            return with_babel(value)
        return format(value, spec).translate(table)

    quantum = Decimal(1).scaleb(exponent)
    for probe in _PROBES:
        for value in (Decimal(probe), Decimal(probe).quantize(quantum)):
            if with_python(value) != with_babel(value):
                return with_babel
    return with_python


def amount(value, locale_name='es'):
    """'27794.5' → '27,794.50': two decimals, rounded half up, grouped."""
    return number_format(babel_locale(locale_name), AMOUNT_PATTERN)(to_money(value))


def _money(value, currency, format_amount):
    if value is None:
        return ''
    # Round first, so -0.001 shows as $0.00 rather than -$0.00.
    value = to_money(value)
    sign = '-' if value < 0 else ''
    return f'{sign}${format_amount(abs(value))} {currency}'.rstrip()


def money(value, currency='MXN', locale_name='es'):
    """'27794.52', 'MXN' → '$27,794.52 MXN' as the manual prints it."""
    return _money(value, currency, number_format(babel_locale(locale_name), AMOUNT_PATTERN))


def _rate(value, format_rate):
    if value is None:
        return ''
    return '$' + format_rate(to_rate(value)) + ' MXN'


def rate(value, locale_name='es'):
    """An exchange rate with its 4 decimals: '$18.8869 MXN'."""
    return _rate(value, number_format(babel_locale(locale_name), RATE_PATTERN))


#: Dates as the manual writes them in Spanish; in English the ISO date, which
#: neither a US nor a British reader misreads and which the date pickers submit.
DAY_FORMATS = {'es': '%d-%m-%Y', 'en': '%Y-%m-%d'}
TIMESTAMP_PATTERNS = {'es': 'dd/MM/yyyy hh:mm:ss a', 'en': 'yyyy-MM-dd hh:mm:ss a'}
#: Deadlines: the weekday, the date and the last minute, with no seconds.
DEADLINE_PATTERNS = {'es': "EEEE dd/MM/yyyy 'a las' hh:mm a",
                     'en': "EEEE yyyy-MM-dd 'at' hh:mm a"}


def day(value, locale_name='es'):
    """A date: '06-10-2017' as in the manual's tables; '2017-10-06' in English."""
    if value is None:
        return ''
    return value.strftime(DAY_FORMATS.get((locale_name or 'es')[:2], DAY_FORMATS['es']))


def local_time(value):
    """An aware UTC datetime in Mexico City time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(MEXICO_CITY)


def timestamp(value, locale_name='es'):
    """'01/10/2017 01:03:01 p.m.' in Mexico City time ('2017-10-01 01:03:01 PM' in English)."""
    if value is None:
        return ''
    pattern = TIMESTAMP_PATTERNS.get((locale_name or 'es')[:2], TIMESTAMP_PATTERNS['es'])
    return format_datetime(local_time(value), pattern, locale=_locale(babel_locale(locale_name)))


def date_of(value, locale_name='es'):
    """The day of a moment in Mexico City, written as timestamps write it: '12/10/2017'
    ('2017-10-12' in English), for sentences next to them ("Aplicado … el 12/10/2017")."""
    if value is None:
        return ''
    pattern = TIMESTAMP_PATTERNS.get((locale_name or 'es')[:2], TIMESTAMP_PATTERNS['es'])
    return format_datetime(local_time(value), pattern.split(' ')[0],
                           locale=_locale(babel_locale(locale_name)))


def deadline(end, locale_name='es'):
    """Every deadline the portal states (a SPEI transfer's, a payment request's): ``end``
    is the first moment that is too late (an aware UTC datetime, often the next midnight),
    shown as the last minute still in time, in Mexico City: 'martes 08/12/2026 a las
    11:59 p.m.' ('Tuesday 2026-12-08 at 11:59 PM' in English)."""
    if end is None:
        return ''
    last = local_time(end - datetime.timedelta(microseconds=1)).replace(second=0, microsecond=0)
    pattern = DEADLINE_PATTERNS.get((locale_name or 'es')[:2], DEADLINE_PATTERNS['es'])
    return format_datetime(last, pattern, locale=_locale(babel_locale(locale_name)))


class Formatter:
    """The helpers bound to one request's locale, for templates."""

    def __init__(self, locale_name):
        self.locale_name = locale_name
        babel_name = babel_locale(locale_name)
        self._amount = number_format(babel_name, AMOUNT_PATTERN)
        self._rate = number_format(babel_name, RATE_PATTERN)

    def money(self, value, currency='MXN'):
        return _money(value, currency, self._amount)

    def amount(self, value):
        return self._amount(to_money(value))

    def rate(self, value):
        return _rate(value, self._rate)

    def day(self, value):
        return day(value, self.locale_name)

    def timestamp(self, value):
        return timestamp(value, self.locale_name)

    def deadline(self, end):
        return deadline(end, self.locale_name)

    def date_of(self, value):
        return date_of(value, self.locale_name)
