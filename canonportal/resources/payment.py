"""Online payments: one payment covers one or more invoice allocations."""
from persistent import Persistent

from ..money import ZERO
from .ownership import AccountDocument

PENDING = 'pending'
REQUESTED = 'requested'           # prepared by a colleague, waiting for an approver
APPROVED = 'approved'
DECLINED = 'declined'
CANCELLED = 'cancelled'
EXPIRED = 'expired'
APPLIED = 'applied'
REVIEW = 'review'
REFUND_NEEDED = 'refund-needed'   # staff found the money must go back to the customer

#: The only transitions a payment may take; nothing goes backwards.
TRANSITIONS = {
    REQUESTED: {PENDING, CANCELLED, EXPIRED},
    PENDING: {APPROVED, DECLINED, CANCELLED, EXPIRED, REVIEW},
    APPROVED: {APPLIED, REVIEW},
    DECLINED: {REVIEW},
    CANCELLED: {REVIEW},
    EXPIRED: {REVIEW},
    REVIEW: {APPROVED, DECLINED, CANCELLED, REFUND_NEEDED},
    APPLIED: set(),
    REFUND_NEEDED: set(),
}

#: A payment in progress: pending at a bank (a SPEI transfer awaited included) or a request
#: awaiting an approver. The root's ``pending_payments`` and each customer's ``in_progress``
#: list exactly these (kept by :mod:`canonportal.payments.service`).
IN_PROGRESS_STATES = frozenset({PENDING, REQUESTED})

#: States whose reservations are released from the invoices.
RELEASING_STATES = {DECLINED, CANCELLED, EXPIRED, REFUND_NEEDED}


class Allocation:
    """What one payment pays of one invoice. Immutable once created."""

    __slots__ = ('invoice_key', 'account', 'currency', 'amount_mxn',
                 'amount_currency', 'exchange_rate', 'balance_before', 'instalment')

    def __init__(self, invoice_key, account, currency, amount_mxn,
                 amount_currency, exchange_rate=None, balance_before=None, instalment=None):
        self.invoice_key = invoice_key
        self.account = account
        self.currency = currency
        self.amount_mxn = amount_mxn
        self.amount_currency = amount_currency
        self.exchange_rate = exchange_rate
        # What the payment complement needs (ImpSaldoAnt, NumParcialidad), taken
        # when the invoice is reserved so a re-export gives the same figures.
        self.balance_before = balance_before
        self.instalment = instalment

    @property
    def balance_after(self):
        if self.balance_before is None:
            return None
        return self.balance_before - self.amount_currency

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        # Allocations pickled before a slot existed load with it set to None.
        for name in self.__slots__:
            setattr(self, name, state.get(name))


class InvalidTransition(Exception):
    """A payment was asked to move to a state it may not reach."""


#: Money the bank confirmed: it counts as paid (on FACTURAS and on the statements)
#: even before the ERP applies it; any other payment is only "en tránsito".
RECEIVED_STATES = frozenset({APPROVED, APPLIED})


def reference_order(reference):
    """Sort key of a payment reference: numbers in numeric order (228 before 1000), then
    any other reference alphabetically. History, exports and evolve steps all use it."""
    return (0, int(reference), '') if reference.isdigit() else (1, 0, reference)


class Payment(AccountDocument, Persistent):
    """A payment with its "Referencia de pago", bank and allocations."""

    __name__ = None
    __parent__ = None
    state = PENDING
    bank_reference = None
    bank_data = None        # verified data from the bank, a dict of strings
    history = ()            # ((utc datetime, from, to, source, note), ...)
    success_indicator = None
    exported = ()           # export ids this payment went out in
    events = ()             # bank event ids already applied (de-duplication)
    start_data = None       # what the bank's start step asked us to keep
    started = None
    paid_at = None
    expires_at = None       # a deadline of its own (SPEI: business days), else the bank's window
    transfer = None         # SPEI: the transfer that paid it, a dict of strings
    cep_state = None        # SPEI: 'pending', 'verified', 'mismatch' or 'missing'
    cep_since = None        # SPEI: when its transfer was received (the CEP is awaited since)
    cep_data = None         # SPEI: what Banxico's CEP says, a dict of strings
    cep_xml = None          # SPEI: the CEP documents, as blobs
    cep_pdf = None
    prepared_by = None      # (principal id, name) of who confirmed it
    approved_by = None      # (principal id, name) of who approved a request
    approved_at = None
    requested_mxn = None    # a request approved for less: the total that was asked for
    rejected_by = None      # (principal id, name) of who rejected a request
    rejected_at = None
    rejection_comment = ''  # why, as the approver wrote it
    complements = ()        # UUIDs of the payment complements (REP) that document it

    def __init__(self, reference, customer_rfc, bank, allocations, created):
        self.reference = str(reference)
        self.customer_rfc = customer_rfc
        self.bank = bank
        self.allocations = tuple(allocations)
        self.created = created

    @property
    def title(self):
        return f'Pago {self.reference}'

    @property
    def total_mxn(self):
        return sum((a.amount_mxn for a in self.allocations), ZERO)

    @property
    def was_requested(self):
        """Whether it began as a colleague's request waiting for an approver."""
        return bool(self.history) and self.history[0][2] == REQUESTED

    @property
    def applied_at(self):
        """When the ERP applied it (its move to ``applied``), or None."""
        for when, _before, state, *_rest in self.history:
            if state == APPLIED:
                return when
        return None

    @property
    def accounts(self):
        """The ERP accounts of the invoices this payment pays."""
        return tuple(sorted({a.account for a in self.allocations}))

    def transition(self, new_state, when, source, note=''):
        """Move to ``new_state``, recording when, why and from where."""
        if new_state == self.state:
            return False
        if new_state not in TRANSITIONS[self.state]:
            raise InvalidTransition(f'{self.state} -> {new_state}')
        self.history = self.history + ((when, self.state, new_state, source, note),)
        self.state = new_state
        return True
