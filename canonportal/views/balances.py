"""The customer's SALDOS page: choose the invoices and amounts to pay.

The page is one POST form. "Calcular" (and the page buttons) post it back here
and the server recomputes every amount with :mod:`canonportal.payments.selection`; the
bank buttons post the same form to ``pagar``. Selected invoices that are not on
the current page travel as hidden inputs, so the selection and its total
survive paging, and everything is re-validated on each request.

:func:`saldos_values` is reused by the pay view (:mod:`canonportal.views.payments`)
to show SALDOS again with what it refused.
"""
from types import SimpleNamespace

from pyramid.renderers import get_renderer
from pyramid.view import view_config

from ..formatting import Formatter
from ..fragments import FragmentCache, serial_of
from ..i18n import _
from ..money import ZERO
from ..payments import selection as sel
from ..payments.form import configured_banks, read_selection
from ..resources import USD, Customer, customer_of
from ..resources.payment import REQUESTED
from .customer import INVOICE_COUNT, page, visible_accounts
from .kept import kept_page, person_key


TEMPLATE = 'canonportal:templates/saldos.pt'
ROW_TEMPLATE = 'canonportal:templates/saldos_row.pt'
#: Rendered rows nobody has ticked, by what they show (see :func:`rows_html`):
#: about 1.5 kB each, so a few MB per process.
ROW_CACHE = FragmentCache(4096)

DEFAULT_PAGE_SIZE = 100


def page_size(request):
    try:
        size = int(request.registry.settings.get('canonportal.saldos_page_size', DEFAULT_PAGE_SIZE))
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    return max(size, 1)


def _requested_page(request):
    try:
        return int(request.params.get('pagina', 1))
    except (TypeError, ValueError):
        return 1


def _page_window(current, pages):
    """The page numbers worth a button: first, last, and two around the current one."""
    numbers = {1, pages} | set(range(max(1, current - 2), min(pages, current + 2) + 1))
    return sorted(numbers)


#: Texts repeated on every row, translated once per page (not once per row).
ROW_LABELS = {
    'pay': _('Pagar la factura'),
    'mxn': _('Cantidad a pagar en MXN de la factura'),
    'usd': _('Cantidad a pagar en USD de la factura'),
    'overdue': _('Vencida'),
    'in_progress': _('en proceso: pago'),
    'awaiting': _('por aprobar'),
    # The column headers, repeated in each cell for the phone's one-card-per-invoice layout.
    'col_due': _('Fecha Vencimiento'),
    'col_amount_usd': _('Importe Factura USD'),
    'col_rate': _('Tipo de Cambio'),
    'col_amount_mxn': _('Importe Factura MXN'),
    'col_pay_mxn': _('Cantidad a Pagar MXN'),
    'col_pay_usd': _('Cantidad a Pagar USD'),
    'col_balance': _('Cantidad Pendiente'),
    'col_transit': _('Pago en Tránsito'),
}


class Row:
    """One invoice row of the page, with its texts already formatted.

    A page may hold 100 rows and every template expression costs per row, so
    the row's values are computed here once; attributes rather than dict keys
    because Chameleon tries attributes first (a dict costs an exception per
    lookup). ``row['name']`` still works for Python callers.
    """

    def __init__(self, index, invoice, line, rate, fmt, awaiting=''):
        self.index = index
        self.invoice = invoice
        self.line = line
        self.key = invoice.key
        self.currency = currency = invoice.currency
        self.usd = usd = currency == USD
        self.left_mxn, self.left_usd = sel.left_amounts(invoice, rate)
        self.selectable = sel.is_selectable(invoice, rate)
        self.overdue = invoice.due is not None and invoice.due < rate.today
        self.css_class = ('invoice-row' + (' overdue' if self.overdue else '')
                          + (' selected' if line else ''))
        self.left_mxn_text = _plain(self.left_mxn)
        self.left_usd_text = _plain(self.left_usd)
        self.disabled = None if self.selectable else 'disabled'
        self.describedby = ('rate-problem' if not self.selectable and invoice.left_to_pay
                            else None)
        self.errors = line.errors if line else {}
        self.mxn_text = line.mxn_text if line else ''
        self.usd_text = line.usd_text if line else ''
        self.issued = fmt.day(invoice.issued)
        self.due = fmt.day(invoice.due)
        self.amount_usd = fmt.money(invoice.amount, 'USD') if usd else ''
        self.exchange_rate = fmt.rate(invoice.exchange_rate) if usd else ''
        self.amount_mxn = fmt.money(invoice.amount_mxn, 'MXN')
        self.balance_mxn = fmt.money(invoice.balance_mxn, 'MXN')
        in_transit = invoice.in_transit
        self.in_transit = fmt.money(in_transit, currency) if in_transit else ''
        # A row that cannot be ticked because payments hold all of it says which.
        self.held_by = (', '.join(_holder(invoice, reference, awaiting)
                                  for reference, _amount in invoice.reservations)
                        if in_transit and invoice.left_to_pay <= 0 else '')

    def __getitem__(self, name):
        return getattr(self, name)


