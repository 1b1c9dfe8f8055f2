"""Account statements (estados de cuenta) computed from the tree and rendered with reportlab.

Everything here is a pure function of resources and plain values; nothing
needs a Pyramid request. Views pass ``request.localizer.translate`` and the
locale name; a console script may pass nothing and gets the Spanish text.

How a statement is derived from the data the portal holds
----------------------------------------------------------
The ERP sends each invoice with its amount and its *current* balance, not a
dated ledger. The portal rebuilds one for an account, per currency, from:

* **charges**: every invoice of the account, for its full amount, on its issue
  date;
* **dated credits**: every allocation to the account of a portal payment the
  bank confirmed (state ``approved`` or ``applied``), for the allocation's
  amount in the invoice currency, on the payment's Mexico City date
  (``paid_at`` when recorded, else ``created``). Pending, declined,
  cancelled and expired payments, and payments under review, are not money
  received and are left out;
* **undated credits**: what the ERP has settled on an invoice beyond those
  payments, ``amount - balance - (the counted portal payments listed in
  invoice.applied)``: transfers, credit notes, payments made outside the
  portal. The ERP does not say when they happened, so the statement dates
  them on the invoice's due date (its issue date when it has none), never
  later than the day the statement is generated, and marks them as
  estimated.

Then, for a period ``[start, end]`` and for each currency on its own:

* opening balance = charges − credits dated before ``start``;
* movements = the charges and credits dated within the period;
* closing balance = opening balance + charges − credits of the period.

A statement ending today thus closes at the ERP's balance minus the payments
the bank confirmed that the ERP has not applied yet (SALDOS' "Pago en
tránsito"). Aging takes, for each invoice issued by the aging date (the
period's end, or today if the period ends later), what was still open on that
date and puts it in a bucket by days past its due date. MXN and USD are never
converted nor summed together.
"""
import datetime
import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..formatting import amount as fmt_amount
from ..formatting import day as fmt_day
from ..formatting import local_time
from ..formatting import timestamp as fmt_timestamp
from ..i18n import _
from ..money import ZERO, to_money
from ..resources.invoice import CURRENCIES, MXN
from ..resources.payment import APPLIED, APPROVED

#: Payment states whose money the bank confirmed: they count as paid.
RECEIVED_STATES = frozenset({APPROVED, APPLIED})

#: Kinds of movement in the rebuilt ledger.
INVOICE = 'invoice'
PAYMENT = 'payment'
ERP_CREDIT = 'erp-credit'

#: Aging buckets, in order: (key, label).
CURRENT = 'current'
DAYS_1_30 = '1-30'
DAYS_31_60 = '31-60'
DAYS_61_90 = '61-90'
OVER_90 = '90+'
BUCKETS = (
    (CURRENT, _('Al corriente')),
    (DAYS_1_30, _('1–30 días')),
    (DAYS_31_60, _('31–60 días')),
    (DAYS_61_90, _('61–90 días')),
    (OVER_90, _('Más de 90 días')),
)
BUCKET_KEYS = tuple(key for key, _label in BUCKETS)


# --- periods ---------------------------------------------------------------

def as_day(value):
    """A date from a date, or from an aware datetime read in Mexico City time."""
    if isinstance(value, datetime.datetime):
        return local_time(value).date()
    return value


def previous_month(day):
    """``(first, last)`` day of the calendar month before ``day``'s month."""
    last = day.replace(day=1) - datetime.timedelta(days=1)
    return last.replace(day=1), last


def statement_period(statement):
    """The statement's period: as the ERP gave it, else the month before its issue date."""
    default_start, default_end = previous_month(as_day(statement.issued))
    start = as_day(statement.period_start) if statement.period_start is not None else default_start
    end = as_day(statement.period_end) if statement.period_end is not None else default_end
    return start, end


# --- aging -----------------------------------------------------------------

def aging_bucket(due, as_of):
    """The bucket of an amount due on ``due``, seen on ``as_of``."""
    if due is None:
        return CURRENT
    days = (as_of - as_day(due)).days
    if days <= 0:
        return CURRENT
    if days <= 30:
        return DAYS_1_30
    if days <= 60:
        return DAYS_31_60
    if days <= 90:
        return DAYS_61_90
    return OVER_90


def empty_aging():
    return {key: ZERO for key in BUCKET_KEYS} | {'total': ZERO}


def compute_aging(items, as_of):
    """Bucket open amounts by days past due, per currency.

    ``items`` are ``(currency, due date, open amount)``. Returns
    ``{currency: {bucket key: Decimal, ..., 'total': Decimal}}`` with only the
    currencies that have something open, MXN first then USD. Amounts of
    different currencies are never added together; non-positive amounts (paid
    or overpaid) are left out.
    """
    result = {}
    for currency, due, open_amount in items:
        open_amount = to_money(open_amount)
        if open_amount <= ZERO:
            continue
        buckets = result.setdefault(currency, empty_aging())
        buckets[aging_bucket(due, as_of)] += open_amount
        buckets['total'] += open_amount
    return {currency: result[currency] for currency in _currency_order(result)}


def _currency_order(currencies):
    known = [c for c in CURRENCIES if c in currencies]
    return known + sorted(c for c in currencies if c not in CURRENCIES)


