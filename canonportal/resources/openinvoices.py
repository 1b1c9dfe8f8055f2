"""A customer's open invoices (balance > 0) kept sorted, so SALDOS reads only its page.

The order is that of the SALDOS list: due date (no due date last), then folio
(numeric folios by length, then text; other folios before them, by text), then
the invoice's key. It is encoded as plain values — ``(day ordinal, folio length
or 0, folio, key)`` — so the BTree keys never hold dates or invoices.

Two BTrees: order key → invoice (the list) and invoice key → order key (to find
an entry again after its due date or balance changed), and a ``Length`` for the
count, so ``len()`` reads one object. Membership depends only on ``balance``:
an invoice whose whole balance is in transit stays listed.
"""
import datetime
import itertools

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..money import ZERO
from .invoice import folio_order

#: The day ordinal of an invoice without due date: after every real date, as
#: ``datetime.date.max`` sorts in the scan of :mod:`canonportal.payments.selection`.
NO_DUE_DATE = datetime.date.max.toordinal()


def order_key(invoice, key=None):
    """The invoice's place in the SALDOS order, as a tuple of ints and text.

    ``key`` is its name in the customer's ``invoices`` folder (its ``__name__``
    unless given).
    """
    due = invoice.due
    return (due.toordinal() if due is not None else NO_DUE_DATE, *folio_order(invoice.folio),
            invoice.__name__ if key is None else key)


def is_open(invoice):
    return invoice.balance > ZERO


class OpenInvoices(Persistent):
    """The invoices of one customer with a pending balance, in SALDOS order."""

    def __init__(self):
        self.by_order = OOBTree()   # order key -> invoice
        self.order_of = OOBTree()   # invoice key -> order key
        self.count = Length()

    def __len__(self):
        return self.count()

    def __bool__(self):
        # An empty index is still an index: `if customer.open_invoices:` must not mean "has any".
        return True

    def __iter__(self):
        return iter(self.by_order.values())

    def __contains__(self, key):
        return key in self.order_of

    def keys(self):
        """The invoice keys, in order."""
        return (order[-1] for order in self.by_order.keys())

    def update(self, invoice, key=None):
        """Put ``invoice`` where it belongs now: listed at its place if it has a balance,
        not listed otherwise. Writes nothing when its place did not change."""
        key = invoice.__name__ if key is None else key
        old = self.order_of.get(key)
        new = order_key(invoice, key) if is_open(invoice) else None
        if old == new:
            return
        if old is not None:
            del self.by_order[old]
        if new is None:
            del self.order_of[key]
            self.count.change(-1)
            return
        self.by_order[new] = invoice
        self.order_of[key] = new
        if old is None:
            self.count.change(1)

    def remove(self, invoice_or_key):
        """Drop an invoice (or key) from the list, if it is there."""
        key = invoice_or_key if isinstance(invoice_or_key, str) else invoice_or_key.__name__
        old = self.order_of.get(key)
        if old is not None:
            del self.by_order[old]
            del self.order_of[key]
            self.count.change(-1)

    def page(self, start, stop):
        """The invoices at positions ``start`` to ``stop`` (excluded), in order.

        Iterates from the first bucket and stops at ``stop``: the buckets before
        ``start`` are read (they hold keys and references only), no invoice outside the
        slice is loaded, and nothing after it is read. (Slicing ``values()`` would first
        count every bucket.)
        """
        start = max(start, 0)
        if stop <= start:
            return []
        return list(itertools.islice(self.by_order.values(), start, stop))

    def due_before(self, day):
        """The listed invoices due before ``day``, oldest first: a prefix of the order,
        read without touching the rest."""
        return self.by_order.values(max=(day.toordinal(),), excludemax=True)

    def positions(self, keys):
        """``{key: 0-based position}`` for those of ``keys`` that are listed, in one pass
        over the order keys up to the furthest one asked."""
        wanted = {}
        for key in set(keys):
            order = self.order_of.get(key) if isinstance(key, str) else None
            if order is not None:
                wanted[order] = key
        if not wanted:
            return {}
        found = {}
        for position, order in enumerate(self.by_order.keys(max=max(wanted))):
            key = wanted.get(order)
            if key is not None:
                found[key] = position
        return found

    def rebuild(self, invoices):
        """Index ``invoices`` (``(key, invoice)`` pairs) from scratch."""
        self.by_order.clear()
        self.order_of.clear()
        self.count.set(0)
        for key, invoice in invoices:
            self.update(invoice, key)
