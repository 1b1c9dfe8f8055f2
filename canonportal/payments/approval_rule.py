"""The approval rule: whether a payment a colleague prepares waits for an approver.

A company asks for approval never, always or above an amount
(:meth:`Customer.needs_approval`). The amount is not one form's but what the person
commits: the payment plus every payment the same preparer has **open** (pending at a
bank, a SPEI transfer awaited, a request awaiting approval, in review) or **paid**
without an approver's approval, on any of the same invoices (whenever it was made) or
made in the same Mexico City day (``canonportal.approval_window_days``: 1 is today,
2 today and yesterday, …). So one invoice paid as three payments under the threshold
makes a request of the payment that takes the sum past it, and so does splitting
across invoices on one day. Declined, cancelled, expired and refunded payments count
for nothing, nor do payments an approver approved, nor another person's.

Only the customer's own payments are read: those the chosen invoices name (reserved
or applied) and the newest ones back to the window's start. The reservation reads
the rule in the same transaction that creates the payment, and every reservation
takes a payment number from the root's counter, so two payments confirmed at once by
one person conflict and the retry counts the other.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from pyramid.traversal import find_root

from .. import clock
from ..money import ZERO
from ..resources import customer_of
from ..resources.customer import APPROVAL_NEVER
from ..resources.folder import numbered_keys_descending
from ..resources.payment import (
    APPLIED, APPROVED, PENDING, REQUESTED, REVIEW, reference_order,
)

#: The setting: how many Mexico City days (today included) the rule adds up.
WINDOW_SETTING = 'canonportal.approval_window_days'
DEFAULT_WINDOW_DAYS = 1
MAX_WINDOW_DAYS = 31

#: The states of a payment that still commits its money: open, or paid.
COUNTED_STATES = frozenset({REQUESTED, PENDING, REVIEW, APPROVED, APPLIED})

#: Payment numbers are handed out in the order payments are created, and ``created``
#: is taken in the transaction that takes the number: walking back from the newest,
#: the walk stops at the first payment this much older than the window.
SLACK = datetime.timedelta(hours=1)


def window_days(settings):
    """``canonportal.approval_window_days`` as a number of days (1 to 31); ValueError
    for anything else, so that a mistyped setting stops the portal from starting."""
    value = settings.get(WINDOW_SETTING, DEFAULT_WINDOW_DAYS)
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ValueError(f'{WINDOW_SETTING} must be a whole number of days, not {value!r}')
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f'{WINDOW_SETTING} must be between 1 and {MAX_WINDOW_DAYS}, not {days}')
    return days


def window_start(when, days):
    """Midnight in Mexico City starting the window of ``days`` days that ends on the day
    of ``when`` (aware UTC)."""
    first = clock.mexico_today(when) - datetime.timedelta(days=days - 1)
    return clock.mexico_day_start(first)


@dataclass(frozen=True)
class Decision:
    """What the rule says of a payment about to be made."""

    needed: bool          # it waits for an approver
    total: Decimal        # what the preparer commits with it (MXN)
    related: tuple        # the preparer's payments counted with it, by number


def counts(payment, preparer_id):
    """Whether ``payment`` is ``preparer_id``'s, unapproved by anyone, and still commits money."""
    return (payment.prepared_by is not None and payment.prepared_by[0] == preparer_id
            and payment.approved_by is None and payment.state in COUNTED_STATES)


def related_payments(customer, preparer_id, invoice_keys, since, exclude=None):
    """The payments of ``customer`` that count for ``preparer_id``: on one of
    ``invoice_keys`` or created at ``since`` or later, ``exclude`` (a reference) aside;
    in number order."""
    found = {}
    payments = customer.payments
    for key in invoice_keys:
        invoice = customer.invoices.get(key)
        if invoice is None:
            continue
        for reference, _amount in invoice.reservations + invoice.applied:
            payment = payments.get(reference)
            if payment is not None:
                found[reference] = payment
    for payment in _created_since(customer, since):
        found[payment.reference] = payment
    return tuple(payment for reference, payment in sorted(
        found.items(), key=lambda item: reference_order(item[0]))
        if reference != exclude and counts(payment, preparer_id))


def _created_since(customer, since):
    payments = customer.payments
    highest = find_root(customer).payment_counter.value
    for reference in numbered_keys_descending(payments.data, highest):
        payment = payments[reference]
        if payment.created < since - SLACK:
            return
        if payment.created >= since:
            yield payment


def decide(customer, preparer_id, may_approve, selection, now, settings):
    """The rule for a payment of ``selection`` (validated) that ``preparer_id`` is about
    to make at ``now``, in the transaction that reserves it; ``may_approve``: the person
    may approve payments themselves (then nothing waits)."""
    total = selection.total_mxn
    if may_approve:
        return Decision(False, total, ())
    related = ()
    if customer.approval_policy != APPROVAL_NEVER:
        related = related_payments(customer, preparer_id,
                                   [line.key for line in selection.chosen],
                                   window_start(now, window_days(settings)))
    total += sum((payment.total_mxn for payment in related), ZERO)
    return Decision(customer.needs_approval(total), total, related)


def related_to_request(payment, days):
    """What the approvers of a request see with it: the preparer's payments the rule
    counts with it (on its invoices, or made in its window, before or after it)."""
    if payment.prepared_by is None:
        return ()
    return related_payments(customer_of(payment), payment.prepared_by[0],
                            [allocation.invoice_key for allocation in payment.allocations],
                            window_start(payment.created, days), exclude=payment.reference)
