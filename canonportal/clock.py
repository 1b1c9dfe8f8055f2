"""The one place the portal asks for the time, so tests can move it, and the one
place that says which day it is: the portal's days (due dates, "today", statement
periods, the exchange rate that applies) are Mexico City's."""
import datetime
from zoneinfo import ZoneInfo

UTC = datetime.timezone.utc
MEXICO_CITY = ZoneInfo('America/Mexico_City')


def utcnow():
    """Return the current time as an aware UTC datetime."""
    return datetime.datetime.now(UTC)


def mexico_today(now=None):
    """The date in Mexico City at ``now`` (default: the clock's now)."""
    return (now or utcnow()).astimezone(MEXICO_CITY).date()


def mexico_day_start(day):
    """Midnight at the start of a Mexico City day, as an aware UTC datetime."""
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=MEXICO_CITY).astimezone(UTC)

