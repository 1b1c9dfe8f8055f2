"""Each customer's index of its payments for HISTORIAL DE PAGOS, newest first.

Keyed by the payment date inverted and the reference inverted (the page's order, read
forwards), each entry holds what the page filters and totals by (the date, the state, who
prepared it, each invoice paid with its account and amount) beside the payment itself, which
stays unloaded until its row is shown. :class:`PaymentHistory.track` keeps an entry in step;
``Customer.add_payment`` and ``Customer.track_payment`` (creation and every transition) call it.
Beside the entries, a :class:`Tally` per state (entries, invoice lines, their MXN amount), kept by
the same ``track``, lets the unfiltered page count its rows and total what was paid without
walking every entry.
"""
import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..money import ZERO
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


class Tally(Persistent):
    """``by_state``: state → ``(entries, invoice lines, MXN amount of the lines)``.

    Two transactions changing one customer's payments at once both change it; their
    changes add up (:meth:`_p_resolveConflict`), as ``BTrees.Length`` does, instead of
    conflicting."""

    def __init__(self):
        self.by_state = {}

    def add(self, entry, sign=1):
        """Count ``entry`` (an index value) in, or out with ``sign`` -1."""
        state, lines = entry[2], entry[4]
        entries, count, amount = self.by_state.get(state, (0, 0, ZERO))
        changed = dict(self.by_state)
        changed[state] = (entries + sign, count + sign * len(lines),
                          amount + sign * sum((line[2] for line in lines), ZERO))
        if changed[state][0] == 0:
            del changed[state]
        self.by_state = changed

    def _p_resolveConflict(self, old, committed, new):
        before, theirs, ours = (state.get('by_state', {}) for state in (old, committed, new))
        merged = {}
        for state in set(before) | set(theirs) | set(ours):
            zero = (0, 0, ZERO)
            values = tuple(t + o - b for b, t, o in zip(before.get(state, zero),
                                                        theirs.get(state, zero),
                                                        ours.get(state, zero)))
            if values[0]:
                merged[state] = values
        return dict(committed, by_state=merged)


class PaymentHistory(Persistent):
    """The index: ``by_date`` (key → entry), ``keys`` (reference → its key) and ``tally``
    (a :class:`Tally` of the entries; None until the evolve step 'payment-history-tally')."""

    tally = None

    def __init__(self):
        self.by_date = OOBTree()
        self.keys = OOBTree()
        self.tally = Tally()

    def track(self, payment):
        """Index ``payment`` as it is now (its date, state and invoices may have moved)."""
        entry = entry_of(payment)
        key = newest_first(entry[0], payment.reference)
        old = self.keys.get(payment.reference)
        before = self.by_date.get(old) if old is not None else None
        if old is not None and old != key:
            del self.by_date[old]
        if old != key:
            self.keys[payment.reference] = key
        if self.by_date.get(key) != entry:
            self.by_date[key] = entry
        if before != entry and self.tally is not None:
            if before is not None:
                self.tally.add(before, -1)
            self.tally.add(entry)

    def count_all(self):
        """Give the index its :class:`Tally`, counted from every entry (evolve step)."""
        self.tally = Tally()
        for entry in self.by_date.values():
            self.tally.add(entry)

    def entries(self):
        """Every entry, newest first, loading no payment."""
        return (Entry(value) for value in self.by_date.values())

    def __len__(self):
        return len(self.keys)
