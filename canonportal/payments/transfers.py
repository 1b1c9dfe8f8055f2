"""SPEI transfers received: match them to payments and invoices, prove them with the CEP.

Every way a transfer arrives (the bank's deposit notification, a statement
imported by staff, a CEP the customer gave) ends in :func:`receive`, inside the
caller's transaction. A transfer is recorded once, under its key (operation
date and clave de rastreo): a second copy changes nothing. Matching, in order:

1. the numeric reference of a SPEI payment of that customer (the CLABE's
   customer, when the CLABE is one of the range);
2. the customer's CLABE and exactly one of its waiting SPEI payments of that amount;
3. the customer's CLABE and its open MXN invoices: the oldest single invoice whose
   balance is the amount, else the oldest invoices that add up to it exactly —
   a payment is created for them and approved;
4. anything else waits in the staff's queue "Transferencias sin aplicar".

The money of a matched transfer settles the payment through
:func:`canonportal.payments.service.settle`, so an amount that differs from the
payment's (over- or under-payment), or a transfer for a payment that had already
expired, sends the payment to review with both amounts in its note: nothing is
approved silently.

Then the CEP: :func:`cep_due` lists the payments whose transfer is to be checked,
the caller asks Banxico with no transaction open, and :func:`record_cep` keeps the
documents, or sends the payment to review when the CEP disagrees or cannot be
found after the configured delay.
"""
import dataclasses
import datetime
import logging
from decimal import Decimal

from .. import audit
from ..gateways import APPROVED as BANK_APPROVED
from ..gateways import BankResult
from ..money import ZERO
from ..resources.blobs import blob_with, keeps_blobs
from ..resources.invoice import MXN
from ..resources.payment import APPROVED, PENDING
from ..resources.transfer import (
    ASSIGNED, MATCHED, NOT_FOR_PORTAL, REVIEW as TRANSFER_REVIEW, UNMATCHED, IncomingTransfer,
)
from ..spei import clabes
from ..spei.cep import CepError, CepNotFound, CepNotYet, Query, disagreements
from ..spei.statements import read_statement
from ..spei.transfers import Transfer
from . import selection as sel
from . import service
from .transactions import in_own_transaction

log = logging.getLogger(__name__)

SPEI = 'spei'
#: How far down the open invoices the matching looks for a sum (oldest first).
MAX_INVOICES_SUMMED = 200

CEP_PENDING = 'pending'
CEP_VERIFIED = 'verified'
CEP_MISMATCH = 'mismatch'
CEP_MISSING = 'missing'


@dataclasses.dataclass(frozen=True)
class Received:
    """What :func:`receive` did with one transfer."""

    key: str
    state: str                 # the transfer's state: matched, review, unmatched, …
    payment_reference: str = None
    duplicate: bool = False
    receipt_due: bool = False
    note: str = ''


def receive(root, gateway, transfer, now, actor, for_payment=None):
    """Record ``transfer`` and match it; returns :class:`Received`. Runs in the caller's
    transaction; the caller mails the receipt when ``receipt_due`` (the payment is
    ``root.payments_by_reference[payment_reference]``). ``for_payment``: the reference of
    the payment the customer says the transfer paid ("ya pagué"), tried first when the
    money went to that customer's CLABE or the company's."""
    transfers = root.transfers
    existing = transfers.get(transfer.key)
    if existing is not None:
        existing.seen_again(transfer.source)
        return Received(existing.key, existing.state, existing.payment_reference, duplicate=True)
    record = transfers.add_transfer(IncomingTransfer(transfer.key, transfer.as_dict(), now,
                                                     transfer.source))
    audit.record(root, actor, 'spei.received', record, '', '',
                 f'{transfer.amount} MXN to {transfer.beneficiary_account}', when=now)
    if not gateway.is_ours(transfer.beneficiary_account):
        return _unmatched(transfers, record, now, actor, 'not paid to one of our CLABEs')
    number = gateway.customer_number_of(transfer.beneficiary_account)
    customer = root.customers.find_by_number(number) if number else None
    if number and customer is None:
        return _unmatched(transfers, record, now, actor, f'no customer has number {number}')

    payment = _claimed_payment(root, for_payment, customer)
    if payment is None:
        payment = _named_payment(root, transfer, customer)
    if payment is None and customer is not None:
        payment = _waiting_payment(customer, transfer.amount)
    if payment is None and customer is not None:
        payment = _payment_for_open_invoices(root, customer, transfer, now)
    if payment is None:
        return _unmatched(transfers, record, now, actor,
                          'no payment or open invoices match it' if customer is not None
                          else 'no reference of a waiting payment, and paid to the company CLABE')
    return _pay(root, gateway, transfers, record, payment, transfer, now, actor)


