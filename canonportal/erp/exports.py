"""Payments out to the ERP: a CSV with what it needs to issue the payment complement.

The ERP issues the CFDI payment complement (REP, "Pagos 2.0") for every payment
received, by the 5th calendar day of the following month. This export gives it,
one row per allocation (one payment × one invoice):

=========================  ==========================================================
Column                     Meaning (REP field)
=========================  ==========================================================
referencia_pago            the portal's "Referencia de pago"
fecha_pago                 when the bank approved it, Mexico City time,
                           ``YYYY-MM-DDThh:mm:ss`` (FechaPago)
fecha_pago_utc             the same instant in UTC (ISO 8601)
fecha_limite_complemento   the REP's deadline: day ``canonportal.rep_deadline_day`` (5)
                           of the following month (``complements.rep_deadline``)
banco                      ``banamex`` or ``bbva``
referencia_bancaria        as shown to the customer ("BC-Banamex 063197")
num_operacion              the bank's authorization code, else the bank reference
                           (NumOperacion)
forma_pago                 SAT c_FormaPago (FormaDePagoP): ``04`` tarjeta de crédito,
                           ``28`` tarjeta de débito — see below
tipo_tarjeta               ``credito`` / ``debito`` as the bank said, empty if it did not
estado                     ``approved`` or ``applied`` (already applied by the ERP)
rfc, razon_social, cuenta  the customer and the invoice's ERP account
serie, folio, uuid         the invoice (Serie, Folio, IdDocumento)
metodo_pago                the invoice's PUE/PPD when known
moneda_factura             MonedaDR
importe_mxn                what this payment paid of the invoice, in MXN
importe_moneda_factura     the same in the invoice's currency (ImpPagado)
tipo_cambio                MXN per USD applied to a USD invoice (4 decimals); 1 for MXN
num_parcialidad            instalment number (NumParcialidad)
saldo_anterior             balance before, invoice currency (ImpSaldoAnt)
saldo_insoluto             balance after, invoice currency (ImpSaldoInsoluto)
monto_pago_mxn             the whole payment (Monto), MonedaP is always MXN
exportaciones_previas      earlier exports that carried this payment (re-exports)
rfc_emisor_cta_ord         SPEI: the ordering bank's RFC (RfcEmisorCtaOrd), when known
cta_ordenante              SPEI: the account the money came from (CtaOrdenante)
rfc_emisor_cta_ben         SPEI: our bank's RFC (RfcEmisorCtaBen), from ``spei.bank_rfc``
cta_beneficiario           SPEI: the CLABE it was paid to (CtaBeneficiario)
tipo_cad_pago              SPEI with a verified CEP: ``01`` (TipoCadPago)
cert_pago                  the CEP's certificate number (CertPago)
cad_pago                   the CEP's original string, cadena CDA (CadPago)
sello_pago                 the CEP's seal (SelloPago)
complemento_uuid           the UUID of the current REP that documents this payment of
                           this invoice, once the ERP sent it back (complements import)
complemento_pendiente      ``si`` while this invoice's REP is still missing (PPD, or a
                           method the portal does not know), else empty
=========================  ==========================================================

A SPEI transfer is forma de pago ``03`` and its NumOperacion the clave de
rastreo; the last eight columns are empty for card payments, and the CEP's three
only once the CEP was verified (the REP requires all three or none).

Forma de pago: both card banks are card acquirers, so a payment is ``04`` (credit
card) or ``28`` (debit card). BBVA says which (``mp_cardType``); Citibanamex's
stored order data say it when the gateway keeps the card's funding method
(``card_funding``). When the bank did not say, the column holds ``04`` and
``tipo_tarjeta`` is left empty, so the ERP operator knows to confirm it.

Amounts, rates and instalments are written as plain numbers; every text cell
goes through :mod:`canonportal.csvsafe`, so a bank reference or company name
starting with ``=``, ``+``, ``-`` or ``@`` cannot run as a spreadsheet formula.

Concurrency: :func:`exportable_payments` and :func:`export_payments` must run
in the same transaction. Exporting marks each payment (``payment.exported``),
so two exports racing for one payment both write it; the ZODB makes the later
commit conflict, the retry selects again and no longer sees the payment as
new.
"""
import datetime
from decimal import Decimal

from .. import audit
from ..csvsafe import csv_bytes
from ..clock import MEXICO_CITY, mexico_day_start
from ..complements import DEFAULT_DEADLINE_DAY, rep_deadline
from ..money import ZERO, to_money, to_rate
from ..resources.blobs import keeps_blobs
from ..resources.complement import complements_named, undocumented
from ..resources.exports import ExportRecord
from ..resources.invoice import MXN
from ..resources.payment import APPLIED, APPROVED, reference_order
from ..spei.clabes import bank_rfc

UTC = datetime.timezone.utc

#: The audit action of an export.
EXPORT_ACTION = 'erp.export'

