"""The persistent tree: containers, indexes, invoices, payments, tokens and ACLs."""
import datetime
from decimal import Decimal

import pytest
import transaction
import ZODB
from BTrees.OOBTree import OOBTree
from pyramid.authorization import DENY_ALL, ACLHelper, Authenticated, Everyone
from ZODB.POSException import ConflictError

from canonportal import tokens
from canonportal.resources import (
    ACTIVE, ADMIN, AUDITOR, MXN, OPERATOR, USD, Allocation, Customer, Folder, Invoice, Payment, PortalRoot, StaffUser, Statement, customer_principal, validate_name)
from canonportal.resources.folder import numbered_keys_descending
from canonportal.resources.invoice import OPEN, OVERDUE, PAID
from canonportal.resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REVIEW, InvalidTransition)
from canonportal.resources.root import Counter, ExchangeRates
from canonportal.security import Identity, principals_for

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
D = datetime.date


class Thing:
    """A plain child for folder tests."""
    __name__ = None
    __parent__ = None


@pytest.fixture
def root():
    """A portal root with two customers, each with an invoice, a statement and a payment."""
    root = PortalRoot()
    for rfc, name in (('CME930812PW3', 'Canon Mexicana SA de CV'),
                      ('DIS010203AB1', 'Distribuidora Ixtapa SA de CV')):
        customer = root.customers.add_customer(Customer(rfc, name, accounts=('005300',)))
        customer.add_invoice(Invoice(f'F-{rfc[:3]}', '005300', D(2017, 10, 6), D(2017, 11, 5),
                                     MXN, '1000.00'))
        customer.add_statement(Statement('171001', '005300', NOW))
        customer.add_payment(Payment(root.next_payment_reference(), rfc, 'bbva', (), NOW))
    return root


# -- Folder -------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['', '.', '..', 'a/b', '/', '@@saldos', '++etc++site', None, 12])
def test_folder_refuses_names_that_cannot_be_urls_or_shadow_views(name):
    folder = Folder()
    with pytest.raises(ValueError):
        folder.add(name, Thing())
    assert len(folder) == 0 and list(folder) == []


@pytest.mark.parametrize('name', ['6212976', 'A-1233074', 'alice', 'CME930812PW3', 'ñandú'])
def test_valid_names_are_accepted_unchanged(name):
    assert validate_name(name) == name


def test_folder_add_sets_name_and_parent_and_refuses_duplicates():
    folder = Folder()
    first = folder.add('uno', Thing())
    assert first.__name__ == 'uno' and first.__parent__ is folder
    with pytest.raises(KeyError):
        folder.add('uno', Thing())
    assert folder['uno'] is first
    assert len(folder) == 1


def test_folder_length_keys_and_membership_follow_adds_and_removes():
    folder = Folder()
    for name in ('c', 'a', 'b'):
        folder.add(name, Thing())
    assert len(folder) == 3
    assert list(folder) == ['a', 'b', 'c'] == list(folder.keys())
    assert 'b' in folder and 'z' not in folder
    removed = folder.remove('b')
    assert removed.__parent__ is None
    assert len(folder) == 2 and 'b' not in folder and folder.get('b') is None
    with pytest.raises(KeyError):
        folder.remove('b')
    assert len(folder) == 2
    # The name is free again after removal.
    folder.add('b', Thing())
    assert len(folder) == 3


def test_an_empty_folder_is_still_true():
    folder = Folder()
    assert len(folder) == 0
    assert bool(folder) is True
    folder.add('x', Thing())
    folder.remove('x')
    assert bool(folder) is True


def test_folder_length_survives_a_commit_and_reload():
    db = ZODB.DB(None)
    manager = transaction.TransactionManager()
    conn = db.open(transaction_manager=manager)
    with manager:
        folder = conn.root()['f'] = Folder()
        for i in range(250):
            folder.add(str(i), Folder())
    other = db.open(transaction_manager=transaction.TransactionManager())
    reloaded = other.root()['f']
    assert len(reloaded) == 250
    assert '249' in reloaded
    db.close()


# -- Customers and their indexes ----------------------------------------------------------------

