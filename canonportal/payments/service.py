"""The payment service: reserve invoices, settle with verified bank data, reconcile.

Views and console scripts call these functions inside a transaction, or hand
:func:`record_answer` what a bank said and let it commit and mail the receipt.
Nothing here talks to a bank (the caller asks it, with no transaction open) or
trusts anything the browser sent: amounts come from
:func:`canonportal.payments.selection.validate_selection` over the stored invoices, and
outcomes only from a :class:`~canonportal.gateways.BankResult` whose data were
verified (signature or server-to-server retrieval).

State machine (see :mod:`canonportal.resources.payment`)::

    pending → approved | declined | cancelled | expired
    approved → applied            (ERP import)
    any → review                  (verified data disagree with our record)

Declined, cancelled and expired release the invoices' reservations; approved
keeps them until the ERP applies the payment.
"""
import dataclasses
import datetime
import logging

from pyramid.traversal import find_root

from .. import audit
from .. import gateways as gw
from ..formatting import money as format_money
from ..i18n import _
from ..money import ZERO
from ..resources import PortalRoot, customer_of
from ..resources.invoice import USD
from ..resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, IN_PROGRESS_STATES, PENDING, REFUND_NEEDED,
    RELEASING_STATES, REQUESTED, REVIEW, Allocation, InvalidTransition, Payment,
)
from .transactions import in_own_transaction

log = logging.getLogger(__name__)

#: Where a transition came from (recorded in the payment's history).
SOURCE_PORTAL = 'portal'
SOURCE_RECONCILIATION = 'reconciliation'
SOURCE_STAFF = 'staff'
SOURCE_ERP = 'erp'

#: What staff may decide for a payment in review.
REVIEW_DECISIONS = (APPROVED, DECLINED, REFUND_NEEDED)

_OUTCOME_STATE = {gw.APPROVED: APPROVED, gw.DECLINED: DECLINED, gw.CANCELLED: CANCELLED}


