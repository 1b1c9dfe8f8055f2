"""The printable SPEI payment instructions, rendered with reportlab."""
import io
from xml.sax.saxutils import escape

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from ..formatting import deadline, money
from ..i18n import _
from .pdf import facts_table, headed_table, interpolate, letter_document
from .receipt_data import receipt_lines


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
        (tr(_('RFC')), customer.rfc),
    ]
    if instructions.get('deadline'):
        facts.append((tr(_('Fecha límite de pago')), deadline(instructions['deadline'], locale_name)))
    return facts


def instructions_pdf(instructions, payment, customer, company, translate=None, locale_name='es'):
    """The instructions of a SPEI payment as PDF bytes."""
    tr = translate or interpolate
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    title = tr(_('Instrucciones para la transferencia SPEI'))
    doc = letter_document(buffer, f'{title} {payment.reference}', company)
    rows = [[tr(_('Factura')), tr(_('Monto MXN'))]]
    for key, _currency, mxn, _amount, _rate in receipt_lines(payment):
        rows.append([key, money(mxn, 'MXN', locale_name)])
    invoices = headed_table(rows, [60 * mm, 50 * mm])
    facts = instruction_facts(instructions, payment, customer, tr, locale_name)
    story = [
        Paragraph(escape(company), styles['Title']),
        Paragraph(escape(title), styles['Heading2']),
        Paragraph(escape(tr(_('Desde la banca en línea de su empresa, envíe una transferencia '
                              'SPEI con estos datos exactos. Las facturas quedan reservadas como '
                              '"Pago en Tránsito" hasta que llegue.'))), styles['Normal']),
        Spacer(1, 5 * mm),
        facts_table(facts, [('FONTNAME', (1, 2), (1, 4), 'Courier-Bold')]),
        Spacer(1, 8 * mm),
        invoices,
    ]
    doc.build(story)
    return buffer.getvalue()
