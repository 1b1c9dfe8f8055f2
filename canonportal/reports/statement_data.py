"""The numbers of an account statement (estado de cuenta), computed from the tree:
its period, the rebuilt ledger per currency, and the aging. No drawing here
(:mod:`canonportal.reports.statement_pdf` draws them) and no Pyramid request.

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
from dataclasses import dataclass, field

from ..formatting import local_time
from ..i18n import _
from ..money import ZERO, to_money
from ..resources.invoice import CURRENCIES, MXN
from ..resources.payment import RECEIVED_STATES

#: Said on the statement PDF and on FACTURAS: both count portal payments this way.
BALANCE_RULE = _('Los saldos descuentan los pagos que el banco ya confirmó aunque aún no se '
                 'apliquen; los pagos en espera del banco se muestran «en tránsito».')


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


def payments_of(customer, account):
    """The customer's payments with an allocation to ``account``, found through HISTORIAL's
    index, whose entries name each payment's accounts (an allocation's account never
    changes): the payments of its other accounts stay unloaded."""
    if customer.history is None:
        return customer.payments.values()
    return (entry.payment for entry in customer.history.entries()
            if any(line[1] == account for line in entry.lines))


def ledger(customer, account, today):
    """Every movement of ``customer``'s ``account``, oldest first (see the module docstring).

    Reads only the customer's own ``invoices`` and, of its payments, those with an
    allocation to ``account`` (:func:`payments_of`).
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
    for payment in payments_of(customer, account):
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
