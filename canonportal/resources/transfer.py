"""SPEI transfers received: one record per transfer, whatever way it arrived.

The record keeps the transfer's fields as plain strings (see
:meth:`canonportal.spei.transfers.Transfer.as_dict`), what became of it, and
its history. They live in the root's ``transfers`` folder, keyed by the
transfer's key (operation date and clave de rastreo), so a second copy of a
transfer — the bank's retry, or the same transfer in a statement — finds the
first and changes nothing.
"""
from decimal import Decimal

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .folder import Folder

#: Matched to a payment, which the bank's money approved.
MATCHED = 'matched'
#: Matched to a payment, but something disagrees: staff decide (see the payment).
REVIEW = 'review'
#: Nothing it names or pays is known: in the staff's queue "Transferencias sin aplicar".
UNMATCHED = 'unmatched'
#: An operator assigned it to a customer and invoices by hand.
ASSIGNED = 'assigned'
#: An operator found it is not money for the portal (a loan, another business).
NOT_FOR_PORTAL = 'not-for-portal'
STATES = (MATCHED, REVIEW, UNMATCHED, ASSIGNED, NOT_FOR_PORTAL)


class IncomingTransfer(Persistent):
    """One SPEI transfer into the company's accounts."""

    __name__ = None
    __parent__ = None
    payment_reference = None     # the payment it paid, when matched or assigned
    note = ''

    def __init__(self, key, data, received, source):
        self.key = key
        self.data = dict(data)
        self.received = received
        self.sources = (source,)
        self.state = UNMATCHED
        self.history = ()

    @property
    def title(self):
        return f'SPEI {self.data.get("tracking_key", self.key)}'

    @property
    def amount(self):
        return Decimal(self.data['amount'])

    @property
    def tracking_key(self):
        return self.data.get('tracking_key', '')

    def move(self, state, when, actor, note=''):
        if state not in STATES:
            raise ValueError(f'unknown transfer state {state!r}')
        self.history = self.history + ((when, self.state, state, actor, note),)
        self.state = state
        self.note = note

    def seen_again(self, source):
        """A second copy arrived (retry or statement): remembered, nothing else."""
        if source not in self.sources:
            self.sources = self.sources + (source,)


class Transfers(Folder):
    """Every SPEI transfer received, by key, with the staff's queue of the unmatched."""

    title = 'Transferencias SPEI'

    def __init__(self):
        super().__init__()
        self.unmatched = OOBTree()      # key -> IncomingTransfer waiting for an operator

    def add_transfer(self, transfer):
        self.add(transfer.key, transfer)
        self.track(transfer)
        return transfer

    def track(self, transfer):
        """Keep the queue of unmatched transfers in step with ``transfer``'s state."""
        if transfer.state == UNMATCHED:
            self.unmatched[transfer.key] = transfer
        elif transfer.key in self.unmatched:
            del self.unmatched[transfer.key]
