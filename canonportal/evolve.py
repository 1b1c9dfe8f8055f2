"""Data evolution: named steps that bring an older database up to the current code.

Each step is a function of the portal root, registered in order with
:func:`step`. The names of the steps already run are kept in the database
(``root.evolve_done``); a fresh database marks every known step done, since
it was created by the current code. ``canonportal-evolve INI [--dry-run]``
runs what is missing, each step in its own transaction.
"""
import datetime

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree

from . import audit, clock
from .resources.complement import track_due
from .resources.credentials import LoginAttempts
from .resources.customer import named_child
from .resources.folder import Folder
from .resources.notices import Notices, NotifyLease
from .resources.incoming_transfer import Transfers, legacy_note
from .resources.openinvoices import OpenInvoices
from .resources.payment_history import PaymentHistory
from .resources.payment import (
    CANCELLED, IN_PROGRESS_STATES, RELEASING_STATES, REQUESTED, REVIEW, Allocation, reference_order,
)
from .resources.root import add_records_folders
from .resources.throttle import Throttle
from .spei.credit import institution_of, transfer_key

#: (name, function) in the order they must run.
STEPS = []


def step(name):
    """Register ``function(root)`` as the evolve step called ``name``."""
    def register(function):
        if any(existing == name for existing, _ in STEPS):
            raise ValueError(f'duplicate evolve step {name!r}')
        STEPS.append((name, function))
        return function
    return register


def done_steps(root):
    """The names of the steps recorded in the database, oldest first."""
    done = getattr(root, 'evolve_done', None)
    if done is None:
        return []
    # A fresh database records every step at one time: then the steps' own order decides.
    order = {name: place for place, (name, _) in enumerate(STEPS)}
    return sorted(done.keys(), key=lambda name: (done[name], order.get(name, len(order))))


def pending_steps(root):
    done = getattr(root, 'evolve_done', None) or {}
    return [(name, function) for name, function in STEPS if name not in done]


def mark_done(root, name, when=None):
    if getattr(root, 'evolve_done', None) is None:
        root.evolve_done = OOBTree()
    root.evolve_done[name] = when or clock.utcnow()


def mark_all_done(root):
    """A database created by this code needs none of the steps."""
    now = clock.utcnow()
    for name, _ in STEPS:
        mark_done(root, name, now)


# -- the steps ------------------------------------------------------------------


@step('add-imports-exports-and-audit-log')
def add_imports_exports_and_audit_log(root):
    add_records_folders(root)


@step('allocation-complement-figures')
def allocation_complement_figures(root):
    """Older allocations lack the balance before and instalment number; work them out
    from the payment order on each invoice (the ERP re-checks them anyway).

    Only payments that kept their reservation count as instalments, as in
    :meth:`Invoice.next_instalment`: a declined, cancelled or expired payment
    gets the figures it would have had, without moving the next one's.
    """
    for customer in root.customers.values():
        ordered = sorted(customer.payments.values(),
                         key=lambda p: (p.created, reference_order(p.reference)))
        taken = {}   # invoice key -> (instalments so far, balance left after them)
        for payment in ordered:
            changed = False
            allocations = []
            for a in payment.allocations:
                count, left = taken.get(a.invoice_key, (0, None))
                if left is None:
                    invoice = customer.invoices.get(a.invoice_key)
                    left = invoice.amount if invoice is not None else a.amount_currency
                if a.balance_before is None or a.instalment is None:
                    a = Allocation(a.invoice_key, a.account, a.currency, a.amount_mxn,
                                   a.amount_currency, a.exchange_rate, left, count + 1)
                    changed = True
                allocations.append(a)
                if payment.state not in RELEASING_STATES:
                    taken[a.invoice_key] = (a.instalment, a.balance_before - a.amount_currency)
            if changed:
                payment.allocations = tuple(allocations)


@step('review-payments-index')
def review_payments_index(root):
    """The dashboard lists every payment in review from an index kept by the payment service."""
    root.review_payments = OOBTree()
    for payment in root.payments_by_reference.values():
        if payment.state == REVIEW:
            root.review_payments[payment.reference] = payment


#: The evolve steps that read every invoice write a savepoint and trim the object cache
#: after this many, so memory stays bounded on a database of a million invoices.
INVOICES_PER_SAVEPOINT = 10_000