def _holder(invoice, reference, awaiting):
    """'229', or '230 (Ana Compras, por aprobar)' for a colleague's request waiting."""
    customer = customer_of(invoice)
    # Only a payment in progress can be a request waiting: the customer's own small index
    # says which, without loading the payments that hold the invoice otherwise.
    waiting = customer.in_progress if customer is not None else None
    payment = (waiting.get(reference) if waiting is not None
               else customer.payments.get(reference) if customer is not None else None)
    if payment is not None and payment.state == REQUESTED and payment.prepared_by:
        return f'{reference} ({payment.prepared_by[1]}, {awaiting})'
    return reference


def saldos_values(context, request, selection, notice=None):
    """What one page of the customer's open invoices shows (the rest of what the template
    needs: :func:`rendering_values`).

    Only the shown page's invoices are sorted in full (see
    :func:`~canonportal.selection.payable_page`).
    """
    rate = selection.rate
    size = page_size(request)
    requested = max(_requested_page(request), 1)
    accounts = visible_accounts(request)
    count, shown = sel.payable_page(context, (requested - 1) * size, requested * size, accounts)
    pages = max(1, -(-count // size))
    current = min(requested, pages)
    if current != requested:
        _count, shown = sel.payable_page(context, (current - 1) * size, current * size, accounts)
    # Only a selection has lines to place on this page or another (a plain GET has none).
    shown_keys = {inv.key for inv in shown} if selection.lines else frozenset()
    # Selected rows of other pages travel as hidden inputs; an invoice that is unknown
    # or has nothing left is reported once and dropped, or it could never be unticked.
    off_page = [line for line in selection.lines.values()
                if line.key not in shown_keys and 'invoice' not in line.errors]
    offpage_total = sum((line.amount_mxn for line in off_page if line.valid), ZERO)
    offpage_count = sum(1 for line in off_page if line.valid)
    troubled = selection.line_errors()
    positions = sel.payable_positions(context, [line.key for line in troubled
                                                if line.key not in shown_keys])
    problems = [{'key': line.key, 'messages': list(line.errors.values()),
                 'page': positions[line.key] // size + 1 if line.key in positions else None,
                 'anchor': _anchor(shown, line)}
                for line in troubled]
    return page(
        context, request, 'saldos', _('Saldos'),
        rows=bool(shown), shown=shown, rate=rate, selection=selection,
        off_page=off_page, offpage_total=offpage_total, offpage_count=offpage_count,
        total=selection.total_mxn, has_overdue=_has_overdue(context, rate), problems=problems,
        general_errors=selection.errors, notice=notice, page_number=current, pages=pages,
        page_window=_page_window(current, pages), invoice_count=count,
        spei_clabe=spei_clabe(request, context))


def rendering_values(context, request, values):
    """What the template needs besides :func:`saldos_values`, only to render the page
    (not to decide whether a kept one shows the same): the rows, texts, addresses, banks."""
    row_html = rows_html(request, values['shown'], values['selection'], values['rate'],
                         editable=values['may_pay'])
    return {'rows_html': ''.join(row_html),
            'count_text': INVOICE_COUNT.format(request, len(values['selection'].chosen)),
            'count_forms': count_forms(request), 'field_messages': field_messages(request),
            'banks': configured_banks(request), 'plain': _plain,
            'form_action': request.resource_url(context, 'saldos'),
            'pay_action': request.resource_url(context, 'pagar')}


def saldos_page(context, request, selection, notice=None):
    """SALDOS as a response: kept rendered (:mod:`.kept`), rows and all, while it shows
    nothing this request typed (no invoice ticked, no message); else rendered, its
    unticked rows from :data:`ROW_CACHE`."""
    values = saldos_values(context, request, selection, notice)
    return kept_page(request, TEMPLATE, values, _page_key(request, context, values),
                     more=lambda: rendering_values(context, request, values))


def _page_key(request, customer, values):
    """Everything SALDOS shows, or None when it shows what was typed (or an invoice
    changed in this transaction)."""
    selection = values['selection']
    if selection.lines or selection.errors or values['notice'] or values['problems']:
        return None
    rows = tuple(_invoice_version(invoice) for invoice in values['shown'])
    person = person_key(request, customer, values)
    if person is None or None in rows:
        return None
    rate = values['rate']
    reason = request.localizer.translate(rate.reason) if rate.reason else None
    return (TEMPLATE, person, rate.today, rate.day, rate.rate, rate.usable, reason, rows,
            values['has_overdue'], values['invoice_count'], values['page_number'],
            values['pages'], values['spei_clabe'])


def spei_clabe(request, customer):
    """The customer's own CLABE when SPEI is configured with a range of them, else None."""
    gateway = request.registry.gateways.get('spei')
    if gateway is None or gateway.range is None or not customer.number:
        return None
    return gateway.clabe_for(customer.number)


def field_messages(request):
    """The server's messages for a wrong amount, for saldos.js to show on the row as it is
    typed (``{amount}`` stands for what is left of the invoice)."""
    translate = request.localizer.translate
    return {'number': translate(sel.MSG_NOT_NUMBER), 'positive': translate(sel.MSG_POSITIVE),
            'decimals': translate(sel.MSG_DECIMALS),
            'over': translate(sel.over_message_template('{amount}'))}


def count_forms(request):
    """"1 factura" and "{n} facturas" in the request's language, for saldos.js to count
    as the customer ticks (Spanish and English both use one form for 1, another for the rest)."""
    return {'one': INVOICE_COUNT.format(request, 1, '{n}'),
            'other': INVOICE_COUNT.format(request, 2, '{n}')}


def _has_overdue(customer, rate):
    return next(iter(customer.open_invoices.due_before(rate.today)), None) is not None


def rows_html(request, shown, selection, rate, editable=True):
    """The rendered ``<tr>`` of each shown invoice; without ``editable`` (a person who
    may not pay) no checkbox and no amount fields.

    A row nobody has ticked shows only the invoice, the day's rate, the
    language and whether it is editable, so it is kept in :data:`ROW_CACHE`
    under those (the invoice by its database serial, which every committed
    change renews): reloading SALDOS, paging back and "Calcular" re-render
    only the rows that changed.
    """
    template = get_renderer(ROW_TEMPLATE).implementation()
    fmt = row_labels = None
    html = []
    for index, invoice in enumerate(shown):
        line = selection.lines.get(invoice.key)
        version = None if line else _row_version(request.locale_name, index, invoice, rate,
                                                 editable)
        fragment = ROW_CACHE.get(version) if version else None
        if fragment is None:
            if fmt is None:
                fmt = Formatter(request.locale_name)
                translate = request.localizer.translate
                row_labels = SimpleNamespace(
                    **{name: translate(text) for name, text in ROW_LABELS.items()})
            fragment = template(row=Row(index, invoice, line, rate, fmt, row_labels.awaiting),
                                row_labels=row_labels, editable=editable)
            if version:
                ROW_CACHE.put(version, fragment)
        html.append(fragment)
    return html


def _row_version(locale_name, index, invoice, rate, editable):
    """Everything an unticked row's HTML depends on, or ``None`` when the invoice
    was changed in this transaction (its serial does not describe it yet)."""
    version = _invoice_version(invoice)
    return version and (locale_name, editable, index, version, rate.today, rate.rate, rate.usable)


def _invoice_version(invoice):
    """What an unticked row shows of its invoice: the invoice by its serial, and the
    state of each payment holding part of it ("en proceso: pago 230 (Ana Compras, por
    aprobar)"); ``None`` while the invoice is changed in this transaction."""
    serial = serial_of(invoice)
    if serial is None or not invoice.reservations:
        return serial
    customer = customer_of(invoice)
    waiting = ({} if customer is None else customer.in_progress
               if customer.in_progress is not None else customer.payments)
    return (serial, tuple((reference, getattr(waiting.get(reference), 'state', None))
                          for reference, _amount in invoice.reservations))


def _anchor(shown, line):
    for index, invoice in enumerate(shown):
        if invoice.key == line.key:
            field = 'usd' if 'usd' in line.errors else 'mxn'
            return f"{field}-{index}"
    return None


def _plain(value):
    return '' if value is None else f'{value:.2f}'


@view_config(context=Customer, name='saldos', permission='view',
             request_method=('GET', 'HEAD', 'POST'))
def balances_page(context, request):
    """GET shows the open invoices; POST ("Calcular", paging) recomputes the selection."""
    selection = read_selection(context, request)
    if selection.has_errors:
        request.response.status = 400
    return saldos_page(context, request, selection)