CREDIT_CARD = '04'
DEBIT_CARD = '28'
#: What a payment is when the bank did not say credit or debit (see the module docstring).
DEFAULT_FORMA_PAGO = CREDIT_CARD

COLUMNS = (
    'referencia_pago', 'fecha_pago', 'fecha_pago_utc', 'fecha_limite_complemento', 'banco',
    'referencia_bancaria', 'num_operacion', 'forma_pago', 'tipo_tarjeta', 'estado', 'rfc',
    'razon_social', 'cuenta', 'serie', 'folio', 'uuid', 'metodo_pago', 'moneda_factura',
    'importe_mxn', 'importe_moneda_factura', 'tipo_cambio', 'num_parcialidad',
    'saldo_anterior', 'saldo_insoluto', 'monto_pago_mxn', 'exportaciones_previas',
    'rfc_emisor_cta_ord', 'cta_ordenante', 'rfc_emisor_cta_ben', 'cta_beneficiario',
    'tipo_cad_pago', 'cert_pago', 'cad_pago', 'sello_pago', 'complemento_uuid',
    'complemento_pendiente',
)

_CARD_TYPES = {
    'CREDITO': 'credito', 'CRÉDITO': 'credito', 'CREDIT': 'credito', 'TDC': 'credito',
    'DEBITO': 'debito', 'DÉBITO': 'debito', 'DEBIT': 'debito', 'TDD': 'debito',
}
_FORMA_PAGO = {'credito': CREDIT_CARD, 'debito': DEBIT_CARD}


# -- choosing the payments -------------------------------------------------------------

def paid_time(payment):
    """When the money was taken: the approval time, else the creation time (UTC)."""
    return payment.paid_at or payment.created


def _day_start(value):
    """A date (a Mexico City day) or an aware datetime as a UTC instant."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError('datetimes must be aware')
        return value.astimezone(UTC)
    return mexico_day_start(value)


def _range_end(value):
    """``until`` as an exclusive UTC instant: a date includes its whole day."""
    if isinstance(value, datetime.datetime):
        return _day_start(value)
    return _day_start(value + datetime.timedelta(days=1))


def exportable_payments(root, since=None, until=None, include_exported=None):
    """The payments an export would carry, oldest first.

    Without a date range: approved payments not yet exported
    (``include_exported=True``: approved ones already exported too).
    With ``since`` and/or ``until`` (dates of Mexico City, both inclusive, or
    aware datetimes, ``until`` exclusive): approved and applied payments paid in
    that range; a range is a re-export on purpose, so already exported payments
    are included unless ``include_exported=False``.
    """
    ranged = since is not None or until is not None
    if include_exported is None:
        include_exported = ranged
    states = (APPROVED, APPLIED) if ranged else (APPROVED,)
    low = _day_start(since) if since is not None else None
    high = _range_end(until) if until is not None else None
    found = []
    for payment in root.payments_by_reference.values():
        if payment.state not in states:
            continue
        if payment.exported and not include_exported:
            continue
        when = paid_time(payment)
        if (low is not None and when < low) or (high is not None and when >= high):
            continue
        found.append(payment)
    found.sort(key=lambda p: (paid_time(p), reference_order(p.reference)))
    return found


# -- the rows --------------------------------------------------------------------------

def card_type(payment):
    """'credito', 'debito' or '' from the bank's verified data."""
    data = payment.bank_data or {}
    for key in ('mp_cardType', 'card_funding', 'funding_method'):
        value = (data.get(key) or '').strip().upper()
        if value in _CARD_TYPES:
            return _CARD_TYPES[value]
    return ''


#: SAT c_FormaPago of an electronic funds transfer (SPEI).
TRANSFER = '03'


def forma_pago(payment):
    """The SAT c_FormaPago code of a payment (see the module docstring)."""
    if payment.transfer:
        return TRANSFER
    return _FORMA_PAGO.get(card_type(payment), DEFAULT_FORMA_PAGO)


def transfer_columns(payment):
    """The SPEI and CEP columns (empty for a card payment)."""
    data = payment.transfer or {}
    if not data:
        return ('',) * 8
    cep = payment.cep_data if payment.cep_state == 'verified' and payment.cep_data else {}
    return (
        bank_rfc(data.get('ordering_bank', '')), data.get('ordering_account', ''),
        data.get('beneficiary_bank_rfc', ''), data.get('beneficiary_account', ''),
        '01' if cep else '', cep.get('certificate', ''), cep.get('chain', ''), cep.get('seal', ''),
    )


def num_operacion(payment):
    if payment.transfer:
        return payment.transfer.get('tracking_key', '')
    data = payment.bank_data or {}
    for key in ('authorization_code', 'mp_authorization'):
        if data.get(key):
            return data[key]
    return payment.bank_reference or ''


def _money(value):
    return to_money(value) if value is not None else None


