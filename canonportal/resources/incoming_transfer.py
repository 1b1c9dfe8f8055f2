"""SPEI transfers received: one record per transfer, whatever way it arrived.

The record keeps the transfer's fields as plain strings (see
:meth:`canonportal.spei.credit.Transfer.as_dict`), what became of it, and
its history. They live in the root's ``transfers`` folder, keyed by the
transfer's key (operation date, clave de rastreo, ordering institution), so a
second copy of a transfer — the bank's retry, or the same transfer in a
statement — finds the first and changes nothing. Another transfer under a key
already taken is kept too, under the key and ``-2``, ``-3``…, waiting for staff
(:data:`SAME_KEY`), each of the two naming the other in ``related``.
"""
from decimal import Decimal

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .folder import TOP, Folder

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
#: Another transfer came under the same date, clave de rastreo and ordering bank with
#: another amount or CLABE: not matched, in the staff's queue with the one it clashes with.
SAME_KEY = 'same-key'
STATES = (MATCHED, REVIEW, UNMATCHED, ASSIGNED, NOT_FOR_PORTAL, SAME_KEY)
#: The states of the staff's queue "Transferencias sin aplicar".
QUEUED = (UNMATCHED, SAME_KEY)


class IncomingTransfer(Persistent):
    """One SPEI transfer into the company's accounts."""

    __name__ = None
    __parent__ = None
    payment_reference = None     # the payment it paid, when matched or assigned
    note = ''
    related = ()                 # keys of other transfers of its date and clave that differ

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

    def relate(self, key):
        """Another transfer under this one's date and clave de rastreo differs from it."""
        if key not in self.related:
            self.related = self.related + (key,)


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
        """Keep the queue of transfers waiting for staff in step with ``transfer``'s state."""
        if transfer.state in QUEUED:
            self.unmatched[transfer.key] = transfer
        elif transfer.key in self.unmatched:
            del self.unmatched[transfer.key]

    def starting_with(self, prefix):
        """The transfers whose key starts with ``prefix`` (one date and clave: every
        ordering bank, and the copies that clashed), in key order."""
        return list(self.values(min=prefix, max=prefix + TOP))

    def free_key(self, key):
        """``key`` if no transfer has it, else the first of ``key-2``, ``key-3``… free."""
        number, free = 1, key
        while free in self:
            number += 1
            free = f'{key}-{number}'
        return free

    def rekey(self, transfer, key):
        """Move ``transfer`` to ``key`` (an evolve step changing how keys are made)."""
        old = transfer.key
        if old in self.unmatched:
            del self.unmatched[old]
        self.remove(old)
        transfer.key = key
        self.add_transfer(transfer)