def test_rfc_lookup_ignores_case_and_spaces(root):
    canon = root.customers['CME930812PW3']
    assert root.customers.find_by_rfc('cme930812pw3') is canon
    assert root.customers.find_by_rfc('  Cme930812Pw3 ') is canon
    assert root.customers.find_by_rfc('XAXX010101000') is None
    assert root.customers.find_by_rfc('') is None and root.customers.find_by_rfc(None) is None


def test_customers_are_keyed_by_uppercase_rfc(root):
    customer = root.customers.add_customer(Customer(' aaa010101aaa ', 'Uno SA'))
    assert customer.rfc == 'AAA010101AAA'
    assert root.customers['AAA010101AAA'] is customer
    with pytest.raises(KeyError):
        root.customers.add_customer(Customer('AAA010101AAA', 'Duplicado SA'))


def test_email_index_follows_set_email_including_a_change(root):
    canon = root.customers['CME930812PW3']
    canon.pending_email = 'cxp@canon.mx'
    canon.set_email('  CxP@Canon.MX ')
    assert canon.email == 'cxp@canon.mx' and canon.pending_email is None
    assert root.customers.find_by_email('CXP@canon.mx') is canon
    canon.set_email('tesoreria@canon.mx')
    assert root.customers.find_by_email('tesoreria@canon.mx') is canon
    assert root.customers.find_by_email('cxp@canon.mx') is None
    assert list(root.customers.by_email.keys()) == ['tesoreria@canon.mx']
    assert root.customers.find_by_email('') is None


def test_changing_one_customers_email_leaves_anothers_entry_alone(root):
    canon = root.customers['CME930812PW3']
    ixtapa = root.customers['DIS010203AB1']
    canon.set_email('a@example.mx')
    ixtapa.set_email('b@example.mx')
    canon.set_email('c@example.mx')
    assert root.customers.find_by_email('b@example.mx') is ixtapa
    assert root.customers.find_by_email('a@example.mx') is None


def test_customer_children_are_traversable_and_unknown_names_are_not(root):
    canon = root.customers['CME930812PW3']
    assert canon['invoices'] is canon.invoices and canon.invoices.__parent__ is canon
    assert canon['statements']['171001'].__parent__.__parent__ is canon
    with pytest.raises(KeyError):
        canon['saldos']
    assert canon.get('nada') is None


def test_add_invoice_and_payment_keep_the_root_indexes(root):
    canon = root.customers['CME930812PW3']
    invoice = canon.add_invoice(Invoice('77', '005300', D(2017, 10, 1), D(2017, 11, 1), MXN,
                                        '10.00', serie='A', uuid='ab-cd'))
    assert invoice.key == 'A-77' and canon.invoices['A-77'] is invoice
    assert root.invoices_by_key['A-77'] is invoice
    assert root.invoices_by_uuid['AB-CD'] is invoice
    payment = canon.add_payment(Payment(root.next_payment_reference(), canon.rfc, 'bbva', (), NOW))
    assert root.payments_by_reference[payment.reference] is payment


# -- Invoice ------------------------------------------------------------------------------------

def usd_invoice(amount='160.71', balance=None):
    return Invoice('1233074', '005300', D(2017, 10, 5), D(2017, 11, 4), USD, amount,
                   exchange_rate='18.8869', balance=balance)


def test_invoice_amounts_are_decimal_and_converted_at_its_own_rate():
    invoice = usd_invoice()
    assert invoice.amount == Decimal('160.71') and invoice.exchange_rate == Decimal('18.8869')
    assert invoice.amount_mxn == Decimal('3035.31')  # 160.71 × 18.8869 = 3035.3137…
    with pytest.raises(ValueError):
        Invoice('1', '005300', None, None, USD, '1.00')
    with pytest.raises(ValueError):
        Invoice('1', '005300', None, None, 'EUR', '1.00', exchange_rate='20')


def test_reservations_reduce_what_is_left_and_never_exceed_it():
    invoice = usd_invoice('100.00')
    invoice.reserve('228', '60.00')
    assert invoice.in_transit == Decimal('60.00')
    assert invoice.left_to_pay == Decimal('40.00')
    with pytest.raises(ValueError):
        invoice.reserve('229', '40.01')
    with pytest.raises(ValueError):
        invoice.reserve('229', '0')
    with pytest.raises(ValueError):
        invoice.reserve('229', '-5')
    assert invoice.reservations == (('228', Decimal('60.00')),)
    invoice.reserve('229', '40.00')
    assert invoice.left_to_pay == Decimal('0.00')
    assert invoice.reserved_by('229') == Decimal('40.00')


