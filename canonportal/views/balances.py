"""The customer's SALDOS page: choose the invoices and amounts to pay.

The page is one POST form. "Calcular" (and the page buttons) post it back here
and the server recomputes every amount with :mod:`canonportal.selection`; the
bank buttons post the same form to ``pagar``. Selected invoices that are not on
the current page travel as hidden inputs, so the selection and its total
survive paging, and everything is re-validated on each request.

:func:`read_selection` and :func:`saldos_values` are reused by the pay view
(:mod:`canonportal.views.payments`).
"""
from pyramid.view import view_config

from .. import selection as sel
from ..i18n import _
from ..money import ZERO
from ..resources import USD, Customer
from .customer import page

TEMPLATE = 'canonportal:templates/saldos.pt'

#: The banks the portal knows, in the manual's order: id → label.
KNOWN_BANKS = {'banamex': 'Citibanamex', 'bbva': 'BBVA Bancomer'}
DEFAULT_PAGE_SIZE = 100


def configured_banks(request):
    """``[(bank id, label)]`` of the banks configured in ``canonportal.banks``, in that order."""
    return [(name, KNOWN_BANKS.get(name) or gateway.title or name)
            for name, gateway in request.registry.gateways.items()]


def page_size(request):
    try:
        size = int(request.registry.settings.get('canonportal.saldos_page_size', DEFAULT_PAGE_SIZE))
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    return max(size, 1)


def rate_for(request):
    """The day's :class:`~canonportal.selection.DayRate` from the stored series."""
    max_age = request.registry.settings.get('canonportal.rate_max_age_days',
                                            sel.DEFAULT_RATE_MAX_AGE_DAYS)
    return sel.day_rate(request.root.rates, int(max_age))


def read_selection(context, request):
    """Validate the selection the browser posted for customer ``context``.

    Returns a :class:`~canonportal.selection.Selection` computed from the
    stored invoices and the stored rate (never anything else from the browser).
    """
    entries = sel.entries_from_form(request.POST) if request.method == 'POST' else []
    return sel.validate_selection(context, rate_for(request), entries)


def _requested_page(request):
    try:
        return int(request.params.get('pagina', 1))
    except (TypeError, ValueError):
        return 1


def _page_window(current, pages):
    """The page numbers worth a button: first, last, and two around the current one."""
    numbers = {1, pages} | set(range(max(1, current - 2), min(pages, current + 2) + 1))
    return sorted(numbers)


def saldos_values(context, request, selection, notice=None):
    """Everything the template needs for one page of the customer's open invoices."""
    rate = selection.rate
    payable = sel.payable_invoices(context)
    size = page_size(request)
    pages = max(1, -(-len(payable) // size))
    current = min(max(_requested_page(request), 1), pages)
    shown = payable[(current - 1) * size:current * size]
    page_of = {inv.key: index // size + 1 for index, inv in enumerate(payable)}
    shown_keys = {inv.key for inv in shown}

    rows = []
    for index, invoice in enumerate(shown):
        left_mxn, left_usd = sel.left_amounts(invoice, rate)
        line = selection.lines.get(invoice.key)
        rows.append({
            'index': index,
            'invoice': invoice,
            'line': line,
            'usd': invoice.currency == USD,
            'left_mxn': left_mxn,
            'left_usd': left_usd,
            'selectable': sel.is_selectable(invoice, rate),
            'overdue': invoice.due is not None and invoice.due < rate.today,
        })
    # Selected rows of other pages travel as hidden inputs; an invoice that is unknown
    # or has nothing left is reported once and dropped, or it could never be unticked.
    off_page = [line for line in selection.lines.values()
                if line.key not in shown_keys and 'invoice' not in line.errors]
    offpage_total = sum((line.amount_mxn for line in off_page if line.valid), ZERO)
    problems = [{'key': line.key, 'messages': list(line.errors.values()),
                 'page': page_of.get(line.key),
                 'anchor': _anchor(rows, line)}
                for line in selection.line_errors()]
    return page(
        context, request, 'saldos', _('Saldos'),
        rows=rows, rate=rate, selection=selection, off_page=off_page,
        offpage_total=offpage_total, total=selection.total_mxn, problems=problems,
        general_errors=selection.errors, notice=notice, banks=configured_banks(request),
        page_number=current, pages=pages, page_window=_page_window(current, pages),
        invoice_count=len(payable), form_action=request.resource_url(context, 'saldos'),
        pay_action=request.resource_url(context, 'pagar'), plain=_plain)


def _anchor(rows, line):
    for row in rows:
        if row['invoice'].key == line.key:
            field = 'usd' if 'usd' in line.errors else 'mxn'
            return f"{field}-{row['index']}"
    return None


def _plain(value):
    return '' if value is None else f'{value:.2f}'


@view_config(context=Customer, name='saldos', permission='view', renderer=TEMPLATE,
             request_method=('GET', 'HEAD', 'POST'))
def balances_page(context, request):
    """GET shows the open invoices; POST ("Calcular", paging) recomputes the selection."""
    selection = read_selection(context, request)
    if selection.has_errors:
        request.response.status = 400
    return saldos_values(context, request, selection)
