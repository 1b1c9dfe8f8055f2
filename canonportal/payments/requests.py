"""A colleague's payment request decided by an approver: rejected (its invoices free
again) or approved, possibly for less, everything validated again as it stands now.
Either way the person who prepared it is told (``tell_preparer(payment)``, queued on the
same transaction: :func:`canonportal.payments.request_notices.tell_preparer`).

Called inside a transaction the caller commits (``in_own_transaction``); an approved
request is then started at its bank like any payment (:mod:`.starting`).
"""
from ..formatting import money as format_money
from ..i18n import _
from ..money import ZERO, usd_to_mxn
from ..resources import customer_of
from ..resources.invoice import USD
from ..resources.payment import CANCELLED, PENDING, REQUESTED, Allocation, InvalidTransition
from . import selection as sel
from .service import (
    SOURCE_PORTAL, PaymentRefused, Settlement, record_transition, release_reservations,
)


def reject_request(payment, approver, comment, now, tell_preparer=None):
    """An approver turned a colleague's payment request down: its invoices are free again,
    and who prepared it reads why."""
    if payment.state != REQUESTED:
        raise InvalidTransition(f'payment {payment.reference} is {payment.state}, not a request')
    comment = (comment or '').strip()
    if not comment:
        raise ValueError('a comment is required to reject a request')
    record_transition(payment, CANCELLED, now, SOURCE_PORTAL, f'rejected by {approver[1]}: {comment}',
                      actor=approver[0])
    payment.rejected_by, payment.rejected_at, payment.rejection_comment = approver, now, comment
    release_reservations(payment)
    if tell_preparer is not None:
        tell_preparer(payment)
    return Settlement(REQUESTED, CANCELLED, comment)


#: An approver's form may hold one amount per invoice of the request, each this long at most.
MAX_TYPED = 40


def read_decision(payment, kept, typed):
    """What an approver's form says about ``payment``: ``(amounts, errors)``.

    ``kept`` are the invoice keys left ticked, ``typed(key)`` the text typed for each.
    Only the request's own invoices are read. ``amounts`` maps each kept invoice whose
    amount is one, and at most what was requested, to it (in the invoice's currency);
    ``errors`` maps every other kept invoice to the reason, as SALDOS words it."""
    amounts, errors = {}, {}
    for allocation in payment.allocations:
        key = allocation.invoice_key
        if key not in kept:
            continue
        value, problem = sel.parse_typed((typed(key) or '')[:MAX_TYPED])
        if problem is None and value > allocation.amount_currency:
            problem = _('Solo puede bajar la cantidad: se solicitaron ${amount}.',
                        mapping={'amount': format_money(allocation.amount_currency,
                                                        allocation.currency)})
        if problem is None:
            amounts[key] = value
        else:
            errors[key] = problem
    return amounts, errors


def decision_total(payment, amounts, rate):
    """What approving ``payment`` for ``amounts`` (as :func:`read_decision` reads them)
    comes to in MXN: USD invoices at ``rate`` (the day's), truncated to the cent as SALDOS
    converts them. None when a USD invoice is kept and the day has no usable rate."""
    currencies = {a.invoice_key: a.currency for a in payment.allocations}
    total = ZERO
    for key, amount in amounts.items():
        if currencies[key] != USD:
            total += amount
        elif rate is None or not rate.usable:
            return None
        else:
            total += usd_to_mxn(amount, rate.rate)
    return total


def approve_request(root, payment, amounts, approver, rate, now, tell_preparer=None):
    """An approver accepts a colleague's request, possibly for less: ``amounts`` maps each
    invoice kept to its amount in the invoice's currency (at most what was requested; an
    invoice left out is dropped). Everything is validated again against the invoices as
    they are now, the request's own reservations aside; raises PaymentRefused with the
    reason, having changed nothing the caller commits (it aborts). Who prepared it is told
    (``tell_preparer(payment)``)."""
    if payment.state != REQUESTED:
        raise PaymentRefused(_('Esta solicitud ya no espera aprobación.'))
    if approver[0] == (payment.prepared_by or ('',))[0]:
        raise PaymentRefused(_('Quien preparó el pago no puede aprobarlo.'))
    requested = {a.invoice_key: a for a in payment.allocations}
    if not amounts or set(amounts) - set(requested):
        raise PaymentRefused(_('Deje al menos una factura de la solicitud.'))
    for key, amount in amounts.items():
        if amount is None or amount <= ZERO or amount > requested[key].amount_currency:
            raise PaymentRefused(_('La factura ${folio}: solo puede bajar la cantidad, no subirla.',
                                   mapping={'folio': key}))
    release_reservations(payment)
    customer = customer_of(payment)
    entries = [sel.Entry(key, ticked=True, usd=f'{amount:.2f}', edited=sel.EDITED_USD)
               if requested[key].currency == USD else
               sel.Entry(key, ticked=True, mxn=f'{amount:.2f}', edited=sel.EDITED_MXN)
               for key, amount in amounts.items()]
    chosen = sel.validate_selection(customer, rate, entries)
    if not chosen.ok:
        problems = [f'{line.key}: ' + ' '.join(str(m) for m in line.errors.values())
                    for line in chosen.line_errors()]
        raise PaymentRefused(_('La solicitud ya no se puede pagar así: ${why}',
                               mapping={'why': '; '.join(problems) or 'sin cambios'}))
    allocations = []
    for line in chosen.chosen:
        invoice = customer.invoices[line.key]
        amount = line.amount_currency
        balance_before, instalment = invoice.left_to_pay, invoice.next_instalment()
        invoice.reserve(payment.reference, amount)
        allocations.append(Allocation(
            invoice.key, invoice.account, invoice.currency, line.amount_mxn, amount,
            chosen.rate.rate if invoice.currency == USD else None, balance_before, instalment))
    requested = payment.total_mxn
    payment.allocations = tuple(allocations)
    if payment.total_mxn != requested:
        payment.requested_mxn = requested
    payment.approved_by = approver
    payment.approved_at = now
    record_transition(payment, PENDING, now, SOURCE_PORTAL, f'approved by {approver[1]}', actor=approver[0])
    if tell_preparer is not None:
        tell_preparer(payment)
    return Settlement(REQUESTED, PENDING)