def test_release_frees_only_that_payments_reservation():
    invoice = usd_invoice('100.00')
    invoice.reserve('228', '30.00')
    invoice.reserve('229', '20.00')
    invoice.release('228')
    assert invoice.reservations == (('229', Decimal('20.00')),)
    assert invoice.left_to_pay == Decimal('80.00')
    invoice.release('999')  # unknown: nothing happens
    assert invoice.left_to_pay == Decimal('80.00')


def test_invoice_status_open_overdue_paid():
    invoice = usd_invoice()
    assert invoice.status(D(2017, 11, 4)) == OPEN
    assert invoice.status(D(2017, 11, 5)) == OVERDUE
    assert usd_invoice(balance='0').status(D(2030, 1, 1)) == PAID


def test_invoice_key_uses_the_serie():
    assert usd_invoice().key == '1233074'
    assert Invoice('9', '005300', None, None, MXN, '1', serie='B').key == 'B-9'


# -- Payment ------------------------------------------------------------------------------------

def test_payment_moves_forward_and_records_its_history():
    payment = Payment('228', 'CME930812PW3', 'bbva', (
        Allocation('1233074', '005300', USD, Decimal('18.89'), Decimal('1.00'), Decimal('18.8869')),
    ), NOW)
    later = NOW + datetime.timedelta(minutes=5)
    assert payment.transition(APPROVED, later, 'bank-notification', 'ok') is True
    assert payment.transition(APPROVED, later, 'browser-return') is False  # no-op, no history
    payment.transition(APPLIED, later, 'erp')
    assert payment.state == APPLIED
    assert payment.history == (
        (later, PENDING, APPROVED, 'bank-notification', 'ok'),
        (later, APPROVED, APPLIED, 'erp', ''),
    )
    assert payment.total_mxn == Decimal('18.89')


@pytest.mark.parametrize('path, refused', [
    ((APPROVED,), PENDING),
    ((APPROVED,), DECLINED),
    ((DECLINED,), APPROVED),
    ((DECLINED,), PENDING),
    ((EXPIRED,), APPROVED),
    ((CANCELLED,), PENDING),
    ((APPROVED, APPLIED), REVIEW),
    ((APPROVED, APPLIED), DECLINED),
    ((REVIEW,), PENDING),
])
def test_payment_never_goes_backwards(path, refused):
    payment = Payment('228', 'CME930812PW3', 'bbva', (), NOW)
    for state in path:
        payment.transition(state, NOW, 'test')
    history = payment.history
    with pytest.raises(InvalidTransition):
        payment.transition(refused, NOW, 'attacker')
    assert payment.state == path[-1]
    assert payment.history == history


# -- Counter and exchange rates ------------------------------------------------------------------

def test_counter_hands_out_increasing_numbers():
    counter = Counter(227)
    assert [counter.next(), counter.next()] == [228, 229]


def test_counter_taken_twice_at_once_conflicts_instead_of_repeating_a_number():
    db = ZODB.DB(None)
    first_tm = transaction.TransactionManager()
    second_tm = transaction.TransactionManager()
    first = db.open(transaction_manager=first_tm)
    with first_tm:
        first.root()['counter'] = Counter(227)
    second = db.open(transaction_manager=second_tm)
    first_tm.begin()
    second_tm.begin()
    a = first.root()['counter'].next()
    b = second.root()['counter'].next()
    assert a == b == 228  # both read 227...
    first_tm.commit()
    with pytest.raises(ConflictError):  # ...so the second must retry
        second_tm.commit()
    second_tm.abort()
    with second_tm:
        assert second.root()['counter'].next() == 229
    db.close()


