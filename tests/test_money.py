"""Money arithmetic (canonportal.money) and its display (canonportal.formatting)."""
import datetime
from decimal import Decimal

import pytest

from canonportal import formatting
from canonportal.formatting import Formatter
from canonportal.money import (ZERO, mxn_to_usd, parse_amount, to_money, to_rate,
                               usd_to_mxn)

D = Decimal
RATE = '18.8869'
UTC = datetime.timezone.utc


# --- rounding ---------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('0.005', '0.01'),
    ('0.004', '0.00'),
    ('2.675', '2.68'),      # round(2.675, 2) == 2.67 with binary floats
    ('1.005', '1.01'),      # round(1.005, 2) == 1.0 with binary floats
    ('2.665', '2.67'),      # half up, not half even
    ('-2.675', '-2.68'),    # half away from zero for negatives too
    ('27794.52', '27794.52'),
    (7, '7.00'),
    (D('0.125'), '0.13'),
])
def test_to_money_rounds_half_up_to_cents(value, expected):
    result = to_money(value)
    assert result == D(expected)
    assert str(result) == expected


def test_binary_floats_would_get_these_wrong():
    # The reason money is Decimal: the float rounding gives other cents.
    assert round(2.675, 2) == 2.67 and to_money('2.675') == D('2.68')
    assert round(1.005, 2) == 1.0 and to_money('1.005') == D('1.01')


@pytest.mark.parametrize('function', [to_money, to_rate])
def test_floats_are_refused(function):
    with pytest.raises(TypeError):
        function(0.1)


def test_conversions_refuse_floats():
    with pytest.raises(TypeError):
        usd_to_mxn(167.94, RATE)
    with pytest.raises(TypeError):
        usd_to_mxn('167.94', 18.8869)
    with pytest.raises(TypeError):
        mxn_to_usd(3171.86, RATE)


def test_rates_have_four_decimals():
    assert str(to_rate('18.8869')) == '18.8869'
    assert str(to_rate('18.88685')) == '18.8869'   # half up
    assert str(to_rate('18.9')) == '18.9000'
    assert str(to_rate(D('18.31'))) == '18.3100'


# --- the manual's amounts ---------------------------------------------------

@pytest.mark.parametrize('usd, mxn', [
    ('312.62', '5904.42'),     # 5904.422678
    ('160.71', '3035.31'),     # 3035.313699
    ('167.34', '3160.53'),     # 3160.533846
    ('144.11', '2721.79'),     # 2721.791159
    ('1.00', '18.88'),         # 18.8869, truncated to the cent
])
def test_usd_invoices_at_the_days_rate(usd, mxn):
    assert usd_to_mxn(usd, RATE) == D(mxn)


# The manual (and ../shared/reference/mexico.md) print 167.94 USD × 18.8869 as
# 3,171.86 MXN and the three invoices as $36,870.80. The exact product is
# 3171.865986: USD → MXN conversion truncates to the cent, like the ERP.

def test_usd_to_mxn_truncates_to_the_cent_as_the_manual():
    assert D('167.94') * D(RATE) == D('3171.865986')
    assert usd_to_mxn('167.94', RATE) == D('3171.86')
    assert usd_to_mxn('160.71', RATE) == D('3035.31')
    assert usd_to_mxn('312.62', RATE) == D('5904.42')


def test_the_manuals_selection_totals_36_870_80():
    total = to_money('27794.52') + usd_to_mxn('167.94', RATE) + usd_to_mxn('312.62', RATE)
    assert total == D('36870.80')
    assert formatting.money(total) == '$36,870.80 MXN'


def test_mxn_to_usd_is_the_way_back():
    assert mxn_to_usd('3171.86', RATE) == D('167.94')
    assert mxn_to_usd('18.31', '18.3100') == D('1.00')


def test_zero_is_two_decimal_zero():
    assert str(ZERO) == '0.00'


# --- parse_amount -------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('1,234.50', '1234.50'),
    ('$1234.5', '1234.5'),
    ('$ 1,234.50', '1234.50'),
    ('  27794.52 ', '27794.52'),
    ('1,234,567.89', '1234567.89'),
    ('0.5', '0.5'),
    ('.5', '.5'),
    ('100', '100'),
    ('-5', '-5'),            # kept: the caller says whether a negative makes sense
    ('-$5.10', '-5.10'),
])
def test_parse_amount_accepts_what_people_type(text, expected):
    value = parse_amount(text)
    assert value == D(expected)
    assert isinstance(value, Decimal)


def test_parse_amount_keeps_the_digits_as_typed():
    # Not rounded: the caller decides what to do with 1234.5 vs 1234.50.
    assert str(parse_amount('1234.5')) == '1234.5'


@pytest.mark.parametrize('text, reason', [
    ('', 'empty'),
    ('   ', 'empty'),
    (None, 'empty'),
    ('$', 'empty'),
    ('1.234', 'more than 2 decimals'),   # a European "one thousand..." or a typo: never guessed
    ('0.001', 'more than 2 decimals'),
    ('abc', 'not a number'),
    ('NaN', 'not a number'),
    ('Infinity', 'not a number'),
    ('1e3', 'not a number'),             # decided: no exponents, people do not type them
    ('1E-2', 'not a number'),
    ('12,34', 'not a number'),           # would silently become 1234
    ('1,23,456', 'not a number'),
    ('1 234.50', 'not a number'),
    ('١٢٣', 'not a number'),             # non-ASCII digits Decimal would accept
    ('12$34', 'not a number'),
    ('1.2.3', 'not a number'),
])
def test_parse_amount_refuses_with_a_reason(text, reason):
    with pytest.raises(ValueError) as refused:
        parse_amount(text)
    assert str(refused.value) == reason


