"""The selection, the day's rate and the banks, as a customer's request asks for them.

SALDOS and the pay view read the same form the same way: every amount is
recomputed from the stored invoices and the stored rate, never taken from the
browser, and a form with more fields than the customer could have is refused
before any work.
"""
import logging

from pyramid.httpexceptions import HTTPBadRequest

from ..gateways import bank_label
from . import selection as sel

log = logging.getLogger(__name__)


def configured_banks(request):
    """``[(bank id, label)]`` of the banks configured in ``canonportal.banks``, in that order."""
    return [(name, bank_label(name)) for name in request.registry.gateways]


def rate_for(request):
    """The day's :class:`~canonportal.payments.selection.DayRate` from the stored series."""
    max_age = request.registry.settings.get('canonportal.rate_max_age_days',
                                            sel.DEFAULT_RATE_MAX_AGE_DAYS)
    return sel.day_rate(request.root.rates, int(max_age))


def read_selection(customer, request):
    """Validate the selection the browser posted for ``customer``.

    Returns a :class:`~canonportal.payments.selection.Selection` computed from
    the stored invoices and the stored rate (never anything else from the browser).
    """
    entries = []
    if request.method == 'POST':
        try:
            sel.check_field_count(customer, request.POST)
        except sel.TooManyFields as flood:
            found, limit = flood.args
            log.info('refused: %d form fields for %s (at most %d)', found, customer.rfc, limit)
            raise HTTPBadRequest(sel.MSG_TOO_MANY_FIELDS)
        entries = sel.entries_from_form(request.POST)
    return sel.validate_selection(customer, rate_for(request), entries)
