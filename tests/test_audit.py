"""The audit log: append-only, filterable, and fed by payment transitions and staff sign-ins."""
import datetime
from decimal import Decimal

import pytest
import transaction
import ZODB

from canonportal import gateways as gw
from canonportal.payments import service as payments
from canonportal.resources import Allocation, Customer, Invoice, Payment, PortalRoot
from canonportal.resources.audit import AuditLog
from canonportal.resources.payment import (
    APPLIED, APPROVED, DECLINED, PENDING, REFUND_NEEDED, REVIEW, InvalidTransition)
from portal_support import GOOD_PASSWORD, Client, add_staff_user, with_root

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
D = datetime.date


def test_entries_cannot_be_changed_or_deleted():
    log = AuditLog()
    entry = log.append(NOW, 'staff:alice', 'customer.disable', '/customers/X', 'enabled', 'disabled')
    with pytest.raises(AttributeError):
        entry.after = 'enabled'
    with pytest.raises(AttributeError):
        del entry.actor
    assert not hasattr(log, 'remove') and not hasattr(log, '__delitem__')
    assert (entry.actor, entry.before, entry.after) == ('staff:alice', 'enabled', 'disabled')


def test_entries_come_newest_first_and_filter_by_actor_action_target_and_time():
    log = AuditLog()
    log.append(NOW, 'staff:alice', 'customer.unlock', '/customers/A')
    log.append(NOW + datetime.timedelta(minutes=1), 'staff:bob', 'payment.transition',
               '/customers/A/payments/229', 'review', 'approved')
    log.append(NOW + datetime.timedelta(days=1), 'staff:alice', 'customer.disable', '/customers/B')
    assert len(log) == 3
    assert [e.action for e in log.newest_first()] == [
        'customer.disable', 'payment.transition', 'customer.unlock']
    assert [e.target for e in log.search(actor='staff:alice')] == ['/customers/B', '/customers/A']
    assert [e.actor for e in log.search(target='/customers/A')] == ['staff:bob', 'staff:alice']
    assert [e.action for e in log.search(action='payment.transition')] == ['payment.transition']
    day = list(log.search(since=NOW, until=NOW + datetime.timedelta(hours=1)))
    assert [e.action for e in day] == ['payment.transition', 'customer.unlock']


def test_two_processes_appending_at_once_both_commit_without_conflict(tmp_path):
    db = ZODB.DB(str(tmp_path / 'Data.fs'))  # a storage that resolves conflicts, as in production
    first_tm, second_tm = transaction.TransactionManager(), transaction.TransactionManager()
    first, second = db.open(transaction_manager=first_tm), db.open(transaction_manager=second_tm)
    first_tm.begin()
    first.root()['log'] = AuditLog()
    first_tm.commit()
    second_tm.begin()
    first_tm.begin()
    first.root()['log'].append(NOW, 'staff:alice', 'a', '/x')
    second.root()['log'].append(NOW + datetime.timedelta(seconds=1), 'staff:bob', 'b', '/y')
    first_tm.commit()
    second_tm.commit()  # BTree conflict resolution merges the two inserts
    reader = db.open(transaction_manager=transaction.TransactionManager())
    assert sorted(e.actor for e in reader.root()['log'].newest_first()) == ['staff:alice', 'staff:bob']
    assert len(reader.root()['log']) == 2
    db.close()



def test_appends_to_a_log_that_already_has_entries_merge_too(tmp_path):
    """BTrees merge two appends to one bucket only if the entries both kept compare as
    equal; entries could not be ordered, so every pair of sign-ins or payments recording at
    once conflicted (issue 20: "gave up after conflicts" on POST /login)."""
    db = ZODB.DB(str(tmp_path / 'Data.fs'))
    with db.transaction() as conn:
        conn.root()['log'] = log = AuditLog()
        for minute in range(10):
            log.append(NOW + datetime.timedelta(minutes=minute), 'staff:alice', 'a', '/x')
    managers = [transaction.TransactionManager(), transaction.TransactionManager()]
    logs = [db.open(transaction_manager=tm).root()['log'] for tm in managers]
    later = NOW + datetime.timedelta(hours=1)
    logs[0].append(later, 'customer:AAA000101GN9', 'company.login', '/customers/AAA000101GN9')
    logs[1].append(later, 'customer:AAA000102GN5', 'company.login', '/customers/AAA000102GN5')
    managers[0].commit()
    managers[1].commit()                # a ConflictError before
    with db.transaction() as conn:
        log = conn.root()['log']
        assert len(log) == 12
        assert sorted(e.actor for e in log.search(action='company.login')) == [
            'customer:AAA000101GN9', 'customer:AAA000102GN5']
    db.close()

# -- payment transitions -------------------------------------------------------------------------

@pytest.fixture
def tree():
    root = PortalRoot()
    customer = root.customers.add_customer(Customer('CME930812PW3', 'Canon Mexicana SA de CV',
                                                    accounts=('005300',)))
    customer.add_invoice(Invoice('6212976', '005300', D(2017, 10, 6), D(2017, 11, 5), 'MXN',
                                 '27794.52'))
    return root


def pending_payment(root, amount='1000.00'):
    customer = root.customers['CME930812PW3']
    invoice = customer.invoices['6212976']
    reference = root.next_payment_reference()
    invoice.reserve(reference, amount)
    payment = Payment(reference, customer.rfc, 'bbva', [
        Allocation('6212976', '005300', 'MXN', Decimal(amount), Decimal(amount),
                   balance_before=invoice.balance, instalment=1)], created=NOW)
    customer.add_payment(payment)
    root.pending_payments[reference] = payment
    return payment, invoice


