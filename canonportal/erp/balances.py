"""Balances: the ERP's pending balance per invoice and the portal payments it has applied.

A row names an invoice (serie and folio, or UUID) with its ``Saldo``, a
``Referencia de pago`` the ERP applied, or both. An applied payment goes
``approved → applied`` through :func:`canonportal.payments.apply_from_erp`,
which takes its amounts out of "Pago en Tránsito".
"""
from ..i18n import _
from ..money import ZERO
from ..payments.service import apply_from_erp
from ..resources import customer_of
from ..resources.imports import BALANCES
from ..resources.payment import APPLIED, APPROVED, reference_order
from . import fields
from .base import Cells, Importer
from .files import Column
from .job import UNCHANGED, UPDATED

AUDIT_UPDATE = 'erp.invoice.update'

COLUMNS = (
    Column('rfc', 'RFC'),
    Column('serie', 'Serie'),
    Column('folio', 'Folio'),
    Column('uuid', 'UUID', ('Folio fiscal',)),
    Column('balance', 'Saldo', ('Saldo pendiente', 'Saldo actual')),
    Column('reference', 'Referencia de pago', ('Referencia', 'Referencia portal', 'Pago portal')),
)

STATE_LABELS = {
    'pending': 'pendiente', 'declined': 'rechazado', 'cancelled': 'cancelado',
    'expired': 'vencido', 'review': 'en revisión', 'refund-needed': 'por reembolsar',
}


class Row:
    __slots__ = ('line', 'invoice', 'balance', 'payment')

    def __init__(self, line, invoice, balance, payment):
        self.line, self.invoice, self.balance, self.payment = line, invoice, balance, payment


