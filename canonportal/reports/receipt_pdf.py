"""The printable receipt of an approved payment, rendered with reportlab."""
import io
from xml.sax.saxutils import escape

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from ..formatting import money, rate, timestamp
from ..gateways import bank_label
from ..i18n import _
from .pdf import facts_table, headed_table, interpolate, letter_document
from .receipt_data import receipt_lines


def receipt_pdf(payment, customer, company, translate=None, locale_name='es'):
    """The receipt of ``payment`` as PDF bytes."""
    tr = translate or interpolate
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = letter_document(buffer, f'{tr(_("Recibo de pago"))} {payment.reference}', company)
    facts = [
        (tr(_('RFC:')), customer.rfc),
        (tr(_('Nombre:')), customer.name),
        (tr(_('Referencia de pago')), payment.reference),
        (tr(_('Referencia bancaria')), payment.bank_reference or ''),
        (tr(_('Banco')), tr(bank_label(payment.bank))),
        (tr(_('Fecha de pago')), timestamp(payment.paid_at or payment.created, locale_name)),
        (tr(_('Monto')), money(payment.total_mxn, 'MXN', locale_name)),
    ]
    if payment.prepared_by:
        facts.append((tr(_('Preparó')), payment.prepared_by[1]))
    if payment.approved_by:
        facts.append((tr(_('Aprobó')), payment.approved_by[1]))
    rows = [[tr(_('Factura pagada')), tr(_('Monto MXN')), tr(_('Monto en moneda de la factura')),
             tr(_('Tipo de Cambio'))]]
    for key, currency, mxn, amount, exchange_rate in receipt_lines(payment):
        rows.append([key, money(mxn, 'MXN', locale_name), money(amount, currency, locale_name),
                     rate(exchange_rate, locale_name) if exchange_rate else ''])
    invoices = headed_table(rows, [40 * mm, 40 * mm, 50 * mm, 40 * mm])
    story = [
        Paragraph(escape(company), styles['Title']),
        Paragraph(escape(tr(_('Recibo de pago'))), styles['Heading2']),
        facts_table(facts),
        Spacer(1, 8 * mm),
        invoices,
        Spacer(1, 8 * mm),
        Paragraph(escape(tr(_('El pago se aplicará a sus facturas cuando nuestro sistema lo '
                              'registre.'))), styles['Normal']),
    ]
    doc.build(story)
    return buffer.getvalue()
