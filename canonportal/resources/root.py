"""The root of the object tree and the indexes that span customers."""
import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow

from ..money import to_rate
from .audit import AuditLog
from .customer import Customers
from .folder import Folder
from .notices import NotifyLease
from .staff import ADMIN, AUDITOR, OPERATOR, StaffFolder, role_principal
from .throttle import Throttle
from .incoming_transfer import Transfers

#: Principal of a customer that still has to register email and password.
PENDING_ACTIVATION = 'state:pending-activation'


class Counter(Persistent):
    """A plain persistent counter.

    Two transactions taking a number at once write the same object and one of
    them gets a ConflictError and is retried, so no number is handed out
    twice. (``BTrees.Length`` would merge both increments instead.)
    """

    def __init__(self, start=0):
        self.value = start

    def next(self):
        self.value += 1
        return self.value


class ExchangeRates(Persistent):
    """The dated series of USD→MXN rates (Banxico FIX, 4 decimals)."""

    def __init__(self):
        self.by_date = OOBTree()  # date.isoformat() -> Decimal

    def set(self, day, rate):
        self.by_date[day.isoformat()] = to_rate(rate)

    def latest_on_or_before(self, day):
        """Return ``(date, rate)`` of the newest rate not after ``day``, or None."""
        keys = self.by_date.keys(max=day.isoformat())
        if not keys:
            return None
        key = keys[-1]
        return datetime.date.fromisoformat(key), self.by_date[key]


class PortalRoot(Folder):
    """The application root: ``customers`` and ``staff`` plus global indexes."""

    title = 'Portal'
    review_payments = None  # databases older than the evolve step that adds it
    throttle = None         # the same, for the step 'throttle'
    cep_pending = None      # the same, for the step 'spei-transfers'
    fiscal_changes = None   # the same, for the step 'fiscal-changes'
    notify_lease = None     # the same, for the step 'mail-notices'
    complements_alert_day = None  # the Mexico City day the staff were last mailed late REPs
    complements_by_uuid = None  # the same, for the step 'payment-complements'
    complements_due = None      # the same
    __acl__ = [
        (Allow, role_principal(ADMIN), ALL_PERMISSIONS),
        (Allow, role_principal(OPERATOR), ('view', 'manage-view', 'manage')),
        (Allow, role_principal(AUDITOR), ('view', 'manage-view')),
        (Allow, PENDING_ACTIVATION, 'activate'),
        DENY_ALL,
    ]

    def __init__(self):
        super().__init__()
        self.add('customers', Customers())
        self.add('staff', StaffFolder())
        add_records_folders(self)
        self.add('transfers', Transfers())
        self.rates = ExchangeRates()
        self.payment_counter = Counter()
        self.tokens = OOBTree()            # sha256 hex -> (purpose, principal, expires, data)
        self.invoices_by_key = OOBTree()   # serie-folio -> Invoice
        self.invoices_by_uuid = OOBTree()  # CFDI UUID -> Invoice
        self.payments_by_reference = OOBTree()  # Referencia de pago -> Payment
        self.pending_payments = OOBTree()       # Referencia de pago -> Payment still pending
        self.review_payments = OOBTree()        # Referencia de pago -> Payment in review
        self.throttle = Throttle()              # account mails, unknown sign-in names
        self.cep_pending = OOBTree()            # Referencia de pago -> SPEI payment awaiting its CEP
        self.fiscal_changes = OOBTree()         # RFC -> when its fiscal data changed, until exported
        self.notify_lease = NotifyLease()       # who runs canonportal-notify now
        self.complements_by_uuid = OOBTree()    # REP UUID -> Complement (every customer's)
        self.complements_due = OOBTree()        # Referencia de pago -> Payment lacking its REP

    @property
    def customers(self):
        return self['customers']

    @property
    def staff(self):
        return self['staff']

    @property
    def transfers(self):
        """The SPEI transfers received (None before the evolve step 'spei-transfers')."""
        return self.data.get('transfers')

    @property
    def imports(self):
        return self['imports']

    @property
    def exports(self):
        return self['exports']

    @property
    def audit_log(self):
        return self['audit']

    def index_invoice(self, invoice):
        self.invoices_by_key[invoice.key] = invoice
        if invoice.uuid:
            self.invoices_by_uuid[invoice.uuid] = invoice

    def index_payment(self, payment):
        self.payments_by_reference[payment.reference] = payment

    def next_payment_reference(self):
        return str(self.payment_counter.next())

    def payments_newest_first(self):
        """Walk back the reference numbers from the newest: the payment of each, or None
        where a number has none (a reservation that never committed).

        References are numbers handed out in order, so this is the order of creation
        without sorting anything; the callers bound how far they walk.
        """
        by_reference = self.payments_by_reference
        for number in range(self.payment_counter.value, 0, -1):
            yield by_reference.get(str(number))

    def find_principal(self, principal_id):
        """Return the customer or staff user behind a session's principal id."""
        kind, _, key = (principal_id or '').partition(':')
        if kind == 'customer-user':
            return self.customers.get(key)
        if kind == 'company-user':
            rfc, _, user_id = key.partition(':')
            customer = self.customers.get(rfc)
            users = customer.users if customer is not None else None
            return users.get(user_id) if users is not None else None
        if kind == 'staff':
            return self.staff.get(key)
        return None


def add_records_folders(root):
    """The ERP imports and exports folders and the audit log (also an evolve step)."""
    for name, title in (('imports', 'Importaciones'), ('exports', 'Exportaciones')):
        if name not in root:
            folder = root.add(name, Folder())
            folder.title = title
    if 'audit' not in root:
        root.add('audit', AuditLog())


def get_root_from_connection(connection):
    """Return the portal root stored in a ZODB connection, or None."""
    return connection.root().get('app_root')