# --- the rebuilt ledger ----------------------------------------------------

@dataclass(frozen=True)
class Movement:
    """One line of the ledger: a charge (invoice) or a credit (payment, ERP credit)."""

    day: datetime.date
    currency: str
    invoice_key: str
    kind: str
    amount: object  # Decimal, positive
    reference: str = ''
    due: datetime.date = None
    estimated: bool = False

    @property
    def is_charge(self):
        return self.kind == INVOICE

    @property
    def signed(self):
        return self.amount if self.is_charge else -self.amount


def ledger(customer, account, today):
    """Every movement of ``customer``'s ``account``, oldest first (see the module docstring).

    Reads only the customer's own ``invoices`` and ``payments``.
    """
    movements = []
    invoices = {}
    for invoice in customer.invoices.values():
        if invoice.account != account:
            continue
        invoices[invoice.key] = invoice
        movements.append(Movement(as_day(invoice.issued), invoice.currency, invoice.key, INVOICE,
                                  invoice.amount, reference=invoice.key, due=invoice.due))
    counted = {}
    for payment in customer.payments.values():
        if payment.state not in RECEIVED_STATES:
            continue
        paid_on = as_day(getattr(payment, 'paid_at', None) or payment.created)
        for allocation in payment.allocations:
            if allocation.account != account:
                continue
            paid = allocation.amount_currency
            if paid is None:
                paid = allocation.amount_mxn
            movements.append(Movement(paid_on, allocation.currency, allocation.invoice_key, PAYMENT,
                                      to_money(paid), reference=payment.reference))
            counted.setdefault(allocation.invoice_key, set()).add(payment.reference)
    for key, invoice in invoices.items():
        refs = counted.get(key, ())
        applied = sum((to_money(a) for ref, a in invoice.applied if ref in refs), ZERO)
        undated = invoice.amount - invoice.balance - applied
        if undated > ZERO:
            issued = as_day(invoice.issued)
            settled = max(min(as_day(invoice.due or invoice.issued), today), issued)
            movements.append(Movement(settled, invoice.currency, key, ERP_CREDIT, undated,
                                      reference=key, estimated=True))
    movements.sort(key=lambda m: (m.day, not m.is_charge, m.invoice_key, m.reference))
    return movements


@dataclass
class CurrencySection:
    """The statement of one currency: opening, movements, closing."""

    currency: str
    opening: object
    movements: list
    charges: object
    credits: object
    closing: object


@dataclass
class StatementData:
    """Everything a statement shows, ready to render."""

    rfc: str
    name: str
    account: str
    start: datetime.date
    end: datetime.date
    as_of: datetime.date
    issued: datetime.datetime
    sections: list
    aging: dict
    statement_id: str = None
    generated: datetime.datetime = None
    notes: list = field(default_factory=list)

    def section(self, currency):
        return next((s for s in self.sections if s.currency == currency), None)


def build_statement(customer, account, start, end, now, statement_id=None, issued=None):
    """Compute the statement of ``customer``'s ``account`` for ``start``..``end`` (dates, inclusive).

    ``now`` is an aware datetime (the generation time). ``issued`` is the
    statement's own issue time when the ERP issued it; it defaults to ``now``.
    """
    today = as_day(now)
    movements = ledger(customer, account, today)
    currencies = {m.currency for m in movements if m.day <= end} or {MXN}
    sections = []
    for currency in _currency_order(currencies):
        mine = [m for m in movements if m.currency == currency]
        opening = sum((m.signed for m in mine if m.day < start), ZERO)
        period = [m for m in mine if start <= m.day <= end]
        charges = sum((m.amount for m in period if m.is_charge), ZERO)
        credits = sum((m.amount for m in period if not m.is_charge), ZERO)
        sections.append(CurrencySection(currency, opening, period, charges, credits,
                                        opening + charges - credits))
    as_of = min(end, today)
    open_by_invoice = {}
    for m in movements:
        if m.day > as_of:
            continue
        if m.is_charge:
            entry = open_by_invoice.setdefault(m.invoice_key, [m.currency, m.due, ZERO])
            entry[1] = m.due
            entry[2] += m.amount
        else:
            open_by_invoice.setdefault(m.invoice_key, [m.currency, None, ZERO])[2] -= m.amount
    aging = compute_aging((tuple(v) for v in open_by_invoice.values()), as_of)
    return StatementData(rfc=customer.rfc, name=customer.name, account=account, start=start,
                         end=end, as_of=as_of, issued=issued or now, sections=sections,
                         aging=aging, statement_id=statement_id, generated=now)


# --- rendering -------------------------------------------------------------

def _interpolate(message):
    """Translation when there is no request: the Spanish msgid with its mapping applied."""
    interpolate = getattr(message, 'interpolate', None)
    return interpolate() if interpolate else str(message)


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
    t = translate or _interpolate
    styles = _styles()

    def money(value):
        return fmt_amount(value, locale_name)

    def para(text, style='cell'):
        return Paragraph(escape(str(text)), styles[style])

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
             _('Días de atraso contados desde la fecha de vencimiento de cada factura.')]
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
