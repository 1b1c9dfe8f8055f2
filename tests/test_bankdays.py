"""Mexico's bank business days: deadlines across Holy Week and the December holidays."""
import datetime

import pytest

from canonportal import bankdays
from canonportal.clock import MEXICO_CITY
from canonportal.configure import extra_bank_holidays
from canonportal.dates import BadDate

D = datetime.date


def at_noon(day):
    return datetime.datetime.combine(day, datetime.time(12), MEXICO_CITY)


def deadline_day(start, days):
    """The Mexico City day whose end is the deadline."""
    end = bankdays.business_deadline(at_noon(start), days).astimezone(MEXICO_CITY)
    assert end.time() == datetime.time(0)
    return end.date() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def no_extra_days():
    yield
    bankdays.set_extra_holidays(())


@pytest.mark.parametrize('day', [
    D(2027, 3, 25), D(2027, 3, 26),   # Holy Thursday and Good Friday 2027
    D(2026, 4, 2), D(2026, 4, 3),     # and 2026
    D(2026, 11, 2),                   # Día de Muertos
    D(2026, 12, 12), D(2025, 12, 12), # Guadalupe (a Friday in 2025)
    D(2026, 12, 25), D(2027, 1, 1),
    D(2027, 2, 1), D(2027, 3, 15), D(2027, 11, 15),   # the Mondays the law moves
    D(2030, 10, 1),                   # an inauguration
])
def test_the_banks_close(day):
    assert bankdays.is_bank_holiday(day)
    assert not bankdays.is_business_day(day)


@pytest.mark.parametrize('day', [D(2027, 3, 24), D(2027, 3, 29), D(2026, 12, 11),
                                 D(2026, 12, 24), D(2026, 10, 1)])
def test_ordinary_weekdays_are_business_days(day):
    assert bankdays.is_business_day(day)


def test_a_spei_deadline_spanning_holy_week_falls_after_it():
    # Created Tuesday 23 March 2027: Wednesday 24 is the first business day, Thursday 25 and
    # Friday 26 are closed, the weekend too; Monday 29 and Tuesday 30 are the second and third.
    assert deadline_day(D(2027, 3, 23), 3) == D(2027, 3, 30)
    # Weekdays alone would have ended it on Friday 26, while the banks were closed.


def test_a_request_spanning_guadalupe_and_christmas():
    # Friday 11 December 2026 + 2: Saturday 12 (closed anyway), Monday 14, Tuesday 15.
    assert deadline_day(D(2026, 12, 11), 2) == D(2026, 12, 15)
    # Thursday 24 December 2026 + 2: Friday 25 closed, Monday 28, Tuesday 29.
    assert deadline_day(D(2026, 12, 24), 2) == D(2026, 12, 29)
    # Thursday 31 December 2026 + 1: 1 January closed → Monday 4 January 2027.
    assert deadline_day(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_days_the_cnbv_adds_come_from_the_ini():
    settings = {'canonportal.bank_holidays': '2027-03-24, 2027-03-29'}
    bankdays.set_extra_holidays(extra_bank_holidays(settings))
    assert deadline_day(D(2027, 3, 23), 3) == D(2027, 4, 1)
    bankdays.set_extra_holidays(())
    assert deadline_day(D(2027, 3, 23), 3) == D(2027, 3, 30)


@pytest.mark.parametrize('text', ['24/03/2027', '2027-13-01', 'mañana'])
def test_a_badly_written_extra_day_stops_the_app_at_start(text):
    with pytest.raises(BadDate):
        extra_bank_holidays({'canonportal.bank_holidays': text})