def test_latest_rate_on_or_before_a_day():
    rates = ExchangeRates()
    rates.set(D(2017, 10, 2), '18.1234')
    rates.set(D(2017, 10, 6), '18.8869')
    assert rates.latest_on_or_before(D(2017, 10, 1)) is None
    assert rates.latest_on_or_before(D(2017, 10, 2)) == (D(2017, 10, 2), Decimal('18.1234'))
    assert rates.latest_on_or_before(D(2017, 10, 5)) == (D(2017, 10, 2), Decimal('18.1234'))
    assert rates.latest_on_or_before(D(2030, 1, 1)) == (D(2017, 10, 6), Decimal('18.8869'))


# -- tokens -------------------------------------------------------------------------------------

def test_token_is_long_random_and_stored_only_as_a_hash(root):
    token = tokens.issue(root, tokens.RESET_PASSWORD, 'customer-user:CME930812PW3', NOW)
    other = tokens.issue(root, tokens.RESET_PASSWORD, 'customer-user:CME930812PW3', NOW)
    assert token != other
    assert len(token) >= 22  # at least 128 bits in url-safe base64
    stored = repr(list(root.tokens.items()))
    assert token not in stored and other not in stored
    assert all(len(key) == 64 for key in root.tokens.keys())


def test_token_works_once(root):
    token = tokens.issue(root, tokens.RESET_PASSWORD, 'customer-user:CME930812PW3', NOW)
    assert tokens.peek(root, tokens.RESET_PASSWORD, token, NOW) == ('customer-user:CME930812PW3', None)
    assert tokens.consume(root, tokens.RESET_PASSWORD, token, NOW) == ('customer-user:CME930812PW3', None)
    assert tokens.consume(root, tokens.RESET_PASSWORD, token, NOW) is None
    assert tokens.peek(root, tokens.RESET_PASSWORD, token, NOW) is None


def test_reset_token_expires_after_60_minutes(root):
    token = tokens.issue(root, tokens.RESET_PASSWORD, 'staff:alice', NOW)
    almost = NOW + datetime.timedelta(minutes=59, seconds=59)
    assert tokens.peek(root, tokens.RESET_PASSWORD, token, almost) is not None
    expired = NOW + datetime.timedelta(minutes=60)
    assert tokens.consume(root, tokens.RESET_PASSWORD, token, expired) is None


def test_token_serves_only_its_purpose_and_unknown_tokens_fail(root):
    token = tokens.issue(root, tokens.CONFIRM_EMAIL, 'customer-user:CME930812PW3', NOW, 'a@b.mx')
    assert tokens.consume(root, tokens.RESET_PASSWORD, token, NOW) is None
    assert tokens.peek(root, tokens.CONFIRM_EMAIL, token, NOW) == (
        'customer-user:CME930812PW3', 'a@b.mx')
    for bad in ('', None, 'x' * 43, token[:-1]):
        assert tokens.peek(root, tokens.CONFIRM_EMAIL, bad, NOW) is None


def test_revoke_all_drops_only_that_principals_tokens_of_that_purpose(root):
    mine = tokens.issue(root, tokens.RESET_PASSWORD, 'staff:alice', NOW)
    theirs = tokens.issue(root, tokens.RESET_PASSWORD, 'staff:bob', NOW)
    confirm = tokens.issue(root, tokens.CONFIRM_EMAIL, 'staff:alice', NOW)
    tokens.revoke_all(root, tokens.RESET_PASSWORD, 'staff:alice')
    assert tokens.peek(root, tokens.RESET_PASSWORD, mine, NOW) is None
    assert tokens.peek(root, tokens.RESET_PASSWORD, theirs, NOW) is not None
    assert tokens.peek(root, tokens.CONFIRM_EMAIL, confirm, NOW) is not None


def test_expired_tokens_are_cleaned_up_when_new_ones_are_issued(root):
    tokens.issue(root, tokens.RESET_PASSWORD, 'staff:alice', NOW)
    later = NOW + datetime.timedelta(hours=2)
    fresh = tokens.issue(root, tokens.RESET_PASSWORD, 'staff:bob', later)
    assert len(root.tokens) == 1
    assert tokens.peek(root, tokens.RESET_PASSWORD, fresh, later) == ('staff:bob', None)


# -- ACLs ---------------------------------------------------------------------------------------

