"""Receiving a SPEI transfer: record it once under its identity, and match it.

Every way a transfer arrives (the bank's deposit notification, a statement
imported by staff, a CEP the customer gave) ends in :func:`receive`, inside the
caller's transaction. SPEI makes a transfer unique by operation date, ordering
institution and clave de rastreo: that is its key. A copy of a transfer already
recorded — the same key, amount and CLABE credited (an institution one side does
not know does not count as a difference) — changes nothing. Any other transfer
under a key already taken is never dropped: it is recorded on its own (the key and
``-2``, ``-3``…), matched to nothing, in the staff's queue with the transfer it
clashes with, each naming the other, and audited.

Matching, in order:

1. the numeric reference of a SPEI payment of that customer (the CLABE's
   customer, when the CLABE is one of the range), from ``root.payments_by_reference``;
2. the customer's CLABE and exactly one of its waiting SPEI payments of that amount
   (read from the customer's index of payments in progress);
3. the customer's CLABE and its open MXN invoices: the oldest single invoice whose
   balance is the amount, else the oldest invoices that add up to it exactly —
   a payment is created for them and approved;
4. anything else waits in the staff's queue "Transferencias sin aplicar".

The money of a matched transfer settles the payment through
:func:`canonportal.payments.service.settle`, so an amount that differs from the
payment's (over- or under-payment), or a transfer for a payment that had already
expired, sends the payment to review with both amounts in its note: nothing is
approved silently.
"""
import dataclasses
import logging

from ... import audit
from ...gateways import APPROVED as BANK_APPROVED
from ...gateways import BankResult
from ...money import ZERO
from ...resources.invoice import MXN
from ...resources.payment import APPROVED, PENDING
from ...resources.incoming_transfer import (
    MATCHED, REVIEW as TRANSFER_REVIEW, SAME_KEY, UNMATCHED, IncomingTransfer,
)
from ...spei.credit import Transfer, TransferError
from .. import selection as sel
from .. import service
from . import notes
from .cep import await_cep

log = logging.getLogger(__name__)

SPEI = 'spei'
#: How far down the open invoices the matching looks for a sum (oldest first).
MAX_INVOICES_SUMMED = 200


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
    known = transfers.starting_with(transfer.operation_prefix)
    copy = _copy_among(transfer, known)
    if copy is not None:
        copy.seen_again(transfer.source)
        return Received(copy.key, copy.state, copy.payment_reference, duplicate=True)
    clashing = [record for record in known if _may_share_key(transfer, record)]
    key = transfers.free_key(transfer.key) if clashing else transfer.key
    record = transfers.add_transfer(IncomingTransfer(key, transfer.as_dict(), now,
                                                     transfer.source))
    audit.record(root, actor, 'spei.received', record, '', '',
                 f'{transfer.amount} MXN to {transfer.beneficiary_account}', when=now)
    if clashing:
        return _same_key(root, record, clashing, now, actor)
    if not gateway.is_ours(transfer.beneficiary_account):
        return _unmatched(transfers, record, now, actor, notes.NOT_OUR_CLABE)
    number = gateway.customer_number_of(transfer.beneficiary_account)
    customer = root.customers.find_by_number(number) if number else None
    if number and customer is None:
        return _unmatched(transfers, record, now, actor, notes.UNKNOWN_CUSTOMER_NUMBER,
                          {'number': number})

    payment = _claimed_payment(root, for_payment, customer)
    if payment is None:
        payment = _named_payment(root, transfer, customer)
    if payment is None and customer is not None:
        payment = _waiting_payment(customer, transfer.amount)
    if payment is None and customer is not None:
        payment = _payment_for_open_invoices(root, customer, transfer, now)
    if payment is None:
        return _unmatched(transfers, record, now, actor,
                          notes.NO_MATCH if customer is not None
                          else notes.COMPANY_CLABE_NO_REFERENCE)
    return pay(root, gateway, transfers, record, payment, transfer, now, actor)


