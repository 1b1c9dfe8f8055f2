"""The printable SPEI payment instructions, rendered with reportlab."""
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..formatting import money, timestamp
from ..i18n import _
from ..payments.receipts import receipt_lines
from .statement_pdf import _interpolate


def instruction_facts(instructions, payment, customer, translate, locale_name='es'):
    """``[(label, value)]`` the page, the mail and the PDF show for a waiting transfer."""
    tr = translate
    facts = [
        (tr(_('Beneficiario')), instructions['beneficiary']),
        (tr(_('Banco')), instructions['bank']),
        (tr(_('CLABE')), instructions['clabe']),
        (tr(_('Monto exacto')), money(instructions['amount'], 'MXN', locale_name)),
        (tr(_('Referencia numérica')), instructions['reference']),
        (tr(_('Concepto')), instructions['concept']),
        (tr(_('Referencia de pago')), payment.reference),
        (tr(_('RFC:')), customer.rfc),
    ]
    if instructions.get('deadline'):
        facts.append((tr(_('Pague antes de')), timestamp(instructions['deadline'], locale_name)))
    return facts


def instructions_pdf(instructions, payment, customer, company, translate=None, locale_name='es'):
    """The instructions of a SPEI payment as PDF bytes."""
    tr = translate or _interpolate
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    title = tr(_('Instrucciones para la transferencia SPEI'))
    doc = SimpleDocTemplate(buffer, pagesize=letter, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm,
                            title=f'{title} {payment.reference}', author=company)
    rows = [[tr(_('Factura')), tr(_('Monto MXN'))]]
    for key, _currency, mxn, _amount, _rate in receipt_lines(payment):
        rows.append([key, money(mxn, 'MXN', locale_name)])
    invoices = Table(rows, colWidths=[60 * mm, 50 * mm])
    invoices.setStyle(TableStyle([
        ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#ececec')),
        ('GRID', (0, 0), (-1, -1), 0.5, colors.HexColor('#bbbbbb')),
        ('ALIGN', (1, 1), (-1, -1), 'RIGHT'),
        ('FONTNAME', (0, 0), (-1, 0), 'Helvetica-Bold'),
    ]))
    facts = instruction_facts(instructions, payment, customer, tr, locale_name)
    story = [
        Paragraph(escape(company), styles['Title']),
        Paragraph(escape(title), styles['Heading2']),
        Paragraph(escape(tr(_('Desde la banca en línea de su empresa, envíe una transferencia '
                              'SPEI con estos datos exactos. Las facturas quedan reservadas como '
                              '"Pago en Tránsito" hasta que llegue.'))), styles['Normal']),
        Spacer(1, 5 * mm),
        Table([[k, v] for k, v in facts], colWidths=[50 * mm, 110 * mm],
              style=[('FONTNAME', (0, 0), (0, -1), 'Helvetica-Bold'),
                     ('FONTNAME', (1, 2), (1, 4), 'Courier-Bold')]),
        Spacer(1, 8 * mm),
        invoices,
    ]
    doc.build(story)
    return buffer.getvalue()
