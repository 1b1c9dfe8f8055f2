"""Reading the dates people type: one set of formats and one range for every form and
query string of the portal (statement ranges, FACTURAS filters, staff filters, exports).

Dates outside 2000-01-01 … 2100-12-31 are refused with their own message: no ERP data
is older, and year 1 or 9999 only ever reached the code to make it fail.
"""
import datetime

from translationstring import TranslationStringFactory

_ = TranslationStringFactory('canonportal')

EARLIEST = datetime.date(2000, 1, 1)
LATEST = datetime.date(2100, 12, 31)
#: ISO (date inputs), and the day-first forms Mexicans type.
FORMATS = ('%Y-%m-%d', '%d-%m-%Y', '%d/%m/%Y')
MSG_OUT_OF_RANGE = _('Escriba una fecha entre el 01/01/2000 y el 31/12/2100.')


class BadDate(ValueError):
    """Not a date in one of the accepted formats."""


class DateOutOfRange(ValueError):
    """A real date, outside :data:`EARLIEST` … :data:`LATEST`."""


def parse(text, formats=FORMATS):
    """The date in ``text``; raises :class:`BadDate` or :class:`DateOutOfRange`."""
    text = (text or '').strip()
    if len(text) > 10:
        raise BadDate(text[:20])
    for pattern in formats:
        try:
            day = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not EARLIEST <= day <= LATEST:
            raise DateOutOfRange(text)
        return day
    raise BadDate(text)
