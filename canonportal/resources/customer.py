"""Customers: the RFC-identified companies that sign in and pay."""
from functools import lru_cache

from BTrees.OOBTree import OOBTree
from pyramid.authorization import Allow
from pyramid.traversal import find_root
from zope.interface import implementer

from .complement import track_due
from .company_user import COMPANY_ROLES, ROLE_PERMISSIONS, ADMINISTRADOR, company_role_principal
from .credentials import Credentials, LoginAttempts
from .folder import Folder
from .interfaces import ICustomer
from .notices import Notices
from .openinvoices import OpenInvoices
from .payment import IN_PROGRESS_STATES
from .payment_history import PaymentHistory

#: Sign-in states of a customer.
NEW = 'new'          # never signed in: user and password are the RFC
ACTIVE = 'active'    # has chosen a password


def customer_principal(rfc):
    """The principal that a signed-in, activated customer carries."""
    return f'customer:{rfc}'


class Customers(Folder):
    """All customers, keyed by RFC, with an index of confirmed emails."""

    title = 'Clientes'

    numbers = None       # None until the evolve step 'spei-transfers'
    user_emails = None   # None until the evolve step 'company-users'

    def __init__(self):
        super().__init__()
        from BTrees.IOBTree import IOBTree
        from BTrees.OOBTree import OOBTree
        self.by_email = OOBTree()
        self.numbers = IOBTree()      # customer number -> RFC
        self.user_emails = OOBTree()  # a company user's email -> its principal id

    def add_customer(self, customer):
        self.add(customer.rfc, customer)
        self.number(customer)
        return customer

    def number(self, customer):
        """Give ``customer`` the next customer number (its SPEI CLABE is made from it)."""
        if customer.number is None:
            customer.number = (self.numbers.maxKey() + 1) if self.numbers else 1
            self.numbers[customer.number] = customer.rfc
        return customer.number

    def may_claim_email(self, user):
        """Whether ``user``'s email is free for it: nobody signs in with it, or it does."""
        held = self.user_emails.get(user.email)
        return held is None or held == user.principal_id

    def claim_email(self, user):
        """Reserve ``user``'s email for its sign-in: when its invitation is accepted, never
        before, so no company's invitation blocks or reveals another's people. The first
        acceptance wins; returns False (and changes nothing) for the later ones."""
        if not self.may_claim_email(user):
            return False
        if self.user_emails.get(user.email) is None:
            self.user_emails[user.email] = user.principal_id
        return True

    def find_user_by_email(self, email):
        """The company user signing in with ``email`` (an accepted invitation), or None."""
        principal = self.user_emails.get((email or '').strip().lower()) if self.user_emails else None
        if not principal:
            return None
        _kind, rfc, user_id = principal.split(':', 2)
        customer = self.get(rfc)
        users = customer.users if customer is not None else None
        return users.get(user_id) if users is not None else None

    def find_by_number(self, number):
        rfc = self.numbers.get(number) if self.numbers is not None else None
        return self.get(rfc) if rfc else None

    def find_by_rfc(self, rfc):
        return self.get((rfc or '').strip().upper())

    def find_by_email(self, email):
        rfc = self.by_email.get((email or '').strip().lower())
        return self.get(rfc) if rfc else None

    def index_email(self, customer, old_email=None):
        if old_email and self.by_email.get(old_email) == customer.rfc:
            del self.by_email[old_email]
        if customer.email:
            self.by_email[customer.email] = customer.rfc


#: Whether payments a Captura user prepares wait for an approver (``Customer.approval_policy``).
APPROVAL_NEVER = 'never'
APPROVAL_ALWAYS = 'always'
APPROVAL_ABOVE = 'above'                # above the customer's approval_threshold (MXN)
APPROVAL_POLICIES = (APPROVAL_NEVER, APPROVAL_ALWAYS, APPROVAL_ABOVE)