def allowed(context, user, permission):
    principals = principals_for(Identity(user) if user is not None else None)
    return bool(ACLHelper().permits(context, principals, permission))


def activated(customer):
    customer.state = ACTIVE
    return customer


def everything_of(customer):
    return [customer, customer.invoices, customer.statements, customer.payments,
            *customer.invoices.values(), *customer.statements.values(),
            *customer.payments.values()]


def test_customer_may_view_and_pay_its_own_subtree_only(root):
    canon = activated(root.customers['CME930812PW3'])
    ixtapa = root.customers['DIS010203AB1']
    for resource in everything_of(canon):
        assert allowed(resource, canon, 'view') and allowed(resource, canon, 'pay')
        assert not allowed(resource, canon, 'manage')
    for resource in everything_of(ixtapa) + [root, root.customers, root.staff]:
        for permission in ('view', 'pay', 'activate', 'manage-view'):
            assert not allowed(resource, canon, permission), (resource, permission)


def test_a_person_limited_to_an_account_is_kept_out_of_the_others_documents(root):
    from canonportal.resources import customer_of
    from canonportal.resources.company_user import PAGO, CompanyUser
    canon = activated(root.customers['CME930812PW3'])
    canon.accounts = ('005300', '005301')
    own = [canon.add_invoice(Invoice('F-301', '005301', D(2017, 10, 6), D(2017, 11, 5), MXN,
                                     '500.00')),
           canon.add_statement(Statement('171002', '005301', NOW)),
           canon.add_payment(Payment(root.next_payment_reference(), canon.rfc, 'bbva', [
               Allocation('F-301', '005301', MXN, Decimal('500.00'), Decimal('500.00'), None,
                          Decimal('500.00'), 1)], NOW))]
    other = [canon.invoices['F-CME'], canon.statements['171001'],
             canon.add_payment(Payment(root.next_payment_reference(), canon.rfc, 'bbva', [
                 Allocation('F-CME', '005300', MXN, Decimal('10.00'), Decimal('10.00'), None,
                            Decimal('1000.00'), 1)], NOW))]
    mar = CompanyUser('mar@example.mx', 'Mar', PAGO, accounts=('005301',))
    mar.__name__ = 'u0mar'
    canon.add_user(mar)
    assert customer_of(mar) is mar.customer is canon
    assert all(customer_of(document) is canon for document in own + other)
    for document in own:
        assert allowed(document, mar, 'view') and allowed(document, mar, 'pay')
        assert allowed(document, canon, 'view')
    for document in other:
        assert not allowed(document, mar, 'view') and not allowed(document, mar, 'pay')
        assert allowed(document, canon, 'view')
    # A colleague of every account, and a document no customer holds, deny nobody.
    everyone = CompanyUser('eva@example.mx', 'Eva', PAGO)
    everyone.__name__ = 'u0eva'
    canon.add_user(everyone)
    assert all(allowed(document, everyone, 'view') for document in own + other)
    loose = Invoice('F-9', '005300', D(2017, 10, 6), D(2017, 11, 5), MXN, '1.00')
    assert customer_of(loose) is None and loose.__acl__ == []


def test_principals_of_an_activated_customer(root):
    canon = activated(root.customers['CME930812PW3'])
    assert set(principals_for(Identity(canon))) == {
        Everyone, Authenticated, 'customer-user:CME930812PW3', customer_principal('CME930812PW3')}


def test_customer_waiting_for_activation_may_only_activate(root):
    canon = root.customers['CME930812PW3']
    assert not canon.activated
    assert allowed(root, canon, 'activate')
    for resource in everything_of(canon) + [root, root.customers]:
        for permission in ('view', 'pay', 'manage-view'):
            assert not allowed(resource, canon, permission)


def test_anonymous_may_do_nothing_anywhere(root):
    canon = root.customers['CME930812PW3']
    for resource in everything_of(canon) + [root, root.staff]:
        for permission in ('view', 'pay', 'activate', 'manage-view', 'manage'):
            assert not allowed(resource, None, permission)


