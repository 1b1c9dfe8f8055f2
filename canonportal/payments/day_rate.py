"""The USD→MXN rate that applies today (Mexico City's), or why there is none.

USD invoices are paid in pesos at the newest stored rate (Banxico's FIX, imported
from the ERP) if it is recent enough (``canonportal.rate_max_age_days``); an older
one is shown with its age and makes USD invoices unpayable until a new one arrives.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from translationstring import TranslationStringFactory

from .. import clock

# The same domain as canonportal.i18n, without importing Pyramid.
_ = TranslationStringFactory('canonportal')

#: Default for the setting ``canonportal.rate_max_age_days``.
DEFAULT_RATE_MAX_AGE_DAYS = 30

MSG_NO_RATE = _('No hay un tipo de cambio registrado: las facturas en USD no se pueden pagar por ahora.')


@dataclass(frozen=True)
class DayRate:
    """The USD→MXN rate that applies today, or why there is none.

    ``day`` and ``rate`` are those of the newest stored rate (even a stale one,
    so the page can say how old it is); ``usable`` says whether USD invoices
    may be selected with it, and ``reason`` why not.
    """

    today: datetime.date
    day: datetime.date = None
    rate: Decimal = None
    usable: bool = False
    reason: str = None

    @classmethod
    def fixed(cls, rate, day=None):
        """A usable rate, for callers (and tests) that already have one."""
        day = day or clock.mexico_today()
        return cls(today=day, day=day, rate=Decimal(rate), usable=True)


def day_rate(rates, max_age_days=DEFAULT_RATE_MAX_AGE_DAYS, today=None):
    """The rate for ``today`` (Mexico City) from the stored series ``rates``.

    ``rates`` is the root's ``ExchangeRates``. The newest rate on or before
    today is used if it is at most ``max_age_days`` old.
    """
    today = today or clock.mexico_today()
    found = rates.latest_on_or_before(today)
    if found is None:
        return DayRate(today=today, reason=MSG_NO_RATE)
    day, rate = found
    age = (today - day).days
    if age > int(max_age_days):
        reason = _('El último tipo de cambio registrado es del ${day} (hace ${age} días, más de '
                   '${max} permitidos): las facturas en USD no se pueden pagar por ahora.',
                   mapping={'day': day.strftime('%d-%m-%Y'), 'age': str(age),
                            'max': str(int(max_age_days))})
        return DayRate(today=today, day=day, rate=rate, usable=False, reason=reason)
    return DayRate(today=today, day=day, rate=rate, usable=True)


def as_day_rate(rate):
    """``rate`` (a DayRate, a Decimal or None) as a :class:`DayRate`."""
    if isinstance(rate, DayRate):
        return rate
    if rate is None:
        return DayRate(today=clock.mexico_today(), reason=MSG_NO_RATE)
    return DayRate.fixed(rate)
