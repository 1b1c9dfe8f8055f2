"""FACTURAS: the customer's invoices, one invoice's page, its CFDI XML and PDF, and ZIPs.

Everything is looked up under the context customer (``context.invoices``),
never through the root's cross-customer indexes, so the ACL of the customer
covers every object served here.
"""
import datetime
import heapq
import shutil
import tempfile
import zipfile
from collections import namedtuple

from pyramid.renderers import render_to_response
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from .. import clock, dates, downloads
from ..fragments import serial_of
from ..i18n import _
from ..money import ZERO
from ..resources import Customer, Invoice, customer_of
from ..resources.invoice import OPEN, OVERDUE, PAID
from ..reports.statement_data import BALANCE_RULE
from ..resources.payment import RECEIVED_STATES
from .complement_lists import of_invoice
from .customer import INVOICE_COUNT, page, sees, visible_accounts
from .kept import kept_page, person_key

PAGE_SIZE = 50
ZIP_LIMIT = 200
MAX_QUERY_LENGTH = 60
LIST_TEMPLATE = 'canonportal:templates/invoices.pt'

#: Status filter values, in the order the select shows them, with their labels.
STATUSES = (
    (OPEN, _('Abierta')),
    (OVERDUE, _('Vencida')),
    (PAID, _('Pagada')),
)
STATUS_LABELS = dict(STATUSES)

#: The query parameters of the list, as the filter form names them.
FILTER_FIELDS = ('cuenta', 'estado', 'desde', 'hasta', 'buscar')

Row = namedtuple('Row', 'invoice status balance waiting')



def pay_url(request, customer, invoice):
    """SALDOS with ``invoice`` ticked, or None when nothing of it is left to pay (the pages
    offer it only to people who may pay)."""
    if invoice.left_to_pay <= ZERO:
        return None
    return request.resource_url(customer, 'saldos', query={'pagar': invoice.key})


def as_paid_through_portal(invoice, payments, today):
    """``(balance, waiting, status)`` of ``invoice`` as FACTURAS shows it.

    The rule of FACTURAS and of the statement PDF alike: a portal payment the bank
    confirmed counts as paid even before the ERP applies it (the balance is the ERP's
    minus those); one still waiting at the bank is only shown as in transit.
    """
    received = ZERO
    for reference, amount in invoice.reservations:
        payment = payments.get(reference)
        if payment is not None and payment.state in RECEIVED_STATES:
            received += amount
    balance = max(invoice.balance - received, ZERO)
    waiting = invoice.in_transit - received
    if balance <= ZERO:
        status = PAID
    elif invoice.due is not None and invoice.due < today:
        status = OVERDUE
    else:
        status = OPEN
    return balance, waiting, status


def parse_day(text):
    """A date typed or picked: 2017-10-06 (date inputs) or 06-10-2017 / 06/10/2017;
    raises :class:`~canonportal.dates.BadDate` or :class:`~canonportal.dates.DateOutOfRange`."""
    return dates.parse(text)


class Filters:
    """The list's filters read from the query string, with a message per bad field.

    A bad value is reported and then ignored: the other filters still apply.
    """

    def __init__(self, customer, params, accounts=None):
        self.values = {name: (params.get(name) or '').strip() for name in FILTER_FIELDS}
        self.visible = accounts      # None: every account of the customer
        self.errors = {}
        self.account = self.status = self.date_from = self.date_to = None
        self.query = ''

        account = self.values['cuenta']
        if account:
            if account in customer.accounts and sees(accounts, account):
                self.account = account
            else:
                self.errors['cuenta'] = _('La cuenta no existe en su RFC; elija una de la lista.')

        status = self.values['estado']
        if status:
            if status in STATUS_LABELS:
                self.status = status
            else:
                self.errors['estado'] = _('Estado no válido; elija abierta, vencida o pagada.')

        for name in ('desde', 'hasta'):
            if self.values[name]:
                try:
                    setattr(self, 'date_from' if name == 'desde' else 'date_to',
                            parse_day(self.values[name]))
                except dates.DateOutOfRange:
                    self.errors[name] = dates.MSG_OUT_OF_RANGE
                except ValueError:
                    self.errors[name] = _('Fecha no válida; use el formato AAAA-MM-DD '
                                          '(por ejemplo 2017-10-06).')
        if self.date_from and self.date_to and self.date_from > self.date_to:
            self.errors['hasta'] = _('La fecha final es anterior a la fecha inicial.')
            self.date_to = None

        query = self.values['buscar']
        if len(query) > MAX_QUERY_LENGTH:
            self.errors['buscar'] = _('La búsqueda es demasiado larga; escriba un folio o un UUID.')
        else:
            self.query = query.upper()

        try:
            self.page = max(int(params.get('pagina', '1')), 1)
        except ValueError:
            self.page = 1

    @property
    def active(self):
        return any((self.account, self.status, self.date_from, self.date_to, self.query))

    def query_items(self, page=None):
        """The filter values to carry into links (page links keep the filters)."""
        items = [(name, value) for name, value in self.values.items() if value]
        if page and page > 1:
            items.append(('pagina', str(page)))
        return items

    def matches(self, invoice, today, payments):
        """Whether ``invoice`` passes the filters (its status is only computed if asked)."""
        if self.account and invoice.account != self.account:
            return False
        if self.status and as_paid_through_portal(invoice, payments, today)[2] != self.status:
            return False
        if self.date_from and (invoice.issued is None or invoice.issued < self.date_from):
            return False
        if self.date_to and (invoice.issued is None or invoice.issued > self.date_to):
            return False
        if self.query:
            candidates = (invoice.key.upper(), invoice.folio.upper(), (invoice.uuid or '').upper())
            if not any(candidate.startswith(self.query) for candidate in candidates):
                return False
        return True