def test_staff_roles(root):
    canon = root.customers['CME930812PW3']
    invoice = next(iter(canon.invoices.values()))
    admin, operator, auditor = (StaffUser(name, role) for name, role in (
        ('ana', ADMIN), ('oscar', OPERATOR), ('aurora', AUDITOR)))
    for resource in (root, canon, invoice):
        assert allowed(resource, admin, 'manage') and allowed(resource, admin, 'view')
        assert allowed(resource, operator, 'manage') and allowed(resource, operator, 'view')
        assert allowed(resource, auditor, 'manage-view') and allowed(resource, auditor, 'view')
        assert not allowed(resource, auditor, 'manage')
        assert not allowed(resource, operator, 'pay') and not allowed(resource, auditor, 'pay')


def test_unknown_staff_role_is_refused():
    with pytest.raises(ValueError):
        StaffUser('mallory', 'superuser')


def test_root_acl_ends_with_deny_all_and_customers_grant_only_their_principals(root):
    from canonportal.resources.company_user import COMPANY_ROLES, company_role_principal
    assert root.__acl__[-1] == DENY_ALL
    canon = root.customers['CME930812PW3']
    # Its own credentials (the first administrator) and its users' roles, nobody else's.
    assert [ace[1] for ace in canon.__acl__] == [customer_principal('CME930812PW3')] + [
        company_role_principal('CME930812PW3', role) for role in COMPANY_ROLES]
    assert all('DIS010203AB1' not in ace[1] for ace in canon.__acl__)
    assert not hasattr(root.customers, '__acl__') or root.customers.__acl__ == []


# -- walking one customer's payment numbers from the newest --------------------------------------

class CountingTree:
    """A BTree that counts the lookups made of it."""

    def __init__(self, tree):
        self.tree, self.lookups = tree, 0

    def maxKey(self, bound):   # noqa: N802 - the BTree's name
        self.lookups += 1
        return self.tree.maxKey(bound)


def test_a_customers_payment_numbers_are_walked_newest_first_in_a_few_lookups():
    tree = OOBTree()
    numbers = list(range(1, 200001, 3))                # one payment in three is this customer's
    for number in numbers:
        tree[str(number)] = number
    for other in ('', 'abc', '007', '12a', '٣'):
        tree[other] = None
    counting = CountingTree(tree)
    first = []
    for key in numbered_keys_descending(counting, 200000):
        first.append(key)
        if len(first) == 20:
            break
    assert first == [str(n) for n in sorted(numbers, reverse=True)[:20]]
    assert counting.lookups < 40
    assert list(numbered_keys_descending(tree, 1000)) == [
        str(n) for n in sorted(numbers, reverse=True) if n <= 1000]
    assert list(numbered_keys_descending(tree, 0)) == []


def test_transfers_written_when_their_module_was_transfer_py_still_load(tmp_path, monkeypatch):
    """Before the module was called incoming_transfer.py, the ZODB recorded the transfers and
    their folder as ``canonportal.resources.transfer.*``; such records load (the alias)."""
    import sys
    import types

    import transaction
    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    from canonportal.resources.incoming_transfer import IncomingTransfer, Transfers
    path = str(tmp_path / 'Data.fs')
    with monkeypatch.context() as before_the_rename:
        then = types.ModuleType('canonportal.resources.transfer')
        then.IncomingTransfer, then.Transfers = IncomingTransfer, Transfers
        before_the_rename.setitem(sys.modules, then.__name__, then)
        for cls in (IncomingTransfer, Transfers):
            before_the_rename.setattr(cls, '__module__', then.__name__)
        db = DB(FileStorage(path))
        with db.transaction() as conn:
            folder = conn.root()['transfers'] = Transfers()
            folder.add_transfer(IncomingTransfer('20261129-CLAVE1-40012', {'amount': '1.00'},
                                                 None, 'camt053'))
        db.close()
    with open(path, 'rb') as records:
        written = records.read()
    assert b'canonportal.resources.transfer' in written
    assert b'canonportal.resources.incoming_transfer' not in written
    db = DB(FileStorage(path))
    try:
        with db.transaction() as conn:
            folder = conn.root()['transfers']
            assert type(folder) is Transfers
            assert type(folder['20261129-CLAVE1-40012']) is IncomingTransfer
            assert folder['20261129-CLAVE1-40012'].data == {'amount': '1.00'}
    finally:
        db.close()
        transaction.abort()