def _rate(allocation):
    if allocation.currency == MXN:
        return Decimal('1')
    if allocation.exchange_rate is None:
        return None
    return to_rate(Decimal(str(allocation.exchange_rate)))


def complement_columns(customer, payment):
    """``{invoice key: (REP UUID, 'si' or '')}``: the current REP documenting each invoice of
    ``payment``, and whether one is still missing."""
    if customer is None:
        return {}
    documented = {}
    for complement in complements_named(customer, payment.complements):
        if complement.current:
            for part in complement.payments:
                if part.reference == payment.reference:
                    for document in part.documents:
                        documented.setdefault(document.invoice_key, complement.uuid)
    missing = set(undocumented(customer, payment))
    return {a.invoice_key: (documented.get(a.invoice_key, ''),
                            'si' if a.invoice_key in missing else '')
            for a in payment.allocations}


def payment_rows(root, payment, deadline_day=DEFAULT_DEADLINE_DAY):
    """The CSV rows of one payment: one per allocation."""
    customer = root.customers.get(payment.customer_rfc)
    invoices = customer.invoices if customer is not None else {}
    when = paid_time(payment)
    local = when.astimezone(MEXICO_CITY)
    common = (
        payment.reference,
        local.strftime('%Y-%m-%dT%H:%M:%S'),
        when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ'),
        rep_deadline(local.date(), deadline_day).isoformat(),
        payment.bank,
        payment.bank_reference or '',
        num_operacion(payment),
        forma_pago(payment),
        card_type(payment),
        payment.state,
        payment.customer_rfc,
        customer.name if customer is not None else '',
    )
    total = _money(payment.total_mxn)
    previous = ' '.join(payment.exported)
    transfer = transfer_columns(payment)
    complements = complement_columns(customer, payment)
    rows = []
    for allocation in payment.allocations:
        invoice = invoices.get(allocation.invoice_key)
        amount = _money(allocation.amount_currency)
        before = _money(allocation.balance_before)
        after = before - amount if before is not None else None
        rows.append(common + (
            allocation.account,
            invoice.serie if invoice is not None else '',
            invoice.folio if invoice is not None else allocation.invoice_key,
            (invoice.uuid or '') if invoice is not None else '',
            (invoice.metodo_pago or '') if invoice is not None else '',
            allocation.currency,
            _money(allocation.amount_mxn),
            amount,
            _rate(allocation),
            allocation.instalment,
            before,
            after,
            total,
            previous,
        ) + transfer + complements.get(allocation.invoice_key, ('', '')))
    return rows


def render_csv(root, payments, deadline_day=DEFAULT_DEADLINE_DAY):
    """The export file (UTF-8 with BOM, header row) for ``payments``."""
    rows = []
    for payment in payments:
        rows.extend(payment_rows(root, payment, deadline_day))
    return csv_bytes(COLUMNS, rows), len(rows)


# -- the export ------------------------------------------------------------------------

def record_name(exports, now):
    """A new record's name in ``exports``: its UTC time, ``-2``, ``-3``… on a clash."""
    base = now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')
    name, counter = base, 1
    while name in exports:
        counter += 1
        name = f'{base}-{counter}'
    return name


def export_payments(root, payments, actor, now, since=None, until=None, include_exported=False,
                    deadline_day=DEFAULT_DEADLINE_DAY):
    """Export ``payments``: store the CSV in a new record, mark them, audit it.

    Returns the :class:`ExportRecord`, or None when ``payments`` is empty
    (nothing is written then). ``since``, ``until`` and ``include_exported``
    only describe the selection in the record. Payments already exported
    go out again (a re-export on purpose) and are listed in ``reexported``.
    """
    payments = list(payments)
    if not payments:
        return None
    exports = root.exports
    name = record_name(exports, now)
    suffix = name[len(now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')):]   # '' or '-2', ...
    data, row_count = render_csv(root, payments, deadline_day)
    references = tuple(p.reference for p in payments)
    reexported = tuple(p.reference for p in payments if p.exported)
    total = sum((p.total_mxn for p in payments), ZERO)
    local = now.astimezone(MEXICO_CITY)
    record = ExportRecord(
        f'pagos-erp-{local:%Y%m%d-%H%M%S}{suffix}.csv', now, actor, references,
        reexported=reexported, row_count=row_count, total_mxn=to_money(total),
        since=since, until=until, include_exported=bool(include_exported))
    exports.add(name, record)
    record.set_csv(data, bool(keeps_blobs(root)))
    for payment in payments:
        payment.exported = payment.exported + (name,)
    note = f'{len(references)} pagos, {row_count} filas, {record.total_mxn} MXN'
    if reexported:
        note += f'; reexportados: {" ".join(reexported)}'
    audit.record(root, actor, EXPORT_ACTION, record, '', ' '.join(references), note, when=now)
    return record