# --- formatting: money ----------------------------------------------------------

@pytest.mark.parametrize('value, currency, expected', [
    (D('27794.52'), 'MXN', '$27,794.52 MXN'),
    (D('160.71'), 'USD', '$160.71 USD'),
    (D('3171.86'), 'MXN', '$3,171.86 MXN'),
    (D('1.00'), 'USD', '$1.00 USD'),
    (D('18.31'), 'MXN', '$18.31 MXN'),
    (D('0'), 'MXN', '$0.00 MXN'),
    (D('1234567.891'), 'MXN', '$1,234,567.89 MXN'),
    (D('0.005'), 'MXN', '$0.01 MXN'),
    (D('2.675'), 'MXN', '$2.68 MXN'),
    ('27794.52', 'MXN', '$27,794.52 MXN'),       # as its docstring promises
    (12500, 'MXN', '$12,500.00 MXN'),
])
def test_money(value, currency, expected):
    assert formatting.money(value, currency) == expected


@pytest.mark.parametrize('value, expected', [
    (D('-18.31'), '-$18.31 MXN'),
    (D('-27794.52'), '-$27,794.52 MXN'),
    (D('-2.675'), '-$2.68 MXN'),
    (D('-0.001'), '$0.00 MXN'),     # rounds to zero: no "minus zero"
])
def test_negative_money(value, expected):
    assert formatting.money(value) == expected


def test_money_of_nothing_is_empty():
    assert formatting.money(None) == ''


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        formatting.money(18.31)


def test_amount_without_symbol():
    assert formatting.amount('27794.5') == '27,794.50'
    assert formatting.amount(D('0.005')) == '0.01'


def test_english_uses_the_same_separators():
    assert formatting.money(D('27794.52'), 'MXN', 'en') == '$27,794.52 MXN'
    assert formatting.money(D('-160.71'), 'USD', 'en') == '-$160.71 USD'
    assert formatting.amount('1234567.5', 'en') == '1,234,567.50'
    assert formatting.rate(D('18.8869'), 'en') == '$18.8869 MXN'


def test_unknown_locales_fall_back_to_mexican_spanish():
    assert formatting.babel_locale('fr') == 'es_MX'
    assert formatting.babel_locale(None) == 'es_MX'
    assert formatting.babel_locale('en_GB') == 'en_US'


def test_rate_shows_four_decimals():
    assert formatting.rate(D('18.8869')) == '$18.8869 MXN'
    assert formatting.rate('18.9') == '$18.9000 MXN'
    assert formatting.rate(D('18.88695')) == '$18.8870 MXN'
    assert formatting.rate(None) == ''


# --- formatting: dates and times ----------------------------------------------------

def test_timestamp_in_mexico_city_during_daylight_time():
    # 2017-10-01 was in daylight time (UTC-5): 18:03:01 UTC is 01:03:01 p.m.
    when = datetime.datetime(2017, 10, 1, 18, 3, 1, tzinfo=UTC)
    assert formatting.timestamp(when) == '01/10/2017 01:03:01 p.m.'


def test_timestamp_in_the_morning_and_in_winter():
    # The manual's payment 228: 10/10/2017 08:34:00 a.m. (13:34 UTC, daylight time).
    assert formatting.timestamp(datetime.datetime(2017, 10, 10, 13, 34, tzinfo=UTC)) \
        == '10/10/2017 08:34:00 a.m.'
    # January 2017: standard time, UTC-6.
    assert formatting.timestamp(datetime.datetime(2017, 1, 15, 18, 0, 0, tzinfo=UTC)) \
        == '15/01/2017 12:00:00 p.m.'
    # Since 2022 Mexico City keeps UTC-6 all year: no daylight shift in October 2023.
    assert formatting.timestamp(datetime.datetime(2023, 10, 1, 18, 3, 1, tzinfo=UTC)) \
        == '01/10/2023 12:03:01 p.m.'


def test_timestamp_crossing_midnight_changes_the_day():
    # 03:30 UTC on Oct 2 is still Oct 1 in Mexico City.
    when = datetime.datetime(2017, 10, 2, 3, 30, tzinfo=UTC)
    assert formatting.timestamp(when) == '01/10/2017 10:30:00 p.m.'


def test_naive_datetimes_are_taken_as_utc():
    assert formatting.timestamp(datetime.datetime(2017, 10, 1, 18, 3, 1)) \
        == '01/10/2017 01:03:01 p.m.'


def test_timestamp_in_english():
    when = datetime.datetime(2017, 10, 1, 18, 3, 1, tzinfo=UTC)
    assert formatting.timestamp(when, 'en') == '2017-10-01 01:03:01 PM'   # ISO order in English


def test_timestamp_of_nothing_is_empty():
    assert formatting.timestamp(None) == ''


def test_day_as_in_the_manuals_tables():
    assert formatting.day(datetime.date(2017, 10, 6)) == '06-10-2017'
    assert formatting.day(datetime.date(2017, 11, 4)) == '04-11-2017'
    assert formatting.day(None) == ''


def test_formatter_binds_the_locale():
    spanish, english = Formatter('es'), Formatter('en')
    when = datetime.datetime(2017, 10, 10, 13, 34, tzinfo=UTC)
    assert spanish.money(D('160.71'), 'USD') == '$160.71 USD'
    assert spanish.timestamp(when) == '10/10/2017 08:34:00 a.m.'
    assert english.timestamp(when) == '2017-10-10 08:34:00 AM'
    assert spanish.day(datetime.date(2017, 10, 6)) == '06-10-2017'
    assert spanish.rate(D('18.8869')) == '$18.8869 MXN'
    assert spanish.amount(D('3035.31')) == '3,035.31'
