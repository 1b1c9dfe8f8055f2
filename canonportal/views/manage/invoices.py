"""An invoice's management page: amounts, dates, documents, payments in transit and applied."""
from pyramid.view import view_config

from ... import downloads
from ...i18n import _
from ...money import usd_to_mxn
from ...resources import Invoice, customer_of
from ...resources.invoice import MXN
from . import ROUTE, VIEW, manage_url
from .contents import INVOICE_STATUS_LABELS, PAYMENT_STATE_LABELS, Cells, object_values

TEMPLATE = 'canonportal:templates/manage/invoice.pt'


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
