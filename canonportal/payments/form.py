"""The selection, the day's rate and the banks, as a customer's request asks for them.

SALDOS and the pay view read the same form the same way: every amount is
recomputed from the stored invoices and the stored rate, never taken from the
browser, and a form with more fields than the customer could have is refused
before any work.
"""
import logging

from pyramid.httpexceptions import HTTPBadRequest

from ..gateways import bank_label
from ..resources.invoice import USD
from ..resources.payment import CANCELLED, DECLINED, EXPIRED
from . import selection as sel
from .day_rate import DEFAULT_RATE_MAX_AGE_DAYS, day_rate

log = logging.getLogger(__name__)

RETRYABLE_STATES = (DECLINED, CANCELLED, EXPIRED)

#: The query parameter of SALDOS that ticks an invoice (``?pagar=<key>``, repeated for several:
#: a reminder's link), and how many of them are read at most.
PAY_PARAM = 'pagar'
MAX_MARKED = 100
#: The query parameter of SALDOS that restores a failed payment's selection (``?reintentar=229``).
RETRY_PARAM = 'reintentar'
#: The SALDOS button (``accion``) that ticks every overdue invoice, on every page.
SELECT_OVERDUE = 'vencidas'


def configured_banks(request):
    """``[(bank id, label)]`` of the banks configured in ``canonportal.banks``, in that order."""
    return [(name, bank_label(name)) for name in request.registry.gateways]


def rate_for(request):
    """The day's :class:`~canonportal.payments.day_rate.DayRate` from the stored series."""
    max_age = request.registry.settings.get('canonportal.rate_max_age_days',
                                            DEFAULT_RATE_MAX_AGE_DAYS)
    return day_rate(request.root.rates, int(max_age))


def retried_entries(customer, reference):
    """"Reintentar": the invoices and amounts of ``customer``'s declined, cancelled or
    expired payment ``reference``, as the customer had typed them (USD invoices by their
    dollar amount, converted again at today's rate). Validated like anything typed."""
    payment = customer.payments.get(reference) if 0 < len(reference) <= 20 else None
    if payment is None or payment.state not in RETRYABLE_STATES:
        return []
    entries = []
    for allocation in payment.allocations:
        if allocation.currency == USD:
            entries.append(sel.Entry(allocation.invoice_key, ticked=True,
                                     usd=f'{allocation.amount_currency:.2f}', edited=sel.EDITED_USD))
        else:
            entries.append(sel.Entry(allocation.invoice_key, ticked=True,
                                     mxn=f'{allocation.amount_mxn:.2f}', edited=sel.EDITED_MXN))
    return entries


def overdue_entries(customer, rate, entries, accounts=None):
    """"Seleccionar todas las vencidas": the payable invoices due before today that
    ``entries`` do not tick yet, each for what is left of it; no more than a payment takes."""
    ticked = {entry.key for entry in entries if entry.ticked}
    room = sel.MAX_ENTRIES - len(ticked)
    added = []
    for invoice in customer.open_invoices.due_before(rate.today):
        if len(added) >= room:
            break
        if (invoice.key not in ticked and sel.is_selectable(invoice, rate)
                and (accounts is None or invoice.account in accounts)):
            added.append(sel.Entry(invoice.key, ticked=True))
    return added


def marked_entries(customer, keys, accounts=None):
    """``?pagar=KEY`` (once or up to :data:`MAX_MARKED` times): those of the customer's
    invoices the person may see and that have something left to pay, ticked; an unknown,
    paid, foreign or too long key ticks nothing, and keys past the bound are not read."""
    entries, seen = [], set()
    for key in keys[:MAX_MARKED]:
        invoice = customer.invoices.get(key) if 0 < len(key) <= 100 else None
        if (invoice is None or key in seen or invoice.left_to_pay <= 0
                or (accounts is not None and invoice.account not in accounts)):
            continue
        seen.add(key)
        entries.append(sel.Entry(key, ticked=True))
    return entries


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
        if request.POST.get('accion') == SELECT_OVERDUE:
            entries += overdue_entries(customer, rate_for(request), entries, _accounts(request))
    else:
        # "Pagar" on FACTURAS or on an invoice's page, or a reminder's link: SALDOS with
        # those invoices ticked, for what is left of them.
        entries = (marked_entries(customer, request.GET.getall(PAY_PARAM), _accounts(request))
                   or retried_entries(customer, request.GET.get(RETRY_PARAM, '')))
    return sel.validate_selection(customer, rate_for(request), entries, _accounts(request))


def _accounts(request):
    """The accounts the signed-in person may pay (None: all the customer's)."""
    identity = request.identity
    return identity.accounts if identity is not None else None
