"""An invoice's management page: amounts, dates, documents, payments in transit and applied."""
import datetime

from pyramid.view import view_config

from ... import downloads
from ...i18n import _
from ...money import usd_to_mxn
from ...resources import Customer, Invoice, customer_of
from ...resources.invoice import CURRENCIES, MXN
from . import ROUTE, VIEW, manage_url
from .contents import object_values
from .labels import INVOICE_STATUS_LABELS, PAYMENT_STATE_LABELS
from .listing import Cells, Choice, Column, Kind, register_listing

TEMPLATE = 'canonportal:templates/manage/invoice.pt'


INVOICE_COLUMNS = (
    Column('account', _('Cuenta'), lambda i, x: i.account, lambda i: i.account),
    Column('issued', _('Emisión'), lambda i, x: x.fmt.day(i.issued), lambda i: i.issued),
    Column('due', _('Vencimiento'), lambda i, x: x.fmt.day(i.due), lambda i: i.due),
    Column('amount', _('Importe'), lambda i, x: x.fmt.money(i.amount, i.currency),
           lambda i: i.amount_mxn, numeric=True),
    Column('balance', _('Saldo'), lambda i, x: x.fmt.money(i.balance, i.currency),
           lambda i: i.balance_mxn, numeric=True),
    Column('in_transit', _('En tránsito'), lambda i, x: x.fmt.money(i.in_transit, i.currency),
           lambda i: i.in_transit, numeric=True),
    # By status: unpaid ones first, the longest overdue on top, the paid ones last.
    Column('status', _('Estado'), lambda i, x: x.label(INVOICE_STATUS_LABELS, i.status(x.today)),
           lambda i: (i.balance <= 0, i.due or datetime.date.max)),
)

INVOICE_FILTERS = (
    Choice('estado', _('Estado'), INVOICE_STATUS_LABELS.items(),
           lambda invoice, value, today: invoice.status(today) == value),
    Choice('moneda', _('Moneda'), [(c, c) for c in CURRENCIES],
           lambda invoice, value, today: invoice.currency == value),
)

register_listing(Kind('invoices', _('Factura'), INVOICE_COLUMNS, INVOICE_FILTERS),
                 under=Customer, name='invoices')


def in_mxn(invoice, amount):
    """``amount`` of ``invoice``'s currency in MXN at the invoice's own rate."""
    if invoice.currency == MXN:
        return amount
    return usd_to_mxn(amount, invoice.exchange_rate)


def payment_rows(request, invoice, entries, cells):
    """``[{reference, amount, url, state}]`` for (reference, amount) pairs of ``invoice``."""
    payments = customer_of(invoice).payments
    rows = []
    for reference, amount in entries:
        payment = payments.get(reference)
        rows.append({
            'reference': reference,
            'amount': cells.fmt.money(amount, invoice.currency),
            'amount_mxn': cells.fmt.money(in_mxn(invoice, amount), MXN),
            'url': manage_url(request, payment) if payment is not None else None,
            'state': cells.label(PAYMENT_STATE_LABELS, payment.state) if payment is not None else '—',
        })
    return rows


@view_config(route_name=ROUTE, context=Invoice, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def invoice_view(context, request):
    cells = Cells(request)
    fmt = cells.fmt
    invoice = context
    usd = invoice.currency != MXN
    status = invoice.status(cells.today)
    properties = [
        (_('Serie'), invoice.serie or '—'),
        (_('Folio'), invoice.folio),
        (_('Folio fiscal (UUID)'), invoice.uuid or '—'),
        (_('Cuenta'), invoice.account),
        (_('Estado'), cells.label(INVOICE_STATUS_LABELS, status)),
        (_('Fecha de emisión'), fmt.day(invoice.issued)),
        (_('Fecha de vencimiento'), fmt.day(invoice.due)),
        (_('Método de pago'), invoice.metodo_pago or '—'),
        (_('Moneda'), invoice.currency),
    ]
    if usd:
        properties.append((_('Tipo de cambio'), fmt.rate(invoice.exchange_rate)))

    def amount_row(label, value):
        return (label, fmt.money(value, invoice.currency),
                fmt.money(in_mxn(invoice, value), MXN) if usd else '')

    amounts = [
        amount_row(_('Importe'), invoice.amount),
        amount_row(_('Saldo pendiente (ERP)'), invoice.balance),
        amount_row(_('En tránsito'), invoice.in_transit),
        amount_row(_('Por pagar'), invoice.left_to_pay),
    ]
    return object_values(
        request, context, page_title=_('Factura ${key}', mapping={'key': invoice.key}),
        properties=properties, amounts=amounts, usd=usd,
        reservations=payment_rows(request, invoice, invoice.reservations, cells),
        applied=payment_rows(request, invoice, invoice.applied, cells),
        xml_url=manage_url(request, invoice, '@@xml') if invoice.cfdi_xml is not None else None,
        pdf_url=manage_url(request, invoice, '@@pdf') if invoice.pdf is not None else None,
        next_instalment=invoice.next_instalment(),
    )


@view_config(route_name=ROUTE, context=Invoice, name='xml', permission=VIEW, request_method='GET')
def manage_invoice_xml(context, request):
    """The CFDI XML as the customer downloads it (404 when the ERP sent none)."""
    return downloads.invoice_xml(context)


@view_config(route_name=ROUTE, context=Invoice, name='pdf', permission=VIEW, request_method='GET')
def manage_invoice_pdf(context, request):
    return downloads.invoice_pdf(context)
