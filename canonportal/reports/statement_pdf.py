"""Account statements (estados de cuenta) drawn with reportlab from the numbers of
:mod:`canonportal.reports.statement_data`.

Everything here is a pure function of resources and plain values; nothing
needs a Pyramid request. Views pass ``request.localizer.translate`` and the
locale name; a console script may pass nothing and gets the Spanish text.
"""
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..formatting import amount as fmt_amount
from ..formatting import day as _day
from ..formatting import timestamp as fmt_timestamp
from ..i18n import _
from .pdf import interpolate
from .statement_data import (
    BALANCE_RULE, BUCKET_KEYS, BUCKETS, INVOICE, PAYMENT, build_statement, empty_aging,
    statement_period,
)


# --- rendering -------------------------------------------------------------

def _styles():
    sheet = getSampleStyleSheet()
    base = ParagraphStyle('base', parent=sheet['Normal'], fontName='Helvetica', fontSize=8.5,
                          leading=10.5)
    return {
        'company': ParagraphStyle('company', parent=base, fontName='Helvetica-Bold', fontSize=16,
                                  leading=20, textColor=colors.HexColor('#cc0000')),
        'title': ParagraphStyle('title', parent=base, fontName='Helvetica-Bold', fontSize=13,
                                leading=17, spaceAfter=4),
        'h2': ParagraphStyle('h2', parent=base, fontName='Helvetica-Bold', fontSize=10.5,
                             leading=14, spaceBefore=10, spaceAfter=4),
        'cell': base,
        'num': ParagraphStyle('num', parent=base, alignment=TA_RIGHT),
        'note': ParagraphStyle('note', parent=base, fontSize=7.5, leading=9.5,
                               textColor=colors.HexColor('#5a5a5a')),
    }


_GRID = [
    ('FONT', (0, 0), (-1, -1), 'Helvetica', 8.5),
    ('FONT', (0, 0), (-1, 0), 'Helvetica-Bold', 8.5),
    ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#ececec')),
    ('LINEBELOW', (0, 0), (-1, -1), 0.4, colors.HexColor('#d8d8d8')),
    ('VALIGN', (0, 0), (-1, -1), 'TOP'),
    ('TOPPADDING', (0, 0), (-1, -1), 3),
    ('BOTTOMPADDING', (0, 0), (-1, -1), 3),
]


def _table(rows, widths, numeric_from, bold_rows=()):
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = list(_GRID)
    style.append(('ALIGN', (numeric_from, 0), (-1, -1), 'RIGHT'))
    for row in bold_rows:
        style.append(('FONT', (0, row), (-1, row), 'Helvetica-Bold', 8.5))
    table.setStyle(TableStyle(style))
    return table