def _unmatched(transfers, record, now, actor, note):
    record.move(UNMATCHED, now, actor, note)
    transfers.track(record)
    log.info('SPEI transfer %s unmatched: %s', record.key, note)
    return Received(record.key, UNMATCHED, note=note)


def _claimed_payment(root, reference, customer):
    payment = root.payments_by_reference.get(reference) if reference else None
    if payment is None or payment.bank != SPEI:
        return None
    return payment if customer is None or payment.customer_rfc == customer.rfc else None


def _named_payment(root, transfer, customer):
    """A SPEI payment the transfer's reference names (the CLABE's customer's, if known)."""
    for number in transfer.references():
        payment = root.payments_by_reference.get(number)
        if payment is not None and payment.bank == SPEI and (
                customer is None or payment.customer_rfc == customer.rfc):
            return payment
    return None


def _waiting_payment(customer, amount):
    """The customer's one waiting SPEI payment of exactly ``amount`` (None if not one)."""
    waiting = [p for p in customer.payments.values()
               if p.bank == SPEI and p.state == PENDING and p.total_mxn == amount]
    return waiting[0] if len(waiting) == 1 else None


def invoices_paid_by(customer, amount):
    """The open MXN invoices a customer plausibly paid with ``amount``: the oldest one
    whose balance is exactly it, else the oldest ones that add up to it exactly."""
    candidates = []
    for invoice in customer.open_invoices:
        if len(candidates) >= MAX_INVOICES_SUMMED:
            break
        if invoice.currency == MXN and invoice.left_to_pay > ZERO:
            candidates.append(invoice)
    for invoice in candidates:
        if invoice.left_to_pay == amount:
            return [invoice]
    total, chosen = ZERO, []
    for invoice in candidates:
        total += invoice.left_to_pay
        chosen.append(invoice)
        if total >= amount:
            break
    return chosen if total == amount else []


def _payment_for_open_invoices(root, customer, transfer, now):
    invoices = invoices_paid_by(customer, transfer.amount)
    if not invoices:
        return None
    selection = sel.validate_selection(customer, None, [sel.Entry(i.key, ticked=True)
                                                        for i in invoices])
    try:
        payment = service.create_payment(root, customer, SPEI, selection, now)
    except service.PaymentRefused:
        return None
    payment.history = payment.history + (
        (now, PENDING, PENDING, transfer.source, f'created for transfer {transfer.key}'),)
    return payment


def _pay(root, gateway, transfers, record, payment, transfer, now, actor):
    result = BankResult(
        bank=SPEI, reference=payment.reference, outcome=BANK_APPROVED, amount=transfer.amount,
        currency='MXN', authorization=None, bank_reference=f'SPEI {transfer.tracking_key}',
        event_id=transfer.key, verified=True, source=transfer.source, raw=transfer.as_dict())
    before = payment.state
    settlement = service.settle(root, payment, result, now)
    if before != PENDING and not settlement.changed:
        # Settled before (another transfer paid it): this money is not for it.
        return _unmatched(transfers, record, now, actor,
                          f'payment {payment.reference} was already {before}')
    payment.transfer = dict(transfer.as_dict(), beneficiary_bank_rfc=gateway.bank_rfc)
    payment.bank_reference = payment.bank_reference or f'SPEI {transfer.tracking_key}'
    if settlement.after == APPROVED and transfer.settled_at is not None:
        payment.paid_at = transfer.settled_at
    payment.cep_state = CEP_PENDING
    payment.cep_since = now
    root.cep_pending[payment.reference] = payment
    record.payment_reference = payment.reference
    state = MATCHED if settlement.after == APPROVED else TRANSFER_REVIEW
    note = settlement.note or f'paid payment {payment.reference}'
    record.move(state, now, actor, note)
    transfers.track(record)
    log.info('SPEI transfer %s → payment %s: %s', record.key, payment.reference, settlement.after)
    return Received(record.key, state, payment.reference, receipt_due=settlement.receipt_due,
                    note=note)


# -- staff's decisions on the queue -------------------------------------------------------

