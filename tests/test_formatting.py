"""The fast number formatting of canonportal.formatting prints exactly what Babel prints."""
import random
from decimal import Decimal as D

import pytest
from babel.numbers import format_decimal

from canonportal import formatting
from canonportal.formatting import AMOUNT_PATTERN, RATE_PATTERN, Formatter, number_format


def babel(value, pattern, locale):
    return format_decimal(value, format=pattern, locale=locale, decimal_quantization=False)


def sample_values(places, count=2000, seed=6):
    rng = random.Random(seed)
    values = [D(0), D('-0'), D('0.01'), D('-0.01'), D('999.99'), D('1000'), D('-1000.5'),
              D('1234567890.12'), D('99999999999999.99')]
    for _ in range(count):
        digits = rng.randint(1, 15)
        value = D(rng.randrange(10 ** digits)).scaleb(-places)
        values.append(-value if rng.random() < 0.3 else value)
    quantum = D(1).scaleb(-places)
    return [value.quantize(quantum) for value in values]


@pytest.mark.parametrize('locale', ['es_MX', 'en_US'])
@pytest.mark.parametrize('pattern, places', [(AMOUNT_PATTERN, 2), (RATE_PATTERN, 4)])
def test_the_shortcut_agrees_with_babel(locale, pattern, places):
    fast = number_format(locale, pattern)
    # es_MX and en_US group with ',' and use '.': the Python shortcut is taken.
    assert fast.__name__ == 'with_python'
    for value in sample_values(places):
        assert fast(value) == babel(value, pattern, locale), value


@pytest.mark.parametrize('value', [D('NaN'), D('1.23456'), D('12'), D('-5.1'), 7, '1234.5'])
def test_values_the_shortcut_does_not_cover_go_through_babel(value):
    fast = number_format('es_MX', AMOUNT_PATTERN)
    assert fast(value) == babel(value, AMOUNT_PATTERN, 'es_MX')


def test_a_locale_grouping_otherwise_is_formatted_by_babel():
    # German swaps the separators; the shortcut still must print what Babel prints.
    fast = number_format('de_DE', AMOUNT_PATTERN)
    assert fast(D('1234567.50')) == babel(D('1234567.50'), AMOUNT_PATTERN, 'de_DE') == '1.234.567,50'


def test_the_parsed_pattern_is_kept_per_locale_and_pattern():
    assert number_format('es_MX', AMOUNT_PATTERN) is number_format('es_MX', AMOUNT_PATTERN)
    assert number_format('es_MX', AMOUNT_PATTERN) is not number_format('es_MX', RATE_PATTERN)


@pytest.mark.parametrize('locale_name', ['es', 'en', 'es_MX', None])
def test_the_template_formatter_prints_what_the_functions_print(locale_name):
    fmt = Formatter(locale_name)
    for value in [D('27794.52'), D('-160.71'), D('-0.001'), D('0.005'), '1234567.891', 12500]:
        assert fmt.money(value) == formatting.money(value, 'MXN', locale_name)
        assert fmt.money(value, 'USD') == formatting.money(value, 'USD', locale_name)
        assert fmt.amount(value) == formatting.amount(value, locale_name)
        assert fmt.rate(value) == formatting.rate(value, locale_name)
    assert fmt.money(None) == fmt.rate(None) == ''
    assert Formatter('en').money(D('-27794.52'), 'USD') == '-$27,794.52 USD'
    assert Formatter('es').rate('18.88695') == '$18.8870 MXN'


def test_money_matches_babel_for_many_amounts():
    for value in sample_values(2, count=500, seed=7):
        expected = babel(abs(value), AMOUNT_PATTERN, 'es_MX')
        sign = '-' if value < 0 else ''
        assert formatting.money(value) == f'{sign}${expected} MXN'


def test_dates_follow_the_manual_in_spanish_and_iso_in_english():
    import datetime
    from canonportal.formatting import Formatter, day, timestamp
    when = datetime.datetime(2017, 10, 10, 13, 34, tzinfo=datetime.timezone.utc)  # 08:34 in CDMX
    assert day(datetime.date(2017, 10, 6)) == Formatter('es').day(datetime.date(2017, 10, 6)) == '06-10-2017'
    assert day(datetime.date(2017, 10, 6), 'en') == Formatter('en').day(datetime.date(2017, 10, 6)) == '2017-10-06'
    assert timestamp(when, 'es') == '10/10/2017 08:34:00 a.m.'
    assert timestamp(when, 'en') == Formatter('en').timestamp(when) == '2017-10-10 08:34:00 AM'
    assert day(None, 'en') == timestamp(None, 'en') == ''


def test_a_deadline_is_the_last_minute_still_in_time_in_mexico_city():
    import datetime
    from canonportal.formatting import Formatter, deadline
    # The end of Tuesday 8 December 2026 in Mexico City (06:00 UTC on the 9th).
    end = datetime.datetime(2026, 12, 9, 6, 0, tzinfo=datetime.timezone.utc)
    assert deadline(end) == Formatter('es').deadline(end) == 'martes 08/12/2026 a las 11:59 p.m.'
    assert deadline(end, 'en') == 'Tuesday 2026-12-08 at 11:59 PM'
    # A deadline in the middle of a day keeps its minute.
    assert deadline(datetime.datetime(2026, 12, 1, 20, 30, 15, tzinfo=datetime.timezone.utc)) \
        == 'martes 01/12/2026 a las 02:30 p.m.'
    assert deadline(None) == ''


def test_the_day_of_a_moment_is_written_as_timestamps_write_it():
    import datetime
    from canonportal.formatting import Formatter, date_of
    late = datetime.datetime(2017, 10, 13, 3, 0, tzinfo=datetime.timezone.utc)  # 12 Oct in CDMX
    assert date_of(late) == Formatter('es').date_of(late) == '12/10/2017'
    assert date_of(late, 'en') == '2017-10-12'
    assert date_of(None) == ''
