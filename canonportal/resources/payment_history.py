"""Each customer's index of its payments for HISTORIAL DE PAGOS, newest first.

Keyed by the payment date inverted and the reference inverted (the page's order, read
forwards), each entry holds what the page filters and totals by (the date, the state, who
prepared it, each invoice paid with its account and amount) beside the payment itself, which
stays unloaded until its row is shown. :class:`PaymentHistory.track` keeps an entry in step;
``Customer.add_payment`` and ``Customer.track_payment`` (creation and every transition) call it.
"""
import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .payment import APPROVED, reference_order

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)


def payment_date(payment):
    """When the payment was paid: ``paid_at``, else its approval, else its creation."""
    paid_at = getattr(payment, 'paid_at', None)
    if paid_at is not None:
        return paid_at
    for when, _old, new, *_rest in payment.history:
        if new == APPROVED:
            return when
    return payment.created


def newest_first(when, reference):
    """The index key: later dates first, then higher references first (numbers in numeric
    order, as :func:`reference_order`)."""
    kind, number, text = reference_order(reference)
    return (-((when - _EPOCH) // _MICROSECOND), -kind, -number,
            tuple(-ord(c) for c in text) + (1,))


class Entry(tuple):
    """``(date, payment, state, prepared id, lines)``; ``lines``: ``(invoice key, account,
    amount MXN)`` in invoice key order. A plain tuple in the index's buckets."""
    __slots__ = ()

    date = property(lambda self: self[0])
    payment = property(lambda self: self[1])
    state = property(lambda self: self[2])
    prepared_id = property(lambda self: self[3])
    lines = property(lambda self: self[4])


def entry_of(payment):
    lines = tuple(sorted(((a.invoice_key, a.account, a.amount_mxn) for a in payment.allocations),
                         key=lambda line: line[0]))
    prepared_id = payment.prepared_by[0] if payment.prepared_by else ''
    return (payment_date(payment), payment, payment.state, prepared_id, lines)


class PaymentHistory(Persistent):
    """The index: ``by_date`` (key → entry) and ``keys`` (reference → its key)."""

    def __init__(self):
        self.by_date = OOBTree()
        self.keys = OOBTree()

    def track(self, payment):
        """Index ``payment`` as it is now (its date, state and invoices may have moved)."""
        entry = entry_of(payment)
        key = newest_first(entry[0], payment.reference)
        old = self.keys.get(payment.reference)
        if old is not None and old != key:
            del self.by_date[old]
        if old != key:
            self.keys[payment.reference] = key
        if self.by_date.get(key) != entry:
            self.by_date[key] = entry

    def entries(self):
        """Every entry, newest first, loading no payment."""
        return (Entry(value) for value in self.by_date.values())

    def __len__(self):
        return len(self.keys)