class BalancesImporter(Importer):
    kind = BALANCES
    columns = COLUMNS

    def table_problems(self, table):
        names_invoice = table.has('folio') or table.has('uuid')
        if not names_invoice and not table.has('reference'):
            return [_('Falta la columna «Folio» (o «UUID») o la columna «Referencia de pago».')]
        if names_invoice and not table.has('balance') and not table.has('reference'):
            return [_('Falta la columna «Saldo».')]
        return []

    def prepare(self):
        super().prepare()
        self.balances = {}      # invoice key -> line of its balance
        self.payments = {}      # reference -> (payment, source, line)
        self.low = []           # (source, line, invoice, balance): below what is in transit
        self.applied = set()

    def read_row(self, source, line, cells):
        """The row as :class:`Row`, or None after reporting its problems."""
        rfc_text, serie_text, folio_text, uuid_text, balance_text, reference_text = cells
        job = self.job
        row = Cells()
        rfc = None
        if rfc_text.strip():
            read = row.read(fields.rfc, rfc_text)
            rfc = read[0] if read is not None else None
        serie_folio = row.read(fields.serie_folio, serie_text, folio_text) \
            if folio_text.strip() else None
        uuid = row.read(fields.uuid, uuid_text) if uuid_text.strip() else None
        balance = row.read(fields.amount, balance_text, 'Saldo') if balance_text.strip() else None
        reference = reference_text.strip() or None
        if not row.report(job, source, line):
            return None

        problems = []
        invoice = None
        if serie_folio is not None:
            serie, folio = serie_folio
            key = f'{serie}-{folio}' if serie else folio
            invoice = job.root.invoices_by_key.get(key)
            if invoice is None:
                problems.append(_('La factura ${key} no existe en el portal.', mapping={'key': key}))
        if uuid is not None:
            by_uuid = job.root.invoices_by_uuid.get(uuid)
            if by_uuid is None:
                problems.append(_('No hay ninguna factura con el UUID ${uuid} en el portal.',
                                  mapping={'uuid': uuid}))
            elif invoice is not None and by_uuid is not invoice:
                problems.append(_('El UUID ${uuid} es de la factura ${other}, no de ${key}.',
                                  mapping={'uuid': uuid, 'other': by_uuid.key, 'key': invoice.key}))
            elif serie_folio is None:
                invoice = by_uuid
        named = serie_folio is not None or uuid is not None
        if not named and reference is None:
            problems.append(_('La fila no indica factura (Folio o UUID) ni referencia de pago.'))
        if not named and balance is not None:
            problems.append(_('Hay un saldo pero falta la factura (Folio o UUID).'))
        if named and balance is None and reference is None:
            problems.append(_('Falta «Saldo».'))
        if invoice is not None:
            owner = customer_of(invoice).rfc
            if rfc is not None and owner != rfc:
                problems.append(_('La factura ${key} es del cliente ${owner}, no de ${rfc}.',
                                  mapping={'key': invoice.key, 'owner': owner, 'rfc': rfc}))
            if balance is not None and balance > invoice.amount:
                problems.append(_('El saldo ${balance} es mayor que el total de la factura ${key} '
                                  '(${amount}).', mapping={'balance': balance, 'key': invoice.key,
                                                          'amount': invoice.amount}))
        payment = None
        if reference is not None:
            payment = job.root.payments_by_reference.get(reference)
            if payment is None:
                problems.append(_('La referencia de pago ${reference} no existe en el portal.',
                                  mapping={'reference': reference[:40]}))
            elif payment.state not in (APPROVED, APPLIED):
                problems.append(_('El pago ${reference} está ${state}; solo se aplican pagos '
                                  'aprobados.', mapping={
                                      'reference': reference,
                                      'state': STATE_LABELS.get(payment.state, payment.state)}))
            elif rfc is not None and payment.customer_rfc != rfc:
                problems.append(_('El pago ${reference} es del cliente ${owner}, no de ${rfc}.',
                                  mapping={'reference': reference, 'owner': payment.customer_rfc,
                                           'rfc': rfc}))
            elif invoice is not None and (
                    payment.customer_rfc != customer_of(invoice).rfc
                    or invoice.key not in {a.invoice_key for a in payment.allocations}):
                problems.append(_('El pago ${reference} no incluye la factura ${key}.',
                                  mapping={'reference': reference, 'key': invoice.key}))
        for reason in problems:
            job.error(source, line, reason)
        if problems:
            return None
        return Row(line, invoice, balance, payment)

    # --- check -----------------------------------------------------------------------

    def check_row(self, table, line, cells):
        row = self.read_row(table.source, line, cells)
        if row is None:
            return
        job = self.job
        if row.balance is not None:
            first = self.balances.setdefault(row.invoice.key, line)
            if first != line:
                job.error(table.source, line, _(
                    'El saldo de la factura ${key} ya aparece en la línea ${line}.',
                    mapping={'key': row.invoice.key, 'line': first}))
                return
            job.count(UPDATED if row.balance != row.invoice.balance else UNCHANGED)
            if row.balance < row.invoice.in_transit:
                self.low.append((table.source, line, row.invoice, row.balance))
        if row.payment is not None:
            self.payments.setdefault(row.payment.reference, (row.payment, table.source, line))

    def check_done(self):
        job = self.job
        applying = {ref for ref, (payment, _s, _l) in self.payments.items()
                    if payment.state == APPROVED}
        for payment, source, line in self.payments.values():
            job.count(UPDATED if payment.reference in applying else UNCHANGED)
            if payment.reference not in applying:
                continue
            for allocation in payment.allocations:
                if allocation.invoice_key not in self.balances:
                    invoice = customer_of(payment).invoices.get(allocation.invoice_key)
                    job.warning(source, line, _(
                        'El pago ${reference} se aplica a la factura ${key}, pero el archivo no '
                        'trae su saldo; el portal conserva el saldo ${balance}.',
                        mapping={'reference': payment.reference, 'key': allocation.invoice_key,
                                 'balance': invoice.balance if invoice is not None else '-'}))
        for source, line, invoice, balance in self.low:
            transit = sum((amount for ref, amount in invoice.reservations if ref not in applying),
                          ZERO)
            if balance < transit:
                job.warning(source, line, _(
                    'El saldo ${balance} de la factura ${key} es menor que lo que sigue en '
                    'tránsito (${transit}).', mapping={'balance': balance, 'key': invoice.key,
                                                       'transit': transit}))
        self._note(applying)

    def _note(self, references):
        if references:
            shown = sorted(references, key=lambda r: (len(r), r))
            listed = ', '.join(shown[:20]) + (' …' if len(shown) > 20 else '')
            self.job.note(_('Pagos aplicados: ${count} (${references}).',
                            mapping={'count': len(shown), 'references': listed}))

    # --- apply -----------------------------------------------------------------------

    def apply_row(self, table, line, cells):
        row = self.read_row(table.source, line, cells)
        job = self.job
        if row.balance is not None:
            invoice = row.invoice
            if row.balance != invoice.balance:
                before = invoice.balance
                invoice.set_balance(row.balance)   # and its place on SALDOS
                job.audit(AUDIT_UPDATE, invoice, {'balance': str(before)},
                          {'balance': str(row.balance)})
                job.count(UPDATED)
                job.wrote()
            else:
                job.count(UNCHANGED)
        payment = row.payment
        if payment is not None and payment.reference not in self.payments:
            self.payments[payment.reference] = (payment, table.source, line)
            if payment.state == APPROVED:
                apply_from_erp(payment, job.now, job.actor,
                               note=f'applied by the ERP (import {job.name})')
                self.applied.add(payment.reference)
                job.count(UPDATED)
                job.wrote()
            else:
                job.count(UNCHANGED)

    def apply(self):
        self.payments = {}
        super().apply()

    def apply_done(self):
        self._note(self.applied)
        self.job.applied = sorted(self.applied, key=reference_order)
