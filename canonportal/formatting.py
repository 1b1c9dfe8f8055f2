"""Money, dates and times as Mexican users read them (Babel, es_MX by default)."""
import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from .money import to_money, to_rate

MEXICO_CITY = ZoneInfo('America/Mexico_City')
_BABEL_LOCALES = {'es': 'es_MX', 'en': 'en_US'}


def babel_locale(locale_name):
    return _BABEL_LOCALES.get((locale_name or 'es')[:2], 'es_MX')


def amount(value, locale_name='es'):
    """'27794.5' → '27,794.50': two decimals, rounded half up, grouped."""
    return format_decimal(to_money(value), format='#,##0.00', locale=babel_locale(locale_name),
                          decimal_quantization=False)


def money(value, currency='MXN', locale_name='es'):
    """'27794.52', 'MXN' → '$27,794.52 MXN' as the manual prints it."""
    if value is None:
        return ''
    # Round first, so -0.001 shows as $0.00 rather than -$0.00.
    value = to_money(value)
    sign = '-' if value < 0 else ''
    return f'{sign}${amount(abs(value), locale_name)} {currency}'.rstrip()


def rate(value, locale_name='es'):
    """An exchange rate with its 4 decimals: '$18.8869 MXN'."""
    if value is None:
        return ''
    return '$' + format_decimal(to_rate(value), format='#,##0.0000', locale=babel_locale(locale_name),
                                decimal_quantization=False) + ' MXN'


def day(value):
    """A date as in the manual's tables: '06-10-2017'."""
    if value is None:
        return ''
    return value.strftime('%d-%m-%Y')


def local_time(value):
    """An aware UTC datetime in Mexico City time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(MEXICO_CITY)


def timestamp(value, locale_name='es'):
    """'01/10/2017 01:03:01 p.m.' in Mexico City time."""
    if value is None:
        return ''
    return format_datetime(local_time(value), 'dd/MM/yyyy hh:mm:ss a',
                           locale=babel_locale(locale_name))


class Formatter:
    """The helpers bound to one request's locale, for templates."""

    def __init__(self, locale_name):
        self.locale_name = locale_name

    def money(self, value, currency='MXN'):
        return money(value, currency, self.locale_name)

    def amount(self, value):
        return amount(value, self.locale_name)

    def rate(self, value):
        return rate(value, self.locale_name)

    def day(self, value):
        return day(value)

    def timestamp(self, value):
        return timestamp(value, self.locale_name)