def assign(root, gateway, record, customer, invoice_keys, now, actor, comment):
    """An operator says whose the transfer is and which invoices it pays: a payment is
    created for them (each for what is left of it) and paid with the transfer, which must
    add up exactly. Returns :class:`Received`; raises PaymentRefused with the reason."""
    if record.state != UNMATCHED:
        raise service.PaymentRefused('La transferencia ya no está en la cola.')
    if not (comment or '').strip():
        raise service.PaymentRefused('Escriba un comentario para la bitácora.')
    entries = [sel.Entry(key, ticked=True) for key in invoice_keys]
    selection = sel.validate_selection(customer, None, entries)
    if not selection.ok:
        raise service.PaymentRefused('Revise las facturas: alguna no se puede pagar.')
    if selection.total_mxn != record.amount:
        raise service.PaymentRefused(
            f'Las facturas suman {selection.total_mxn} MXN y la transferencia es de '
            f'{record.amount} MXN.')
    payment = service.create_payment(root, customer, SPEI, selection, now)
    data = dict(record.data)
    transfer = Transfer(
        tracking_key=data['tracking_key'], operation_date=_day(data['operation_date']),
        amount=record.amount, beneficiary_account=data['beneficiary_account'],
        ordering_bank=data.get('ordering_bank', ''), ordering_account=data.get('ordering_account', ''),
        ordering_name=data.get('ordering_name', ''), ordering_rfc=data.get('ordering_rfc', ''),
        concept=data.get('concept', ''), numeric_reference=data.get('numeric_reference', ''),
        source='staff')
    received = _pay(root, gateway, root.transfers, record, payment, transfer, now, actor)
    record.move(ASSIGNED, now, actor, comment.strip())
    root.transfers.track(record)
    return dataclasses.replace(received, state=ASSIGNED)


def not_for_portal(root, record, now, actor, comment):
    """An operator found the transfer is not a customer's payment through the portal."""
    if record.state != UNMATCHED:
        raise service.PaymentRefused('La transferencia ya no está en la cola.')
    if not (comment or '').strip():
        raise service.PaymentRefused('Escriba un comentario para la bitácora.')
    record.move(NOT_FOR_PORTAL, now, actor, comment.strip())
    root.transfers.track(record)


def _day(text):
    return datetime.date.fromisoformat(text)


# -- the CEP ----------------------------------------------------------------------------------

def cep_query(payment):
    """What to ask Banxico about the transfer that paid ``payment`` (None: not enough
    known, e.g. a statement that did not name the ordering bank)."""
    data = payment.transfer or {}
    sender = data.get('ordering_bank', '')
    receiver = clabes.participant_code(data.get('beneficiary_account', ''))
    if not (len(sender) == 5 and sender.isdigit() and receiver):
        return None
    return Query(operation_date=_day(data['operation_date']), tracking_key=data['tracking_key'],
                 sender=sender, receiver=receiver, account=data['beneficiary_account'],
                 amount=Decimal(data['amount']))


def cep_due(root):
    """References of the payments whose transfer still awaits its CEP."""
    return list(root.cep_pending.keys()) if root.cep_pending is not None else []


def record_cep(root, reference, cep, now, review_after, missing_reason=''):
    """Keep the CEP Banxico gave for payment ``reference`` (``cep`` None: not found, or not
    asked); returns the payment's CEP state. A CEP that disagrees with the transfer, or
    none after ``review_after``, sends the payment to review."""
    payment = root.payments_by_reference[reference]
    if payment.cep_state != CEP_PENDING:
        return payment.cep_state
    data = payment.transfer or {}
    if cep is None:
        waited = now - (payment.cep_since or payment.created)
        if waited < review_after:
            return CEP_PENDING
        payment.cep_state = CEP_MISSING
        _done(root, reference)
        service.send_to_review(payment, now, 'cep', 'no CEP from Banxico after '
                               f'{int(review_after.total_seconds() // 60)} minutes'
                               + (f' ({missing_reason})' if missing_reason else ''))
        return CEP_MISSING
    differs = disagreements(cep, Decimal(data.get('amount', '0')), data.get('beneficiary_account', ''))
    payment.cep_data = {
        'tracking_key': cep.tracking_key, 'operation_date': cep.operation_date.isoformat(),
        'amount': f'{cep.amount:.2f}', 'beneficiary_account': cep.beneficiary_account,
        'beneficiary_name': cep.beneficiary_name, 'beneficiary_rfc': cep.beneficiary_rfc,
        'ordering_account': cep.ordering_account, 'ordering_name': cep.ordering_name,
        'ordering_rfc': cep.ordering_rfc, 'ordering_bank': cep.ordering_bank,
        'certificate': cep.certificate, 'chain': cep.chain, 'seal': cep.seal}
    blobs = keeps_blobs(payment)
    payment.cep_xml = blob_with(cep.xml) if blobs else cep.xml
    payment.cep_pdf = blob_with(cep.pdf) if blobs else cep.pdf
    _done(root, reference)
    if differs:
        payment.cep_state = CEP_MISMATCH
        service.send_to_review(payment, now, 'cep', 'the CEP disagrees on ' + ', '.join(differs)
                               + f': CEP {cep.amount} MXN to {cep.beneficiary_account}')
        return CEP_MISMATCH
    payment.cep_state = CEP_VERIFIED
    return CEP_VERIFIED