def select_invoices(customer, filters, today, payments, start=0, stop=None):
    """One pass over the customer's invoices: how many match, the keys of matches
    ``[start:stop]`` in the list's order (newest first; same day: higher key first),
    and the balances of all matches per currency.

    Only ``(issued, key)`` pairs are kept per match and only the requested slice is
    sorted in full, so the response renders at most ``PAGE_SIZE`` rows.
    """
    matched = []
    append = matched.append
    balances = {}
    active = filters.active
    first_day = datetime.date.min
    visible = filters.visible
    for key, invoice in customer.invoices.items():
        if visible is not None and invoice.account not in visible:
            continue
        if active and not filters.matches(invoice, today, payments):
            continue
        append((invoice.issued or first_day, key))
        currency = invoice.currency
        balance = (as_paid_through_portal(invoice, payments, today)[0] if invoice.reservations
                   else invoice.balance)
        balances[currency] = balances.get(currency, ZERO) + balance
    count = len(matched)
    stop = count if stop is None else min(max(stop, start), count)
    if stop <= count // 2:
        chosen = heapq.nlargest(stop, matched)[start:]
    else:
        chosen = sorted(matched, reverse=True)[start:stop]
    return count, [key for _, key in chosen], balances


def list_values(context, request, zip_error=None):
    """What FACTURAS shows for the request's filters (the rest of what the template needs:
    :func:`rendering_values`)."""
    filters = Filters(context, request.GET, visible_accounts(request))
    today = clock.mexico_today()
    start = (filters.page - 1) * PAGE_SIZE
    payments = request.root.payments_by_reference
    total, keys, balances = select_invoices(context, filters, today, payments, start,
                                            start + PAGE_SIZE)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    current = min(filters.page, pages)
    if current != filters.page:
        start = (current - 1) * PAGE_SIZE
        total, keys, balances = select_invoices(context, filters, today, payments, start,
                                                start + PAGE_SIZE)
    rows = []
    for key in keys:
        invoice = context.invoices[key]
        balance, waiting, status = as_paid_through_portal(invoice, payments, today)
        rows.append(Row(invoice, status, balance, waiting))

    return page(
        context, request, 'facturas', _('Facturas'),
        rows=rows, filters=filters, errors=filters.errors, form=filters.values,
        statuses=STATUSES, status_labels=STATUS_LABELS, total=total,
        balances=sorted(balances.items()), page_number=current, pages=pages,
        zip_limit=ZIP_LIMIT, zip_error=zip_error, balance_rule=BALANCE_RULE, today=today)


def rendering_values(context, request, values):
    """What the template needs besides :func:`list_values`, only to render the list (not
    to decide whether a kept one shows the same): the pager's links, texts, addresses."""
    filters, current, pages = values['filters'], values['page_number'], values['pages']

    def page_url(number):
        return request.resource_url(context, 'facturas', query=filters.query_items(number))

    pager = {
        'current': current,
        'pages': pages,
        'first': page_url(1) if current > 1 else None,
        'previous': page_url(current - 1) if current > 1 else None,
        'next': page_url(current + 1) if current < pages else None,
        'last': page_url(pages) if current < pages else None,
        'numbers': [(n, page_url(n)) for n in _window(current, pages)],
        'label': _('Página ${current} de ${pages}', mapping={'current': current, 'pages': pages}),
    }
    return {'pager': pager, 'count_label': INVOICE_COUNT.format(request, values['total']),
            'pay_url': (lambda invoice: pay_url(request, context, invoice))
            if values['may_pay'] else (lambda invoice: None),
            'clear_url': request.resource_url(context, 'facturas')}


def _window(current, pages, width=2):
    """Page numbers around the current one (the pager shows first/last separately)."""
    return range(max(current - width, 1), min(current + width, pages) + 1)


@view_config(context=Customer, name='facturas', permission='view', request_method='GET')
def invoices_page(context, request):
    """The list, kept rendered (:mod:`.kept`) while no filter is typed."""
    values = list_values(context, request)
    if values['errors']:
        request.response.status = 400
    return kept_page(request, LIST_TEMPLATE, values, _list_key(request, context, values),
                     more=lambda: rendering_values(context, request, values))


