"""The crowded database of issue 24: other customers' payments in progress, and a long history.

Does each customer page cost only what that customer has? Two databases answer it, the
generated large one and a copy of it (``crowded-N``), which adds

* ``pending`` payments in progress of *other* customers (``per_customer`` each, regular
  customers past the manifest's pool and payers): a third pending at a card bank, a third
  SPEI instructions waiting for the transfer, a third requests awaiting an approver; each
  reserves an open invoice of its customer and is in the root's ``pending_payments`` and
  its customer's ``in_progress`` (``payments.service.track_in_progress``, the one place that
  keeps both), as a payment the portal made would be;
* payments of the reference customer up to ``history`` in its HISTORIAL (each an applied
  portal payment of a paid invoice added for it), where the large database holds
  ``base_history`` (one full HISTORIAL page).

Written straight into the database like ``canonportal-generate`` (objects committed every
``batch``, the connection's cache emptied after each commit), through the resources API
so that every index stays right. Run with no server holding the database.
"""
import datetime
import random
import shutil
from decimal import Decimal

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.blob import BlobStorage

from canonportal import clock
from canonportal.bootstrap import ensure_root
from canonportal.payments.service import track_in_progress
from canonportal.resources import Allocation, Invoice, Payment
from canonportal.resources.invoice import MXN
from canonportal.resources.payment import APPLIED, APPROVED, PENDING, REQUESTED
from canonportal.scripts.generate import regular_rfc

#: The kinds of payment in progress, in turn: (bank, state).
KINDS = (('banamex', PENDING), ('spei', PENDING), ('bbva', REQUESTED))
HISTORY_SERIE = 'HIS'


class Writer:
    """A connection of its own that commits every ``batch`` objects."""

    def __init__(self, folder, batch=5000):
        self.db = DB(BlobStorage(str(folder / 'blobs'), FileStorage(str(folder / 'Data.fs'))))
        self.manager = transaction.TransactionManager(explicit=True)
        self.connection = self.db.open(transaction_manager=self.manager)
        self.batch, self.pending = batch, 0
        self.manager.begin()

    @property
    def root(self):
        return ensure_root(self.connection.root())

    def wrote(self, count=1):
        self.pending += count
        if self.pending >= self.batch:
            self.commit()

    def commit(self):
        self.manager.commit()
        self.connection.cacheMinimize()
        self.pending = 0
        self.manager.begin()

    def close(self):
        self.manager.abort()
        self.connection.close()
        self.db.close()


def copy_database(source, target):
    """A copy of the database folder ``source`` (Data.fs, its index, blobs) at ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ('Data.fs', 'Data.fs.index'):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    if (source / 'blobs').exists():
        shutil.copytree(source / 'blobs', target / 'blobs')
    else:
        (target / 'blobs').mkdir()


def add_history(writer, rfc, count, now):
    """Give customer ``rfc`` applied portal payments until its HISTORIAL holds ``count``;
    returns how many were added (none if it holds that many already)."""
    customer = writer.root.customers[rfc]
    missing = count - len(customer.history)
    rng = random.Random(f'history-{rfc}-{count}')
    account = customer.accounts[0]
    for number in range(len(customer.history), count):
        root = writer.root
        customer = root.customers[rfc]
        # Each one older than the one before: a longer history adds older pages, the first stays.
        paid_at = now - datetime.timedelta(hours=6 * (number + 1), minutes=rng.randint(0, 300))
        amount = Decimal(rng.randint(50_000, 5_000_000)).scaleb(-2)
        issued = (paid_at - datetime.timedelta(days=rng.randint(1, 29))).date()
        invoice = Invoice(f'{number + 1:08d}', account, issued, issued + datetime.timedelta(days=30),
                          MXN, amount, serie=HISTORY_SERIE, balance=0)
        customer.add_invoice(invoice)
        reference = root.next_payment_reference()
        payment = Payment(reference, rfc, rng.choice(('banamex', 'bbva')),
                          [Allocation(invoice.key, account, MXN, amount, amount, None, amount, 1)],
                          created=paid_at)
        payment.transition(APPROVED, paid_at, 'notification', 'generated')
        payment.transition(APPLIED, paid_at + datetime.timedelta(days=1), 'erp', 'generated')
        payment.paid_at = paid_at
        payment.bank_reference = f'BC-Banamex {rng.randint(0, 999999):06d}'
        customer.add_payment(payment)
        invoice.applied = ((reference, amount),)
        writer.wrote(2)
    writer.commit()
    return max(missing, 0)


def add_pending(writer, count, first_index, per_customer, now):
    """``count`` payments in progress of regular customers from ``first_index`` on,
    ``per_customer`` each, each reserving the whole of one open MXN invoice; returns
    ``(payments, customers)``."""
    made, customers, index = 0, 0, first_index
    while made < count:
        root = writer.root
        customer = root.customers.get(regular_rfc(index))
        index += 1
        if customer is None:
            raise RuntimeError(f'only {made} payments in progress: the database has too few '
                               'regular customers with open invoices')
        invoices = [invoice for invoice in customer.open_invoices
                    if invoice.currency == MXN and invoice.left_to_pay > 0][:per_customer]
        for invoice in invoices[:count - made]:
            bank, state = KINDS[made % len(KINDS)]
            created = now - datetime.timedelta(minutes=1 + made % 60)
            reference = root.next_payment_reference()
            amount = invoice.left_to_pay
            invoice.reserve(reference, amount)
            payment = Payment(reference, customer.rfc, bank, [Allocation(
                invoice.key, invoice.account, MXN, amount, amount, None, amount, 1)],
                created=created)
            payment.state = state
            payment.history = ((created, None, state, 'portal', 'created'),)
            payment.expires_at = created + datetime.timedelta(days=3 if bank == 'spei' else 2)
            if state == REQUESTED:
                payment.prepared_by = (f'company-user:{customer.rfc}:captura', 'Captura de prueba')
            customer.add_payment(payment)
            track_in_progress(root, customer, payment)
            made += 1
            writer.wrote(2)
        customers += bool(invoices)
    writer.commit()
    return made, customers


def crowd(folder, reference, first_index, pending, per_customer, history, batch=5000):
    """Add the crowd to the database in ``folder``; returns what was added."""
    writer = Writer(folder, batch)
    try:
        now = clock.utcnow()
        added_history = add_history(writer, reference, history, now)
        made, customers = add_pending(writer, pending, first_index, per_customer, now)
        return {'pending': made, 'pending_customers': customers, 'history': history,
                'history_added': added_history,
                'pending_in_root': len(writer.root.pending_payments)}
    finally:
        writer.close()


def ensure_history(folder, reference, history, batch=5000):
    """The reference customer of the database in ``folder`` holds ``history`` payments."""
    writer = Writer(folder, batch)
    try:
        return add_history(writer, reference, history, clock.utcnow())
    finally:
        writer.close()