def render_pdf(data, company_name, translate=None, locale_name='es', compress=True):
    """Render :class:`StatementData` as PDF bytes (US letter)."""
    t = translate or interpolate
    styles = _styles()

    def money(value):
        return fmt_amount(value, locale_name)

    def para(text, style='cell'):
        return Paragraph(escape(str(text)), styles[style])

    def fmt_day(value):
        return _day(value, locale_name)

    if data.statement_id:
        title = t(_('Estado de cuenta ${number}', mapping={'number': data.statement_id}))
    else:
        title = t(_('Estado de cuenta'))
    period = t(_('${start} al ${end}', mapping={'start': fmt_day(data.start),
                                                 'end': fmt_day(data.end)}))
    story = [
        para(company_name, 'company'),
        para(title, 'title'),
    ]
    ident = [
        [t(_('RFC:')), data.rfc],
        [t(_('Nombre:')), para(data.name)],
        [t(_('Cuenta (# Cliente):')), data.account],
        [t(_('Periodo:')), period],
        [t(_('Fecha de expedición:')), fmt_timestamp(data.issued, locale_name)],
    ]
    ident_table = Table(ident, colWidths=[40 * mm, None], hAlign='LEFT')
    ident_table.setStyle(TableStyle([
        ('FONT', (0, 0), (0, -1), 'Helvetica-Bold', 9),
        ('FONT', (1, 0), (1, -1), 'Helvetica', 9),
        ('VALIGN', (0, 0), (-1, -1), 'TOP'),
        ('TOPPADDING', (0, 0), (-1, -1), 1),
        ('BOTTOMPADDING', (0, 0), (-1, -1), 1),
        ('LEFTPADDING', (0, 0), (-1, -1), 0),
    ]))
    story += [ident_table, Spacer(1, 4 * mm)]

    # Summary: one row per currency, never a grand total across currencies.
    story.append(para(t(_('Resumen por moneda')), 'h2'))
    summary = [[t(_('Moneda')), t(_('Saldo inicial')), t(_('Cargos')), t(_('Abonos')),
                t(_('Saldo final'))]]
    for section in data.sections:
        summary.append([section.currency, money(section.opening), money(section.charges),
                        money(section.credits), money(section.closing)])
    story.append(_table(summary, [30 * mm] + [35 * mm] * 4, 1))

    estimated_shown = False
    for section in data.sections:
        story.append(para(t(_('Movimientos en ${currency}',
                               mapping={'currency': section.currency})), 'h2'))
        rows = [[t(_('Fecha')), t(_('Documento')), t(_('Concepto')), t(_('Cargos')),
                 t(_('Abonos')), t(_('Saldo'))]]
        rows.append([fmt_day(data.start), '', para(t(_('Saldo inicial'))), '', '',
                     money(section.opening)])
        running = section.opening
        for m in section.movements:
            running += m.signed
            if m.kind == INVOICE:
                concept = _('Factura, vence ${due}', mapping={'due': fmt_day(m.due)}) \
                    if m.due else _('Factura')
            elif m.kind == PAYMENT:
                concept = _('Pago en línea a factura ${invoice}', mapping={'invoice': m.invoice_key})
            else:
                concept = _('Abono registrado en el ERP a factura ${invoice} (fecha estimada)',
                            mapping={'invoice': m.invoice_key})
                estimated_shown = True
            day = fmt_day(m.day) + (' *' if m.estimated else '')
            rows.append([day, m.reference, para(t(concept)),
                         money(m.amount) if m.is_charge else '',
                         '' if m.is_charge else money(m.amount), money(running)])
        if not section.movements:
            rows.append(['', '', para(t(_('Sin movimientos en el periodo'))), '', '', ''])
        rows.append([fmt_day(data.end), '', para(t(_('Saldo final'))), money(section.charges),
                     money(section.credits), money(section.closing)])
        story.append(_table(rows, [20 * mm, 24 * mm, 65 * mm, 25 * mm, 25 * mm, 26 * mm], 3,
                            bold_rows=(1, len(rows) - 1)))

    story.append(para(t(_('Antigüedad de saldos al ${day}', mapping={'day': fmt_day(data.as_of)})),
                      'h2'))
    aging_rows = [[t(_('Moneda'))] + [t(label) for _key, label in BUCKETS] + [t(_('Total'))]]
    for section in data.sections:
        buckets = data.aging.get(section.currency, empty_aging())
        aging_rows.append([section.currency] + [money(buckets[key]) for key in BUCKET_KEYS]
                          + [money(buckets['total'])])
    story.append(_table(aging_rows, [20 * mm] + [24.5 * mm] * 6, 1))

    story.append(Spacer(1, 5 * mm))
    notes = [_('Importes en la moneda de cada factura; MXN y USD se presentan por separado y no se suman.'),
             _('Días de atraso contados desde la fecha de vencimiento de cada factura.'),
             BALANCE_RULE]
    if estimated_shown:
        notes.append(_('* El ERP informa el saldo de la factura pero no la fecha del abono; '
                       'se muestra en su fecha de vencimiento.'))
    notes.append(_('Generado por el portal de clientes el ${now} con la información disponible '
                   'en ese momento.', mapping={'now': fmt_timestamp(data.generated or data.issued, locale_name)}))
    story += [para(t(note), 'note') for note in notes + list(data.notes)]

    footer = t(_('${company} · Estado de cuenta de ${rfc}, cuenta ${account}',
                 mapping={'company': company_name, 'rfc': data.rfc, 'account': data.account}))

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont('Helvetica', 7.5)
        canvas.setFillColor(colors.HexColor('#5a5a5a'))
        canvas.drawString(doc.leftMargin, 10 * mm, footer)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 10 * mm,
                               t(_('Página ${page}', mapping={'page': str(doc.page)})))
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=letter, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
        bottomMargin=18 * mm, title=f'{title} · {data.rfc} · {data.account}', author=company_name,
        subject=period, creator='canonportal', pageCompression=1 if compress else 0, lang='es-MX')
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


# --- entry points ----------------------------------------------------------

def statement_pdf(customer, statement, company_name, now, **render_options):
    """The portal-generated PDF of an ERP statement that came without its own PDF."""
    start, end = statement_period(statement)
    data = build_statement(customer, statement.account, start, end, now,
                           statement_id=statement.statement_id, issued=statement.issued)
    return render_pdf(data, company_name, **render_options)


def range_pdf(customer, account, start, end, company_name, now, **render_options):
    """A statement of any account of ``customer`` for any period, generated now."""
    if account not in customer.accounts:
        raise ValueError(f'{account!r} is not an account of {customer.rfc}')
    if start > end:
        raise ValueError('the period starts after it ends')
    data = build_statement(customer, account, start, end, now)
    return render_pdf(data, company_name, **render_options)