class PaymentRefused(Exception):
    """The selection cannot be paid as it stands; ``message`` says why (Spanish)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def in_transit_message(invoice):
    """Why an invoice cannot take more: other payments hold part of it in transit."""
    return _('La factura ${folio} ya tiene un pago en tránsito; solo quedan ${left} por '
             'pagar. Actualice la página y revise las cantidades.',
             mapping={'folio': invoice.key,
                      'left': format_money(invoice.left_to_pay, invoice.currency)})


def create_payment(root, customer, bank, selection, now, state=PENDING, prepared_by=None):
    """Create a pending payment for a validated selection and reserve its invoices.

    Runs in the caller's transaction. Everything is checked before anything is
    written, so a refusal leaves the database untouched. Two payments racing
    for one invoice both write that invoice: the ZODB makes the later commit
    conflict, the request is retried, and the retry sees the reservation.
    """
    if not selection.ok:
        raise PaymentRefused(_('Revise las cantidades marcadas antes de pagar.'))
    rate = selection.rate.rate if selection.rate is not None else None
    plan = []
    for line in selection.chosen:
        invoice = customer.invoices.get(line.key)
        amount = line.amount_currency
        if invoice is None or amount is None or amount <= ZERO:
            raise PaymentRefused(_('La factura ${folio} ya no se puede pagar.',
                                   mapping={'folio': line.key}))
        if amount > invoice.left_to_pay:
            raise PaymentRefused(in_transit_message(invoice))
        plan.append((invoice, line, amount))
    if not plan:
        raise PaymentRefused(_('Seleccione al menos una factura.'))

    reference = root.next_payment_reference()
    allocations = []
    for invoice, line, amount in plan:
        balance_before, instalment = invoice.left_to_pay, invoice.next_instalment()
        invoice.reserve(reference, amount)
        allocations.append(Allocation(
            invoice.key, invoice.account, invoice.currency, line.amount_mxn, amount,
            rate if invoice.currency == USD else None, balance_before, instalment))
    payment = Payment(reference, customer.rfc, bank, allocations, created=now)
    payment.state = state
    payment.prepared_by = prepared_by
    payment.history = ((now, None, state, SOURCE_PORTAL, 'created'),)
    customer.add_payment(payment)
    # A request waiting for an approver is listed too: reconciliation lets it expire.
    track_in_progress(root, customer, payment)
    audit.record(root, prepared_by[0] if prepared_by else f'customer:{customer.rfc}',
                 audit.PAYMENT_TRANSITION, payment, '', state,
                 f'{payment.total_mxn} MXN via {bank}', when=now)
    log.info('payment %s created: %s %s MXN via %s', reference, customer.rfc,
             payment.total_mxn, bank)
    return payment


@dataclasses.dataclass(frozen=True)
class Settlement:
    """What :func:`settle` did: the state before and after, and whether a receipt is due."""

    before: str
    after: str
    note: str = ''

    @property
    def changed(self):
        return self.before != self.after

    @property
    def receipt_due(self):
        return self.changed and self.after == APPROVED


def settle(root, payment, result, now, actor=None, paid_at=None):
    """Apply a bank result to ``payment``; idempotent and never backwards.

    Unverified data change nothing. Verified data that disagree with our record (amount,
    currency, reference, customer) send the payment to review instead of approving it. K
    copies of one event make one transition. Approving sets ``paid_at`` (default ``now``).
    ``actor``: who the audit log names (default: the bank; staff assigning a transfer).
    """
    before = payment.state
    if result is None or not result.verified:
        return Settlement(before, before, 'unverified data ignored')
    if result.outcome not in _OUTCOME_STATE:
        return Settlement(before, before, f'bank says {result.outcome}')
    target = _OUTCOME_STATE[result.outcome]
    source = result.source

    problems = result.discrepancies(payment.reference, payment.total_mxn, 'MXN',
                                    customer_reference=payment.customer_rfc)
    if problems:
        if before == REVIEW or (before == APPLIED):
            return Settlement(before, before, 'already in review')
        note = (f'verified {result.bank} data disagree on {", ".join(problems)}: '
                f'bank {result.amount} {result.currency} ref {result.reference}, '
                f'ours {payment.total_mxn} MXN ref {payment.reference}')
        record_transition(payment, REVIEW, now, source, note, result, actor)
        log.warning('payment %s to review: %s', payment.reference, note)
        return Settlement(before, REVIEW, note)

    if before == PENDING:
        if target == APPROVED:
            payment.bank_reference, payment.paid_at = result.bank_reference, paid_at or now
        record_transition(payment, target, now, source, result.message or '', result, actor)
        if target in RELEASING_STATES:
            release_reservations(payment)
        return Settlement(before, target)
    if before in RELEASING_STATES and target == APPROVED:
        # The bank took the money after we let the invoices go: staff must look,
        # and the invoices are held again (as far as they are still free) so the
        # customer is not invited to pay them a second time meanwhile.
        note = f'approval arrived after the payment was {before}'
        record_transition(payment, REVIEW, now, source, note, result, actor)
        payment.bank_reference = result.bank_reference
        reserve_again(payment)
        log.warning('payment %s to review: %s', payment.reference, note)
        return Settlement(before, REVIEW, note)
    if before != target:
        # e.g. a late "declined" for an approved payment: never go backwards.
        log.info('payment %s: ignored %s from %s while %s', payment.reference, target,
                 source, before)
    return Settlement(before, before, 'duplicate or out of order')


def record_transition(payment, state, now, source, note, result=None, actor=None):
    before = payment.state
    payment.transition(state, now, source, note)
    if result is not None:
        payment.bank_data = result.bank_data()
        payment.events = payment.events + (result.event_id,)
    root = find_root(payment)
    if not isinstance(root, PortalRoot):
        return      # a payment not in a portal's tree (unit tests)
    track_in_progress(root, customer_of(payment), payment)
    in_review = root.review_payments
    if in_review is not None:
        if state == REVIEW:
            in_review[payment.reference] = payment
        elif payment.reference in in_review:
            del in_review[payment.reference]
    if actor is None:
        actor = f'bank:{payment.bank}' if result is not None else f'system:{source}'
    audit.record(root, actor, audit.PAYMENT_TRANSITION, payment, before, state,
                 f'{source}: {note}' if note else source, when=now)


def track_in_progress(root, customer, payment):
    """The one place the indexes of payments in progress follow a payment's state: the
    root's ``pending_payments`` (every customer's, for reconciliation, expiry and the staff)
    and the customer's own ``in_progress`` (its pages). Called on creation and on every
    transition (:func:`record_transition`)."""
    pending = root.pending_payments
    if payment.state in IN_PROGRESS_STATES:
        if pending.get(payment.reference) is not payment:
            pending[payment.reference] = payment
    elif payment.reference in pending:
        del pending[payment.reference]
    if customer is not None:
        customer.track_payment(payment)


def send_to_review(payment, now, source, note):
    """Staff must look at ``payment`` (e.g. its transfer's CEP disagrees); the invoices
    stay held as they are."""
    if payment.state == REVIEW:
        return Settlement(REVIEW, REVIEW, note)
    before = payment.state
    record_transition(payment, REVIEW, now, source, note)
    log.warning('payment %s to review: %s', payment.reference, note)
    return Settlement(before, REVIEW, note)


def release_reservations(payment):
    """Give the payment's reserved amounts back to its invoices."""
    invoices = customer_of(payment).invoices
    for allocation in payment.allocations:
        invoice = invoices.get(allocation.invoice_key)
        if invoice is not None:
            invoice.release(payment.reference)


def reserve_again(payment):
    """Reserve a released payment's allocations again, up to what each invoice has left."""
    invoices = customer_of(payment).invoices
    for allocation in payment.allocations:
        invoice = invoices.get(allocation.invoice_key)
        if invoice is None or invoice.reserved_by(payment.reference) > ZERO:
            continue
        amount = min(allocation.amount_currency, invoice.left_to_pay)
        if amount > ZERO:
            invoice.reserve(payment.reference, amount)
        if amount < allocation.amount_currency:
            log.warning('payment %s: invoice %s could hold only %s of %s again',
                        payment.reference, invoice.key, amount, allocation.amount_currency)


def _close_pending(payment, state, now, source, note, actor=None):
    """Move a still-pending payment (or request) to a releasing state and free its invoices."""
    before = payment.state
    if before not in (PENDING, REQUESTED):
        return Settlement(before, before)
    record_transition(payment, state, now, source, note, actor=actor)
    release_reservations(payment)
    return Settlement(before, state, note)


def expire(payment, now, note='no answer from the bank in time'):
    """Expire a payment still pending; releases its reservations."""
    return _close_pending(payment, EXPIRED, now, SOURCE_RECONCILIATION, note)


def cancel_unstarted(payment, now, note):
    """Cancel a pending payment the bank never heard of (its start failed)."""
    return _close_pending(payment, CANCELLED, now, SOURCE_PORTAL, note)


def cancel_by_customer(payment, now, actor=None):
    """The customer (``actor``: who of the company) gave up a payment still pending at the
    bank: its invoices are free at once. An approval arriving later goes to review (see
    :func:`settle`)."""
    return _close_pending(payment, CANCELLED, now, SOURCE_PORTAL, 'cancelled by the customer',
                          actor=actor)


def resolve_review(payment, decision, comment, actor, now):
    """Staff's decision on a payment in review: approve, decline or refund-needed.

    The comment is required: it is what the next person will read. Approving
    holds the invoices again (as far as they are free); declining and
    refund-needed give them back to the customer.
    """
    if payment.state != REVIEW:
        raise InvalidTransition(f'payment {payment.reference} is {payment.state}, not in review')
    if decision not in REVIEW_DECISIONS:
        raise ValueError(f'unknown decision {decision!r}')
    comment = (comment or '').strip()
    if not comment:
        raise ValueError('a comment is required to resolve a review')
    if decision == APPROVED:
        payment.paid_at = payment.paid_at or now   # before the transition: HISTORIAL's date
    record_transition(payment, decision, now, SOURCE_STAFF, comment, actor=actor)
    if decision == APPROVED:
        reserve_again(payment)
    else:
        release_reservations(payment)
    return Settlement(REVIEW, decision, comment)


def apply_from_erp(payment, now, actor, note='applied by the ERP'):
    """The ERP applied an approved payment: it becomes ``applied`` and leaves transit.

    Idempotent: an already applied payment is left as it is.
    """
    if payment.state == APPLIED:
        return Settlement(APPLIED, APPLIED)
    if payment.state != APPROVED:
        raise InvalidTransition(f'payment {payment.reference} is {payment.state}, not approved')
    record_transition(payment, APPLIED, now, SOURCE_ERP, note, actor=actor)
    invoices = customer_of(payment).invoices
    for allocation in payment.allocations:
        invoice = invoices.get(allocation.invoice_key)
        if invoice is not None:
            invoice.mark_applied(payment.reference)
    return Settlement(APPROVED, APPLIED, note)


def pending_older_than(root, now, age):
    """Pending payments created more than ``age`` ago (a snapshot list)."""
    limit = now - age
    return [p for p in root.pending_payments.values() if p.created <= limit]


def check(root, payment, result, now, expire_after):
    """What the bank answered to a query about a pending payment (None: it offers no
    query): settle with it, or expire the payment once ``expire_after`` has passed.

    Payments that are no longer pending are left as they are. Returns a
    :class:`Settlement`. This is how ``canonportal-reconcile``, the result page
    and the staff's "Consultar al banco ahora" decide.
    """
    if payment.state not in (PENDING, REQUESTED):
        return Settlement(payment.state, payment.state)
    if result is not None and payment.state == PENDING:
        settlement = settle(root, payment, result, now)
        if settlement.changed or result.outcome not in (gw.PENDING, gw.UNKNOWN):
            return settlement
    deadline = payment.expires_at or payment.created + expire_after
    if now >= deadline:
        return expire(payment, now, 'no transfer arrived in time' if payment.expires_at else
                      'no answer from the bank in time')
    return Settlement(payment.state, payment.state, 'still pending')


#: How many times a settlement is tried when concurrent transactions conflict.
SETTLE_ATTEMPTS = 20


def record_answer(tm, root_of, reference, result, now, send_receipt, expire_after=None,
                  attempts=SETTLE_ATTEMPTS, and_then=None, reopen=True):
    """The choreography after a bank answered: apply, commit, mail the receipt once.

    The caller asked the bank before, with no transaction open, and passes the
    :class:`~canonportal.gateways.BankResult` it got. Here only the short write
    is done, in a transaction of ``tm`` of its own, retried on conflicts (as
    often as concurrent settlements may collide on the shared indexes) without
    asking the bank again. Without ``expire_after`` the result is a notice or a
    return (:func:`settle`); with it, the answer to a query (:func:`check`).

    ``root_of()`` gives the application root inside the transaction;
    ``send_receipt(payment)`` queues the receipt mail on that transaction, so it
    leaves only if the approval commits; ``and_then(root, payment, settlement)``
    records more in the same transaction (the staff's audit line).
    """
    def work():
        root = root_of()
        payment = root.payments_by_reference[reference]
        if expire_after is None:
            settlement = settle(root, payment, result, now)
        else:
            settlement = check(root, payment, result, now, expire_after)
        if settlement.receipt_due:
            send_receipt(payment)
        if and_then is not None:
            and_then(root, payment, settlement)
        return settlement

    return in_own_transaction(tm, work, attempts=attempts, reopen=reopen)


DEFAULT_QUERY_AFTER = datetime.timedelta(minutes=5)
DEFAULT_EXPIRE_AFTER = datetime.timedelta(hours=2)


def minutes(value):
    """A settings value in minutes as a timedelta."""
    return datetime.timedelta(minutes=int(value))