class _MemoryBound:
    """Counts objects read in a long step; every ``every`` of them, writes a savepoint of
    what the step changed so far and lets the connection's cache drop what it read."""

    def __init__(self, obj, every=None):
        self.jar = getattr(obj, '_p_jar', None)
        self.every = every or INVOICES_PER_SAVEPOINT
        self.seen = 0

    def count(self, items):
        for item in items:
            yield item
            self.seen += 1
            if self.seen % self.every == 0 and self.jar is not None:
                self.jar.transaction_manager.get().savepoint(True)
                self.jar.cacheGC()


@step('open-invoices-index')
def open_invoices_index(root):
    """SALDOS reads one page of a customer's open invoices from a sorted index
    (:class:`~canonportal.resources.openinvoices.OpenInvoices`) instead of every invoice."""
    bound = _MemoryBound(root)
    for customer in root.customers.values():
        # Attached before it is filled, so a savepoint can write its buckets out.
        customer.open_invoices = OpenInvoices()
        customer.open_invoices.rebuild(bound.count(customer.invoices.items()))


@step('login-attempts')
def login_attempts(root):
    """Failed sign-ins are counted apart from the user, in an object that merges
    concurrent failures (many sign-ins at once on one account gave HTTP 500)."""
    users = list(root.customers.values()) + list(root.staff.values())
    for user in users:
        if getattr(user, 'login_attempts', None) is None:   # also loads the user
            user.login_attempts = LoginAttempts()
        # The old counters, read no more.
        for name in ('failed_logins', 'locked_until'):
            user.__dict__.pop(name, None)
        user._p_changed = True


@step('throttle')
def add_throttle(root):
    """Activation and reset mails are throttled per account and client address, and
    unknown sign-in names lock like real accounts."""
    if root.throttle is None:
        root.throttle = Throttle()


@step('spei-transfers')
def spei_transfers(root):
    """SPEI: every customer gets a number (its own CLABE is made from it), and the root
    a folder for the transfers received."""
    customers = root.customers
    if customers.numbers is None:
        customers.numbers = IOBTree()
    for rfc in sorted(customers.keys()):
        customers.number(customers[rfc])
    if root.transfers is None:
        root.add('transfers', Transfers())
    if root.cep_pending is None:
        root.cep_pending = OOBTree()


@step('company-users')
def company_users(root):
    """Company accounts: every customer gets a folder for its people (its own credentials,
    the RFC, stay as they are: they are the company's first administrator), and the
    customers an index of their users' emails for sign-in."""
    customers = root.customers
    if customers.user_emails is None:
        customers.user_emails = OOBTree()
    for customer in customers.values():
        if customer.users is None:
            customer.users = named_child(Folder(), 'users', customer, 'Usuarios')


@step('user-emails-on-acceptance')
def user_emails_on_acceptance(root):
    """An address is reserved for signing in when its invitation is accepted, not when it is
    sent: the index of the company users' emails forgets those who never chose a password
    (their invitation still works, and claims the address unless another company's
    invitation to it was accepted first)."""
    index = root.customers.user_emails
    if index is None:
        return
    for email, principal_id in list(index.items()):
        user = root.find_principal(principal_id)
        if user is None or user.password_hash is None:
            del index[email]


@step('spei-transfer-keys')
def spei_transfer_keys(root):
    """A transfer's key is its operation date, clave de rastreo and ordering institution
    (SPEI's identity), not the date and clave alone: each transfer is moved to its new
    key; the payment it paid and the audit log follow it."""
    transfers = root.transfers
    if transfers is None:
        return
    for record in list(transfers.values()):
        data = record.data
        key = transfer_key(datetime.date.fromisoformat(data['operation_date']),
                           data['tracking_key'],
                           institution_of(data.get('ordering_bank'), data.get('ordering_account')))
        old = record.key
        if key == old:
            continue
        transfers.rekey(record, transfers.free_key(key))
        payment = root.payments_by_reference.get(record.payment_reference or '')
        if payment is not None:
            payment.events = tuple(record.key if event == old else event
                                   for event in payment.events)
        audit.record(root, 'console:canonportal-evolve', 'spei.rekeyed', record, old, record.key,
                     'key: operation date, clave de rastreo and ordering institution')


@step('invited-by-names')
def invited_by_names(root):
    """"Invitado por" names a person: invitations the demo data (or a principal id) signed
    with the company's RFC or an id name the company, or the colleague who invited."""
    for customer in root.customers.values():
        if customer.users is None:
            continue
        for user in customer.users.values():
            name = inviter_name(root, customer, user.invited_by or '')
            if name is not None and name != user.invited_by:
                user.invited_by = name


