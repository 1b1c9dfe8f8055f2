"""When a payment complement (REP) is due: by day N of the month after the payment, in
Mexico City (RMF 2023 rule 2.7.1.32: the 5th; the 10th under RMF 2018).

N is the ini setting ``canonportal.rep_deadline_day`` (default 5). This is the one home of
the rule: the ERP export's ``fecha_limite_complemento``, the staff dashboard and
:func:`~.missing.missing_complements` all ask it.
"""
import datetime

from ..clock import MEXICO_CITY

SETTING = 'canonportal.rep_deadline_day'
DEFAULT_DEADLINE_DAY = 5


def deadline_day(settings):
    """The day of the month the ini gives (1–28: every month has it), else 5; a value that is
    not such a day is refused when the app starts (:func:`check_setting`)."""
    text = str((settings or {}).get(SETTING) or '').strip()
    if not text:
        return DEFAULT_DEADLINE_DAY
    if not text.isdigit() or not 1 <= int(text) <= 28:
        raise ValueError(f'{SETTING} must be a day of the month from 1 to 28, not {text!r}')
    return int(text)


def local_day(value):
    """A payment's day in Mexico City: a date as it is, an aware datetime converted."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(MEXICO_CITY).date()
    return value


def rep_deadline(paid, day=DEFAULT_DEADLINE_DAY):
    """The last day to issue the REP of a payment made at ``paid`` (a Mexico City date, or
    an aware datetime): day ``day`` of the following month. 31 January → 5 February;
    31 December 2017 → 5 January 2018."""
    paid = local_day(paid)
    year, month = (paid.year + 1, 1) if paid.month == 12 else (paid.year, paid.month + 1)
    return datetime.date(year, month, day)