def _list_key(request, customer, values):
    """Everything the unfiltered list shows (each row: its invoice by serial, and the
    balance, transit and state payments give it), or None for a filtered one."""
    if any(values['form'].values()) or values['zip_error']:
        return None
    person = person_key(request, customer, values)
    rows = tuple((serial_of(row.invoice), row.balance, row.waiting, row.status)
                 for row in values['rows'])
    if person is None or any(row[0] is None for row in rows):
        return None
    return (LIST_TEMPLATE, person, values['today'], values['page_number'], values['pages'],
            values['total'], tuple(values['balances']), rows)


# --- one invoice -------------------------------------------------------------------------

@view_config(context=Invoice, name='', permission='view', request_method='GET',
             renderer='canonportal:templates/invoice.pt')
def invoice_page(context, request):
    customer = customer_of(context)
    today = clock.mexico_today()
    balance, waiting, status = as_paid_through_portal(
        context, request.root.payments_by_reference, today)

    def with_payment(entries):
        payments = customer.payments
        return [(reference, amount,
                 request.resource_url(payments[reference]) if reference in payments else None)
                for reference, amount in entries]

    return page(
        customer, request, 'facturas',
        _('Factura ${key}', mapping={'key': context.key}),
        invoice=context, status=status, status_label=STATUS_LABELS[status],
        balance=balance, waiting=waiting,
        pay_url=pay_url(request, customer, context) if request.has_permission('pay', customer) else None,
        applied=with_payment(context.applied), reservations=with_payment(context.reservations),
        complements=of_invoice(request, customer, context),
        xml_url=request.resource_url(context, '@@xml') if context.cfdi_xml is not None else None,
        pdf_url=request.resource_url(context, '@@pdf') if context.pdf is not None else None,
        list_url=request.resource_url(customer, 'facturas'),
    )


@view_config(context=Invoice, name='xml', permission='view', request_method='GET')
def invoice_xml(context, request):
    """The CFDI XML, always as a download: a browser never renders it inline."""
    return downloads.invoice_xml(context)


@view_config(context=Invoice, name='pdf', permission='view', request_method='GET')
def invoice_pdf(context, request):
    return downloads.invoice_pdf(context)


# --- several invoices as one ZIP -------------------------------------------------------

def _refuse_zip(context, request, message):
    values = list_values(context, request, zip_error=message)
    values.update(rendering_values(context, request, values))
    response = render_to_response(LIST_TEMPLATE, values, request=request)
    response.status = 400
    return response


@view_config(context=Customer, name='facturas.zip', permission='view',
             request_method=('GET', 'POST'))
def invoices_zip(context, request):
    """The XML and PDF of the selected invoices (``folio`` repeated) in one ZIP.

    Keys are looked up in this customer's own invoices only; unknown keys are
    left out and listed in LEEME.txt. Changes nothing, so GET is the usual
    method; a POST is checked for its CSRF token by the default options.
    """
    keys = list(dict.fromkeys(k.strip() for k in request.params.getall('folio') if k.strip()))
    if not keys:
        return _refuse_zip(context, request, _('Seleccione al menos una factura para descargar.'))
    if len(keys) > ZIP_LIMIT:
        return _refuse_zip(context, request, _(
            'Puede descargar hasta ${limit} facturas por archivo; seleccionó ${count}.',
            mapping={'limit': ZIP_LIMIT, 'count': len(keys)}))
    invoices, unknown = [], []
    accounts = visible_accounts(request)
    for key in keys:
        invoice = context.invoices.get(key)
        if isinstance(invoice, Invoice) and sees(accounts, invoice.account):
            invoices.append(invoice)
        else:
            unknown.append(key)
    documents = [(invoice, blob, extension) for invoice in invoices
                 for blob, extension in ((invoice.cfdi_xml, 'xml'), (invoice.pdf, 'pdf'))
                 if blob is not None]
    if not invoices:
        return _refuse_zip(context, request, _(
            'Ninguna de las facturas seleccionadas pertenece a su cuenta.'))
    if not documents:
        return _refuse_zip(context, request, _(
            'Las facturas seleccionadas no tienen XML ni PDF disponibles.'))

    localizer = request.localizer
    notes = []
    if unknown:
        notes.append(localizer.translate(_('Facturas no encontradas en su cuenta:')))
        notes.extend(f'  {key[:MAX_QUERY_LENGTH]}' for key in unknown)
    missing = [(invoice.key, extension) for invoice in invoices
               for blob, extension in ((invoice.cfdi_xml, 'XML'), (invoice.pdf, 'PDF'))
               if blob is None]
    if missing:
        notes.append(localizer.translate(_('Documentos que el ERP no ha enviado:')))
        notes.extend(f'  {key} {extension}' for key, extension in missing)

    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        for invoice, blob, extension in documents:
            name = downloads.invoice_file_name(context, invoice, extension)
            with blob.open('r') as source, archive.open(name, 'w') as target:
                shutil.copyfileobj(source, target)
        if notes:
            archive.writestr('LEEME.txt', '\r\n'.join(notes) + '\r\n')
    size = spool.tell()
    spool.seek(0)
    response = Response(content_type='application/zip', app_iter=FileIter(spool))
    response.content_length = size
    response.content_disposition = f'attachment; filename="{downloads.safe_name(context.rfc)}-facturas.zip"'
    return response
