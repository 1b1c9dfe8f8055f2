"""Creating the database: the empty root, and the demo data of the manual."""
import datetime
import uuid

from . import clock, passwords
from .demo_documents import add_demo_documents
from .evolve import mark_all_done
from .clock import MEXICO_CITY
from .money import to_money
from .resources import Allocation, Customer, Invoice, Payment, PortalRoot, Statement
from .resources.company_user import CAPTURA, CompanyUser
from .resources.customer import APPROVAL_ABOVE
from .resources.payment import APPROVED

DEMO_RATE = '18.8869'
_UUID_NAMESPACE = uuid.UUID('6f1c1f0e-3c2b-4e53-9d3e-2a4f6b8c0d11')


def ensure_root(zodb_root):
    """Create the portal root in a fresh database; return it either way."""
    if 'app_root' not in zodb_root:
        zodb_root['app_root'] = PortalRoot()
        mark_all_done(zodb_root['app_root'])
        # Attach it now, so code in this same transaction can ask what the storage supports.
        if getattr(zodb_root, '_p_jar', None) is not None:
            zodb_root._p_jar.add(zodb_root['app_root'])
    return zodb_root['app_root']


def mexico_time(year, month, day, hour=0, minute=0, second=0):
    """A Mexico City wall-clock time as an aware UTC datetime (what we store)."""
    local = datetime.datetime(year, month, day, hour, minute, second, tzinfo=MEXICO_CITY)
    return local.astimezone(datetime.timezone.utc)


def demo_uuid(folio):
    return str(uuid.uuid5(_UUID_NAMESPACE, str(folio))).upper()


def _invoice(folio, account, issued, due, currency, amount, balance=None):
    rate = DEMO_RATE if currency == 'USD' else None
    return Invoice(folio, account, issued, due, currency, amount, exchange_rate=rate,
                   uuid=demo_uuid(folio), balance=balance)


D = datetime.date

#: The invoices of the manual's SALDOS screen (folio, issued, due, currency, amount).
MANUAL_INVOICES = (
    ('6212976', D(2017, 10, 6), D(2017, 11, 5), 'MXN', '27794.52'),
    ('1233074', D(2017, 10, 5), D(2017, 11, 4), 'USD', '160.71'),
    ('1233075', D(2017, 10, 5), D(2017, 11, 4), 'USD', '167.34'),
    ('1233076', D(2017, 10, 5), D(2017, 11, 4), 'USD', '167.94'),
    ('1233077', D(2017, 10, 5), D(2017, 11, 4), 'USD', '167.94'),
    ('1233080', D(2017, 10, 5), D(2017, 11, 4), 'USD', '312.62'),
    ('1233081', D(2017, 10, 5), D(2017, 11, 4), 'USD', '167.34'),
    ('1232081', D(2017, 10, 4), D(2017, 11, 4), 'USD', '144.11'),
)


#: The demo's Captura user of Canon Mexicana (README "Demo sign-ins").
DEMO_CAPTURA_EMAIL = 'compras@example.com'
DEMO_CAPTURA_PASSWORD = 'Compras-Canon-2026'


def add_demo_data(root, today=None):
    """The manual's screens: Canon Mexicana's statements, invoices and payment 228,
    and a second customer for isolation checks."""
    today = today or clock.mexico_today()
    root.rates.set(D(2017, 10, 6), DEMO_RATE)
    root.rates.set(today, DEMO_RATE)

    canon = root.customers.add_customer(Customer(
        'CME930812PW3', 'Canon Mexicana SA de CV', accounts=('005300', '005301'),
        email='cuentasporpagar@example.com'))
    for statement_id, issued in (
            ('171001', mexico_time(2017, 10, 1, 13, 3, 1)),
            ('170901', mexico_time(2017, 9, 1, 17, 4, 42)),
            ('170803', mexico_time(2017, 8, 4, 17, 0, 3)),
            ('170801', mexico_time(2017, 8, 1, 17, 3, 36))):
        canon.add_statement(Statement(statement_id, '005300', issued))

    for folio, issued, due, currency, amount in MANUAL_INVOICES:
        canon.add_invoice(_invoice(folio, '005300', issued, due, currency, amount))
    # Paid invoices and a second account, so FACTURAS has every status to show.
    canon.add_invoice(_invoice('6212901', '005300', D(2017, 8, 2), D(2017, 9, 1), 'MXN', '12500.00', 0))
    canon.add_invoice(_invoice('1233001', '005300', D(2017, 8, 3), D(2017, 9, 2), 'USD', '98.40', 0))
    canon.add_invoice(_invoice('6213050', '005301', D(2017, 10, 9), D(2017, 11, 8), 'MXN', '4350.00'))

    # The manual's HISTORIAL DE PAGOS row: payment 228, 1.00 USD of 1233074 at 18.31.
    while root.payment_counter.value < 227:
        root.payment_counter.next()
    reference = root.next_payment_reference()
    paid_at = mexico_time(2017, 10, 10, 8, 34, 0)
    payment = Payment(reference, canon.rfc, 'banamex', [
        Allocation('1233074', '005300', 'USD', to_money('18.31'), to_money('1.00'), '18.3100',
                   to_money('160.71'), 1)],
        created=paid_at)
    payment.transition(APPROVED, paid_at, 'notification', 'demo data')
    payment.bank_reference = 'BC-Banamex 063197'
    payment.paid_at = paid_at
    canon.add_payment(payment)
    canon['invoices']['1233074'].reserve(reference, '1.00')

    # A colleague who prepares payments; above $10,000.00 they wait for an approver.
    canon.approval_policy, canon.approval_threshold = APPROVAL_ABOVE, to_money('10000.00')
    colleague = CompanyUser(DEMO_CAPTURA_EMAIL, 'Ana Compras', CAPTURA,
                            created=mexico_time(2017, 10, 1, 9, 0, 0))
    colleague.__name__ = 'u0demo0captura'
    colleague.invited_by = canon.name      # the main administrator: the company's name
    colleague.password_hash = passwords.hash_password(DEMO_CAPTURA_PASSWORD)
    canon.add_user(colleague)

    other = root.customers.add_customer(Customer(
        'DIS010203AB1', 'Distribuidora Ixtapa SA de CV', accounts=('007100',),
        email='pagos@example.com'))
    other.add_statement(Statement('171002', '007100', mexico_time(2017, 10, 2, 9, 15, 0)))
    other.add_invoice(_invoice('7100501', '007100', D(2017, 10, 3), D(2017, 11, 2), 'MXN', '15230.40'))
    other.add_invoice(_invoice('7100502', '007100', D(2017, 10, 7), D(2017, 11, 6), 'USD', '420.00'))
    add_demo_documents(root)
    return root
