"""Mexico's bank business days: the one calendar every deadline counts on.

A business day is a weekday on which Mexican banks open. The days they close come
from the ``holidays`` package: the Mexican Stock Exchange's calendar (``XMEX``: the
federal holidays plus Holy Thursday, Good Friday and 2 November, the days the CNBV
also closes the banks), Mexico's public holidays (1 October of an inauguration year,
say), and 12 December, which the CNBV adds every year. The CNBV publishes each year's
list in December; a day it adds beyond these is set in the ini::

    canonportal.bank_holidays = 2027-03-24 2027-12-31

SPEI deadlines and the expiry of payment requests are both
:func:`business_deadline`, so a deadline spanning Holy Week or the December holidays
falls on the day the banks count.
"""
import datetime
import functools

import holidays

from .clock import MEXICO_CITY, UTC

#: Bank holidays every year that neither calendar above lists (month, day).
CNBV_EVERY_YEAR = ((12, 12),)   # Día de la Virgen de Guadalupe

_extra = frozenset()


def set_extra_holidays(days):
    """Add the days the CNBV declared beyond the calendar (``datetime.date`` each);
    replaces any set before."""
    global _extra
    _extra = frozenset(days)


@functools.lru_cache(maxsize=256)
def _closed_in(year):
    days = set(holidays.financial_holidays('XMEX', years=year))
    days |= set(holidays.Mexico(years=year))
    days |= {datetime.date(year, month, day) for month, day in CNBV_EVERY_YEAR}
    return frozenset(days)


def is_bank_holiday(day):
    """Whether Mexican banks close on ``day`` although it may be a weekday."""
    return day in _closed_in(day.year) or day in _extra


def is_business_day(day):
    return day.weekday() < 5 and not is_bank_holiday(day)


def business_days_after(day, days):
    """The ``days``-th business day after ``day`` (a date)."""
    left = days
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def business_deadline(start, days):
    """The end (next midnight, Mexico City, as aware UTC) of the ``days``-th business
    day after the moment ``start``."""
    last = business_days_after(start.astimezone(MEXICO_CITY).date(), days)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time(),
                                    MEXICO_CITY)
    return end.astimezone(UTC)
