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
import re
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

#: Why a transfer is where it is (``IncomingTransfer.note``, its values in ``note_data``);
#: staff read them in words (:mod:`canonportal.payments.transfers.notes`).
NOT_OUR_CLABE = 'not-our-clabe'
UNKNOWN_CUSTOMER_NUMBER = 'unknown-customer-number'         # number
NO_MATCH = 'no-match'
COMPANY_CLABE_NO_REFERENCE = 'company-clabe-no-reference'
ALREADY_SETTLED = 'already-settled'                         # reference, state
SAME_KEY_NOTE = 'same-key'                                  # others
PAID = 'paid'                                               # reference
PAYMENT_IN_REVIEW = 'payment-in-review'                     # reference, detail

#: The English notes records kept before the codes (the evolve step 'transfer-note-codes').
_LEGACY_NOTES = (
    (re.compile(r'^not paid to one of our CLABEs$'), NOT_OUR_CLABE),
    (re.compile(r'^no customer has number (?P<number>\S+)$'), UNKNOWN_CUSTOMER_NUMBER),
    (re.compile(r'^no payment or open invoices match it$'), NO_MATCH),
    (re.compile(r'^no reference of a waiting payment, and paid to the company CLABE$'),
     COMPANY_CLABE_NO_REFERENCE),
    (re.compile(r'^payment (?P<reference>\S+) was already (?P<state>\S+)$'), ALREADY_SETTLED),
    (re.compile(r'^same date, clave de rastreo and ordering bank as (?P<others>.*): not matched$',
                re.S), SAME_KEY_NOTE),
    (re.compile(r'^paid payment (?P<reference>\S+)$'), PAID),
)


def legacy_note(note, payment_reference=None):
    """``(code, data)`` of an English note written before the codes, or None (an operator's
    comment, or a code already). A payment sent to review keeps the disagreement as detail."""
    note = note or ''
    for pattern, code in _LEGACY_NOTES:
        match = pattern.match(note)
        if match:
            return code, match.groupdict()
    if payment_reference and note.startswith(('verified ', 'approval arrived')):
        return PAYMENT_IN_REVIEW, {'reference': payment_reference, 'detail': note}
    return None


class IncomingTransfer(Persistent):
    """One SPEI transfer into the company's accounts."""

    __name__ = None
    __parent__ = None
    payment_reference = None     # the payment it paid, when matched or assigned
    note = ''                    # why it is where it is: a code of payments.transfers.notes,
    note_data = None             # with its values, or an operator's comment
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

    def move(self, state, when, actor, note='', data=None):
        if state not in STATES:
            raise ValueError(f'unknown transfer state {state!r}')
        self.history = self.history + ((when, self.state, state, actor, note),)
        self.state = state
        self.note = note
        self.note_data = {str(k): str(v) for k, v in data.items()} if data else None

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