def fetch_and_record_cep(tm, root_of, gateway, reference, now, reopen=True):
    """The CEP choreography of the abono view and ``canonportal-reconcile``: read what to
    ask in a short transaction, ask Banxico with none open, record the answer in a
    transaction of its own. Returns the payment's CEP state (None: nothing was due)."""
    def read():
        payment = root_of().payments_by_reference[reference]
        return cep_query(payment) if payment.cep_state == CEP_PENDING else False

    query = in_own_transaction(tm, read, reopen=reopen)
    if query is False:
        return None
    cep, reason = None, ''
    if query is None:
        reason = 'the ordering bank is not known'
    else:
        try:
            cep = gateway.cep.fetch(query)
        except CepNotFound:
            reason = 'Banxico found no such transfer'
        except CepNotYet:
            reason = 'the CEP is not available yet'
        except CepError as error:
            log.info('payment %s: CEP service: %s', reference, error)
            reason = str(error)
    return in_own_transaction(tm, lambda: record_cep(
        root_of(), reference, cep, now, gateway.cep_review_after, reason), reopen=reopen)


def _done(root, reference):
    if reference in root.cep_pending:
        del root.cep_pending[reference]


def cep_document(payment, kind):
    """The CEP's XML or PDF bytes of ``payment`` (None when it has none)."""
    stored = payment.cep_xml if kind == 'xml' else payment.cep_pdf
    if stored is None:
        return None
    if isinstance(stored, bytes):
        return stored
    with stored.open('r') as handle:
        return handle.read()



# -- statements imported by staff ------------------------------------------------------------

@dataclasses.dataclass
class StatementReport:
    """What importing one statement did (or why nothing was done)."""

    format: str
    problems: list = dataclasses.field(default_factory=list)
    received: list = dataclasses.field(default_factory=list)    # Received, new transfers only
    duplicates: int = 0
    debits: int = 0

    @property
    def ok(self):
        return not self.problems

    def count(self, state):
        return sum(1 for item in self.received if item.state == state)

    def text(self):
        """The report staff read, in Spanish like the ERP imports'."""
        if self.problems:
            lines = [f'Estado de cuenta ({self.format}) rechazado: no se aplicó nada.']
            lines += [f'  {where}: {message}' if where else f'  {message}'
                      for where, message in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f'  … y {len(self.problems) - 50} problemas más.')
            return '\n'.join(lines)
        return (f'Estado de cuenta ({self.format}): {len(self.received)} transferencias nuevas '
                f'({self.count(MATCHED)} aplicadas, {self.count(TRANSFER_REVIEW)} en revisión, '
                f'{self.count(UNMATCHED)} sin aplicar), {self.duplicates} ya recibidas, '
                f'{self.debits} cargos no considerados.')


#: The largest statement file read (bytes).
MAX_STATEMENT_BYTES = 10 * 1024 * 1024


def import_statement(root, gateway, data, now, actor, format=None):
    """Read a statement file and receive every credit in it, in the caller's transaction.

    All or nothing: a file with a problem changes nothing. A transfer already received
    (by notification or an earlier import) is counted as a duplicate and left alone, so
    importing the same statement twice changes nothing. Returns :class:`StatementReport`;
    the caller mails the receipts of ``received`` items with ``receipt_due``.
    """
    read = read_statement(data, format)
    report = StatementReport(read.format, problems=list(read.problems), debits=read.debits)
    if not read.ok:
        return report
    for transfer in read.transfers:
        received = receive(root, gateway, transfer, now, actor)
        if received.duplicate:
            report.duplicates += 1
        else:
            report.received.append(received)
    audit.record(root, actor, 'spei.statement', root.transfers, '', '',
                 f'{read.format}: {len(report.received)} new, {report.duplicates} known', when=now)
    return report
