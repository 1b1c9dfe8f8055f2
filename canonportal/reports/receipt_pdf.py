"""The printable receipt of an approved payment, rendered with reportlab."""
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..formatting import money, rate, timestamp
from ..i18n import _
from ..gateways import bank_label
from ..payments.receipts import receipt_lines
from .statement_pdf import _interpolate


def receipt_pdf(payment, customer, company, translate=None, locale_name='es'):
    """The receipt of ``payment`` as PDF bytes."""
    tr = translate or _interpolate
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=letter, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm,
                            title=f'{tr(_("Recibo de pago"))} {payment.reference}', author=company)
    facts = [
        (tr(_('RFC:')), customer.rfc),
        (tr(_('Nombre:')), customer.name),
        (tr(_('Referencia de pago')), payment.reference),
        (tr(_('Referencia bancaria')), payment.bank_reference or ''),
        (tr(_('Banco')), bank_label(payment.bank)),
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
    invoices = Table(rows, colWidths=[40 * mm, 40 * mm, 50 * mm, 40 * mm])
    invoices.setStyle(TableStyle([
        ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#ececec')),
        ('GRID', (0, 0), (-1, -1), 0.5, colors.HexColor('#bbbbbb')),
        ('ALIGN', (1, 1), (-1, -1), 'RIGHT'),
        ('FONTNAME', (0, 0), (-1, 0), 'Helvetica-Bold'),
    ]))
    story = [
        Paragraph(escape(company), styles['Title']),
        Paragraph(escape(tr(_('Recibo de pago'))), styles['Heading2']),
        Table([[k, v] for k, v in facts], colWidths=[50 * mm, 110 * mm],
              style=[('FONTNAME', (0, 0), (0, -1), 'Helvetica-Bold')]),
        Spacer(1, 8 * mm),
        invoices,
        Spacer(1, 8 * mm),
        Paragraph(escape(tr(_('El pago se aplicará a sus facturas cuando nuestro sistema lo '
                              'registre.'))), styles['Normal']),
    ]
    doc.build(story)
    return buffer.getvalue()