def _stored(record):
    """The Transfer a record keeps (None if its fields no longer make one)."""
    try:
        return Transfer.from_dict(record.data)
    except TransferError:
        return None


def _copy_among(transfer, known):
    """The record among ``known`` (one date and clave) that ``transfer`` is a copy of:
    the one under the transfer's own key first."""
    for record in sorted(known, key=lambda r: r.key != transfer.key):
        stored = _stored(record)
        if stored is not None and transfer.copy_of(stored):
            return record
    return None


def _may_share_key(transfer, record):
    """Whether ``record`` (same date and clave) may be of the transfer's ordering bank; one
    that cannot be read is taken as clashing, so staff look."""
    stored = _stored(record)
    return stored is None or transfer.may_share_key(stored)


def _same_key(root, record, clashing, now, actor):
    """``record`` came under the date, clave and ordering bank of ``clashing`` but differs:
    staff decide, seeing both."""
    others = ', '.join(f'{other.key} ({other.amount} MXN to '
                       f'{other.data.get("beneficiary_account", "")})' for other in clashing)
    note = f'same date, clave de rastreo and ordering bank as {others}: not matched'
    record.related = tuple(other.key for other in clashing)
    for other in clashing:
        other.relate(record.key)
    record.move(SAME_KEY, now, actor, notes.SAME_KEY, {'others': others})
    root.transfers.track(record)
    audit.record(root, actor, 'spei.same-key', record, '', SAME_KEY, note, when=now)
    log.warning('SPEI transfer %s: %s', record.key, note)
    return Received(record.key, SAME_KEY, note=note)


def _unmatched(transfers, record, now, actor, note, data=None):
    """Into the staff's queue, ``note`` a code of :mod:`.notes` (its values ``data``)."""
    record.move(UNMATCHED, now, actor, note, data)
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
    """The customer's one waiting SPEI payment of exactly ``amount`` (None if not one), from
    its index of payments in progress: the payments it settled long ago are never read."""
    in_progress = (customer.payments_in_progress() if customer.in_progress is not None
                   else customer.payments.values())      # before 'payments-in-progress'
    waiting = [p for p in in_progress
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


def pay(root, gateway, transfers, record, payment, transfer, now, actor, settled_by=None):
    """Settle ``payment`` with ``record``'s money; the record says what became of it.
    ``settled_by``: who the audit log names for the payment's transition (default: the
    bank; the staff member who assigned the transfer)."""
    result = BankResult(
        bank=SPEI, reference=payment.reference, outcome=BANK_APPROVED, amount=transfer.amount,
        currency='MXN', authorization=None, bank_reference=f'SPEI {transfer.tracking_key}',
        event_id=record.key, verified=True, source=transfer.source, raw=transfer.as_dict())
    before = payment.state
    settlement = service.settle(root, payment, result, now, actor=settled_by,
                                paid_at=transfer.settled_at)
    if before != PENDING and not settlement.changed:
        # Settled before (another transfer paid it): this money is not for it.
        return _unmatched(transfers, record, now, actor, notes.ALREADY_SETTLED,
                          {'reference': payment.reference, 'state': before})
    payment.transfer = dict(transfer.as_dict(), beneficiary_bank_rfc=gateway.bank_rfc)
    payment.bank_reference = payment.bank_reference or f'SPEI {transfer.tracking_key}'
    await_cep(root, payment, now)
    record.payment_reference = payment.reference
    state = MATCHED if settlement.after == APPROVED else TRANSFER_REVIEW
    note = notes.PAID if state == MATCHED else notes.PAYMENT_IN_REVIEW
    record.move(state, now, actor, note, {'reference': payment.reference,
                                          'detail': settlement.note or ''})
    transfers.track(record)
    log.info('SPEI transfer %s → payment %s: %s', record.key, payment.reference, settlement.after)
    return Received(record.key, state, payment.reference, receipt_due=settlement.receipt_due,
                    note=note)