def inviter_name(root, customer, recorded):
    """The person's name for an "invited by" recorded as the RFC or a principal id, or None
    when it is a name already."""
    if recorded.upper() == customer.rfc:
        return customer.name
    kind, _, key = recorded.partition(':')
    if kind == 'customer':                      # the audit log's spelling of the RFC's actor
        recorded = f'customer-user:{key}'
    elif kind not in ('customer-user', 'company-user', 'staff'):
        return None
    person = root.find_principal(recorded)
    if person is None:
        return customer.name
    return getattr(person, 'name', None) or getattr(person, 'username', None) or customer.name


@step('request-decisions')
def request_decisions(root):
    """Who rejected a colleague's request, when and why, kept on the payment (its page and
    the preparer's mail read them): read back from the transition the rejection recorded,
    ``rejected by NAME: COMMENT``."""
    prefix = 'rejected by '
    for payment in root.payments_by_reference.values():
        if payment.rejected_by or not payment.was_requested:
            continue
        for when, before, state, _source, note in payment.history:
            if before == REQUESTED and state == CANCELLED and note.startswith(prefix):
                name, _sep, comment = note[len(prefix):].partition(': ')
                payment.rejected_by = ('', name)
                payment.rejected_at = when
                payment.rejection_comment = comment
                break


@step('transfer-note-codes')
def transfer_note_codes(root):
    """A received transfer says why it is where it is with a code and its values, which
    staff read in their language: the English notes of older records become codes (an
    operator's comment stays as written)."""
    transfers = getattr(root, 'transfers', None)
    if transfers is None:
        return
    for record in transfers.values():
        found = legacy_note(record.note, record.payment_reference)
        if found is not None:
            record.note, data = found
            record.note_data = dict(data)
        history = []
        for when, before, state, actor, note in record.history:
            legacy = legacy_note(note, record.payment_reference)
            history.append((when, before, state, actor, legacy[0] if legacy else note))
        if tuple(history) != tuple(record.history):
            record.history = tuple(history)


@step('payments-in-progress')
def payments_in_progress(root):
    """Each customer keeps its own index of payments in progress (pending at a bank, a SPEI
    transfer awaited, a request awaiting approval), so its pages never read every
    customer's: built from the root's ``pending_payments``, which lists them all."""
    for customer in root.customers.values():
        if customer.in_progress is None:
            customer.in_progress = OOBTree()
    for reference, payment in root.pending_payments.items():
        if payment.state not in IN_PROGRESS_STATES:
            continue
        customer = root.customers.get(payment.customer_rfc)
        if customer is not None:
            customer.in_progress[reference] = payment


@step('payment-history')
def payment_history(root):
    """Each customer keeps HISTORIAL DE PAGOS' index of its payments, newest first, so a page
    loads only the payments it shows (``resources.payment_history``)."""
    for customer in root.customers.values():
        if customer.history is None:
            customer.history = PaymentHistory()
        for payment in customer.payments.values():
            customer.history.track(payment)


@step('fiscal-changes')
def fiscal_changes(root):
    """The root notes which companies changed their fiscal data (DATOS FISCALES) since an
    export last carried it, for the staff's pending changes and the ERP's fiscal export."""
    if root.fiscal_changes is None:
        root.fiscal_changes = OOBTree()
    for customer in root.customers.values():
        if customer.fiscal_pending:
            root.fiscal_changes[customer.rfc] = customer.fiscal_changed


@step('mail-notices')
def mail_notices(root):
    """canonportal-notify's records: each customer's reminders and statements mailed
    (``resources.notices.Notices``) and the root's lease of the one notifier at a time."""
    for customer in root.customers.values():
        if customer.notices is None:
            customer.notices = Notices()
    if getattr(root, 'notify_lease', None) is None:
        root.notify_lease = NotifyLease()


@step('payment-complements')
def payment_complements(root):
    """Payment complements (REP): the root's index by UUID, each customer's folder of them and
    the index of the received payments that still lack one (``resources.complement``)."""
    if root.complements_by_uuid is None:
        root.complements_by_uuid = OOBTree()
    if root.complements_due is None:
        root.complements_due = OOBTree()
    for customer in root.customers.values():
        if customer.complements is None:
            customer.complements = named_child(Folder(), 'complements', customer,
                                               'Complementos de pago')
        for payment in customer.payments.values():
            track_due(customer, payment)


@step('payment-history-tally')
def payment_history_tally(root):
    """HISTORIAL's index counts its entries, lines and amounts per state as it goes, so the
    unfiltered page counts and totals without walking every entry: counted once here."""
    for customer in root.customers.values():
        if customer.history is not None and customer.history.tally is None:
            customer.history.count_all()