def bank_says(payment, outcome, amount=None):
    return gw.BankResult(bank='bbva', reference=payment.reference, outcome=outcome,
                         amount=amount if amount is not None else payment.total_mxn,
                         currency='MXN', authorization='123456', bank_reference='BBVA-1',
                         event_id=f'{outcome}-{amount}', verified=True, source='notification')


def test_every_payment_transition_is_in_the_audit_log(tree):
    payment, _ = pending_payment(tree)
    payments.settle(tree, payment, bank_says(payment, gw.APPROVED), NOW)
    payments.apply_from_erp(payment, NOW, 'console:canonportal-import')
    entries = list(tree.audit_log.search(target=f'/customers/CME930812PW3/payments/{payment.reference}'))
    assert [(e.actor, e.before, e.after) for e in entries] == [
        ('console:canonportal-import', APPROVED, APPLIED),
        ('bank:bbva', PENDING, APPROVED),
    ]


def test_resolving_a_review_needs_a_comment_and_is_recorded(tree):
    payment, invoice = pending_payment(tree)
    payments.settle(tree, payment, bank_says(payment, gw.APPROVED, Decimal('999.99')), NOW)
    assert payment.state == REVIEW and invoice.in_transit == Decimal('1000.00')
    assert list(tree.review_payments) == [payment.reference]
    entries, history = len(tree.audit_log), payment.history
    with pytest.raises(ValueError):
        payments.resolve_review(payment, APPROVED, '  ', 'staff:alice', NOW)
    assert payment.state == REVIEW and payment.history == history
    assert list(tree.review_payments) == [payment.reference]
    assert invoice.in_transit == Decimal('1000.00') and len(tree.audit_log) == entries
    payments.resolve_review(payment, REFUND_NEEDED, 'Banco cobró 999.99; se devuelve', 'staff:alice', NOW)
    assert payment.state == REFUND_NEEDED
    assert list(tree.review_payments) == []
    assert invoice.in_transit == 0 and invoice.left_to_pay == invoice.balance
    latest = next(tree.audit_log.newest_first())
    assert (latest.actor, latest.before, latest.after) == ('staff:alice', REVIEW, REFUND_NEEDED)
    assert 'se devuelve' in latest.note
    entries = len(tree.audit_log)
    with pytest.raises(InvalidTransition):
        payments.resolve_review(payment, APPROVED, 'otra vez', 'staff:alice', NOW)
    assert payment.state == REFUND_NEEDED and len(tree.audit_log) == entries
    assert invoice.in_transit == 0


def test_approving_a_review_keeps_the_invoice_in_transit_and_declining_releases_it(tree):
    payment, invoice = pending_payment(tree)
    payments.settle(tree, payment, bank_says(payment, gw.APPROVED, Decimal('1.00')), NOW)
    payments.resolve_review(payment, APPROVED, 'El banco confirmó por teléfono', 'staff:alice', NOW)
    assert payment.state == APPROVED and invoice.in_transit == Decimal('1000.00')

    other, _ = pending_payment(tree, '500.00')
    payments.settle(tree, other, bank_says(other, gw.APPROVED, Decimal('1.00')), NOW)
    payments.resolve_review(other, DECLINED, 'No hubo cargo', 'staff:alice', NOW)
    assert invoice.in_transit == Decimal('1000.00')


def test_the_erp_applying_a_payment_clears_its_transit_and_records_it_on_the_invoice(tree):
    payment, invoice = pending_payment(tree)
    payments.settle(tree, payment, bank_says(payment, gw.APPROVED), NOW)
    invoice.balance = invoice.balance - Decimal('1000.00')  # what the ERP's balance says now
    payments.apply_from_erp(payment, NOW, 'staff:alice')
    assert payment.state == APPLIED
    assert invoice.in_transit == 0 and invoice.applied == ((payment.reference, Decimal('1000.00')),)
    assert invoice.left_to_pay == Decimal('26794.52')
    payments.apply_from_erp(payment, NOW, 'staff:alice')  # a re-import changes nothing
    assert invoice.applied == ((payment.reference, Decimal('1000.00')),)
    unpaid, _ = pending_payment(tree, '10.00')
    with pytest.raises(InvalidTransition):
        payments.apply_from_erp(unpaid, NOW, 'staff:alice')


def test_a_new_payment_takes_the_next_instalment_and_the_balance_left(tree):
    first, invoice = pending_payment(tree)
    assert invoice.next_instalment() == 2
    assert invoice.left_to_pay == Decimal('26794.52')


# -- staff sign-ins ------------------------------------------------------------------------------

def test_staff_sign_ins_and_failed_attempts_are_in_the_audit_log(app):
    add_staff_user(app, 'alice', role='operator')
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    client.login('alice', 'not the password')
    client.login('alice', GOOD_PASSWORD)
    client.post('/logout', {'csrf_token': client.csrf('/manage')})

    def read(root):
        return [(e.actor, e.action, e.after) for e in root.audit_log.search(target='/staff/alice')]
    assert with_root(app, read) == [
        ('staff:alice', 'staff.logout', ''),
        ('staff:alice', 'staff.login', 'ok'),
        ('staff:alice', 'staff.login', 'bad-credentials'),
    ]