@implementer(ICustomer)
class Customer(Credentials):
    """A company with an RFC, one or more ERP accounts and its documents.

    Its subtree holds ``invoices``, ``statements`` and ``payments``; the ACL
    grants only this customer's principal, so one customer never reaches
    another's objects.
    """

    __name__ = None
    __parent__ = None
    state = NEW
    email = None              # confirmed contact email, lowercase
    pending_email = None      # registered but not yet confirmed
    open_invoices = None      # OpenInvoices; None until evolve step 'open-invoices-index'
    in_progress = None        # reference -> Payment in progress; None until 'payments-in-progress'
    history = None            # PaymentHistory (HISTORIAL's index); None until 'payment-history'
    number = None             # 1, 2, …: the customer's own SPEI CLABE is made from it
    users = None              # Folder of CompanyUser; None until evolve step 'company-users'
    complements = None        # Folder of Complement (REP) by UUID; None until 'payment-complements'
    last_sign_in = None
    #: The customer's own credentials (the RFC) are the company's first administrator.
    role = ADMINISTRADOR
    accounts_limit = ()
    #: Payments prepared by a Captura user need an approver: never, always or above
    #: ``approval_threshold`` MXN (its administrators choose; see APPROVAL_POLICIES).
    approval_policy = APPROVAL_NEVER
    approval_threshold = None
    #: Fiscal data its administrators keep (DATOS FISCALES) for the CFDIs stamped to it:
    #: the razón social as in the Constancia de Situación Fiscal, c_RegimenFiscal,
    #: the fiscal address's código postal, c_UsoCFDI; the Constancia's PDF (a blob) and
    #: when it was uploaded; when the data last changed and when the ERP export last
    #: carried it (pending while ``fiscal_changed`` is later than ``fiscal_exported``).
    fiscal_name = None
    fiscal_regime = None
    fiscal_zip = None
    cfdi_use = None
    fiscal_constancia = None
    fiscal_constancia_uploaded = None
    fiscal_constancia_sha256 = None
    fiscal_changed = None
    fiscal_exported = None
    #: The company's default for the portal's mails ({kind: bool}; its administrators
    #: choose), what was mailed (``notices.Notices``; None until the evolve step
    #: 'mail-notices'), and staff's switch that stops its due-date reminders.
    mail_defaults = None
    notices = None
    reminders_off = False

    def __init__(self, rfc, name, accounts=(), email=None):
        self.rfc = rfc.strip().upper()
        self.name = name
        self.accounts = tuple(accounts)
        self.contact_email = email  # as given by the ERP; not used to sign in
        self.invoices = named_child(Folder(), 'invoices', self, 'Facturas')
        self.statements = named_child(Folder(), 'statements', self, 'Estados de cuenta')
        self.payments = named_child(Folder(), 'payments', self, 'Pagos')
        self.open_invoices = OpenInvoices()
        self.in_progress = OOBTree()
        self.history = PaymentHistory()
        self.login_attempts = LoginAttempts()
        self.users = named_child(Folder(), 'users', self, 'Usuarios')
        self.notices = Notices()
        self.complements = named_child(Folder(), 'complements', self, 'Complementos de pago')

    @property
    def title(self):
        return f'{self.rfc} — {self.name}'

    @property
    def display_name(self):
        """How the portal names the company's own credentials (its main administrator) to
        people: the company's name, never the RFC."""
        return self.name or self.rfc

    @property
    def principal_id(self):
        return f'customer-user:{self.rfc}'

    @property
    def __acl__(self):
        return customer_acl(self.rfc)

    @property
    def activated(self):
        return self.state == ACTIVE

    def __getitem__(self, name):
        child = {'invoices': self.invoices, 'statements': self.statements,
                 'payments': self.payments, 'users': self.users,
                 'complements': self.complements}.get(name)
        if child is None:
            raise KeyError(name)
        return child

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def add_invoice(self, invoice):
        """Add an invoice to this customer and to the root's indexes."""
        self.invoices.add(invoice.key, invoice)
        find_root(self).index_invoice(invoice)
        self.invoice_changed(invoice)
        return invoice

    def invoice_changed(self, invoice):
        """Keep the open-invoices list current after ``invoice``'s balance or due date
        changed (see :meth:`Invoice.reindex`)."""
        if self.open_invoices is not None:
            self.open_invoices.update(invoice)

    def add_statement(self, statement):
        self.statements.add(statement.statement_id, statement)
        return statement

    def needs_approval(self, total_mxn):
        """Whether a payment of ``total_mxn`` prepared by a Captura user waits for an approver."""
        if self.approval_policy == APPROVAL_ALWAYS:
            return True
        return (self.approval_policy == APPROVAL_ABOVE and self.approval_threshold is not None
                and total_mxn > self.approval_threshold)

    @property
    def fiscal_pending(self):
        """Whether the fiscal data changed since the ERP export last carried it."""
        return self.fiscal_changed is not None and (
            self.fiscal_exported is None or self.fiscal_exported < self.fiscal_changed)

    def add_user(self, user):
        """Add a company user. An invited one signs in with its email only once it accepted
        (:meth:`Customers.claim_email`); one added with a password already (the demo's)
        claims its email here, and may not take one another person signs in with."""
        customers = self.__parent__
        if user.password_hash is not None and customers.user_emails.get(user.email):
            raise ValueError(f'{user.email} already signs in')
        self.users.add(user.__name__, user)
        if user.password_hash is not None:
            customers.claim_email(user)
        return user

    def user_with_email(self, email):
        """This company's person (invited or accepted) with ``email``, or None."""
        email = (email or '').strip().lower()
        users = self.users.values() if self.users is not None else ()
        return next((user for user in users if user.email == email), None)

    def people(self):
        """Everyone who signs in for this company: its own credentials, then its users."""
        return [self] + (list(self.users.values()) if self.users is not None else [])

    def end_company_sessions(self):
        """End every session of the company's people (a cookie copied before staff disabled
        the company stays dead after it is enabled again)."""
        for person in self.people():
            person.end_other_sessions()

    def add_payment(self, payment):
        self.payments.add(payment.reference, payment)
        find_root(self).index_payment(payment)
        if self.history is not None:
            self.history.track(payment)
        track_due(self, payment)
        return payment

    def track_payment(self, payment):
        """Keep ``payment`` in :attr:`in_progress` while its state is in progress (pending at
        a bank, a transfer awaited, a request awaiting approval) and out of it after. Only
        the customer's pages read this small index: never every customer's payments.
        Its entry in :attr:`history` follows the payment's state and date too."""
        if self.history is not None:
            self.history.track(payment)
        track_due(self, payment)
        if self.in_progress is None:
            return
        if payment.state in IN_PROGRESS_STATES:
            if self.in_progress.get(payment.reference) is not payment:
                self.in_progress[payment.reference] = payment
        elif payment.reference in self.in_progress:
            del self.in_progress[payment.reference]

    def payments_in_progress(self):
        """The customer's payments in progress, from its own index (an empty list before the
        evolve step 'payments-in-progress')."""
        return list(self.in_progress.values()) if self.in_progress is not None else []

    def set_email(self, email):
        """Make ``email`` the confirmed contact address and index it."""
        old = self.email
        self.email = email.strip().lower()
        self.pending_email = None
        self.__parent__.index_email(self, old)


@lru_cache(maxsize=4096)
def customer_acl(rfc):
    """The ACL of the customer ``rfc``: its credentials administer it, each company role has
    its permissions. It depends on the RFC alone, so it is worked out once per RFC (a page
    asks it for each permission it checks), as a tuple nobody can change."""
    return ((Allow, customer_principal(rfc), ROLE_PERMISSIONS[ADMINISTRADOR]),) + tuple(
        (Allow, company_role_principal(rfc, role), ROLE_PERMISSIONS[role]) for role in COMPANY_ROLES)


def named_child(folder, name, parent, title):
    """``folder`` placed in ``parent`` as ``name``, titled ``title`` (a customer's own folders;
    the evolve steps that add one to an older customer too)."""
    folder.__name__ = name
    folder.__parent__ = parent
    folder.title = title
    return folder
