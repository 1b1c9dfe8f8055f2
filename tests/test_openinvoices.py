"""The per-customer index of open invoices: SALDOS reads one page of it, in the scan's order."""
import datetime
from decimal import Decimal

import pytest
import transaction
from ZODB import DB

from canonportal import evolve
from canonportal.payments import selection as sel
from canonportal.bootstrap import add_demo_data
from canonportal.erp.imports import run_import
from canonportal.resources import Customer, Invoice, PortalRoot
from canonportal.resources.openinvoices import OpenInvoices
from portal_support import CANON, saldos_order, with_root
from erp_samples import balances_csv, invoice_row, invoices_csv, named_files

TODAY = datetime.date(2026, 11, 29)
NOW = datetime.datetime(2026, 11, 30, 7, 15, tzinfo=datetime.timezone.utc)
RATE = '18.8869'


def add_mixed_invoices(customer, count=60):
    """Shared and missing due dates, numeric folios of several lengths, text folios,
    series, zero balances, MXN and USD."""
    for number in range(count):
        due = None if number % 13 == 0 else TODAY + datetime.timedelta(days=number % 5)
        text = number % 4 == 0
        folio = f'F{number % 6}' if text else str(number * 37 % 1009)
        # Shared text folios are told apart by their serie, which makes the key.
        serie = ('A', 'B')[number % 2] + str(number) if text or number % 3 else ''
        usd = number % 2 == 0
        balance = '0' if number % 7 == 0 else (f'{number}.10' if number % 5 == 0 else None)
        customer.add_invoice(Invoice(folio, '005300', TODAY, due, 'USD' if usd else 'MXN',
                                     f'{100 + number}.50', exchange_rate=RATE if usd else None,
                                     serie=serie,
                                     balance=balance))


PAGES = [(0, 10), (10, 20), (0, 5), (7, 9), (60, 70), (25, 1000), (0, 10_000), (500, 600),
         (5, 3), (-4, 3)]


def listing(customer):
    """Everything SALDOS asks of the selection service, as plain values."""
    whole = [invoice.key for invoice in sel.payable_invoices(customer)]
    pages = [(start, stop, count, [invoice.key for invoice in shown])
             for start, stop in PAGES for count, shown in [sel.payable_page(customer, start, stop)]]
    positions = sel.payable_positions(customer, whole[::7] + whole[-1:] + ['nope', '6212901'])
    return whole, pages, positions


def same_as_scan(customer):
    """The index's answers, after checking they follow SALDOS' order of every invoice."""
    whole, pages, positions = listing(customer)
    assert whole == saldos_order(customer)
    assert len(set(whole)) == len(whole) == len(customer.open_invoices)
    assert positions == {key: whole.index(key) for key in whole[::7] + whole[-1:]}
    for start, stop, count, keys in pages:
        assert count == len(whole) and keys == whole[max(start, 0):max(stop, start, 0)]
    return whole


@pytest.fixture
def demo_canon():
    return add_demo_data(PortalRoot(), today=TODAY).customers[CANON]


def test_the_index_lists_what_the_scan_lists_in_the_same_order(demo_canon):
    add_mixed_invoices(demo_canon)
    whole = same_as_scan(demo_canon)
    invoices = demo_canon.invoices
    assert len(whole) == sum(1 for invoice in invoices.values() if invoice.balance > 0) > 40
    # Due date first, no due date last; then numeric folios by length, text folios first.
    dues = [invoices[key].due or datetime.date.max for key in whole]
    assert dues == sorted(dues) and invoices[whole[-1]].due is None
    assert {invoices[key].currency for key in whole} == {'MXN', 'USD'}
    assert '6212901' not in whole and '1233001' not in whole   # paid demo invoices


def test_balance_and_due_date_changes_move_invoices_in_and_out(demo_canon):
    add_mixed_invoices(demo_canon)
    paid, listed = demo_canon.invoices['6212901'], demo_canon.invoices['1233074']
    paid.set_balance('150.00')
    listed.set_balance(0)
    moved = demo_canon.invoices['6212976']
    moved.due = None
    moved.reindex()
    whole = same_as_scan(demo_canon)
    # Without due date it is last: the longest numeric folio of those without one.
    assert '6212901' in whole and '1233074' not in whole and whole[-1] == '6212976'
    assert paid.balance == Decimal('150.00')
    # Setting the same balance again writes nothing and counts nothing twice.
    count = len(demo_canon.open_invoices)
    paid.set_balance('150.00')
    assert len(demo_canon.open_invoices) == count


def test_an_invoice_in_transit_stays_listed(demo_canon):
    invoice = demo_canon.invoices['1233075']
    invoice.reserve('999', invoice.left_to_pay)
    assert '1233075' in same_as_scan(demo_canon)


def test_the_evolve_step_indexes_a_customer_from_before_the_index(demo_canon):
    add_mixed_invoices(demo_canon)
    expected = same_as_scan(demo_canon)
    del demo_canon.open_invoices            # as an older database stored it
    assert demo_canon.open_invoices is None
    demo_canon.add_invoice(Invoice('77', '005300', TODAY, TODAY, 'MXN', '10.00'))
    demo_canon.invoices['77'].set_balance('5.00')
    evolve.open_invoices_index(demo_canon.__parent__.__parent__)
    assert sorted(same_as_scan(demo_canon)) == sorted(expected + ['77'])


def test_the_index_on_its_own():
    customer = Customer('XAXX010101000', 'Prueba', ['1'])
    PortalRoot().customers.add_customer(customer)
    index = customer.open_invoices
    assert isinstance(index, OpenInvoices) and index and len(index) == 0 and index.page(0, 10) == []
    late = customer.add_invoice(Invoice('10', '1', TODAY, TODAY + datetime.timedelta(days=2), 'MXN', '1'))
    early = customer.add_invoice(Invoice('9', '1', TODAY, TODAY, 'MXN', '1'))
    customer.add_invoice(Invoice('8', '1', TODAY, TODAY, 'MXN', '1', balance='0'))
    assert list(index) == [early, late] and list(index.keys()) == ['9', '10'] and '8' not in index
    assert index.positions(['10', '8', 'x', None]) == {'10': 1}
    index.remove(early)
    index.remove('nope')
    assert list(index) == [late] and len(index) == 1


# -- the ERP changes balances and due dates ------------------------------------------------------

def erp_import(app, files):
    report = with_root(app, lambda root: run_import(root, named_files(files), 'staff:alice',
                                                    now=NOW))
    assert report.ok, report.errors
    return report


def canon_listing(app):
    return with_root(app, lambda root: same_as_scan(root.customers[CANON]))


def test_erp_balance_and_invoice_imports_keep_the_index_right(app):
    with_root(app, lambda root: add_mixed_invoices(root.customers[CANON]))
    erp_import(app, {'facturas.csv': invoices_csv(
        *[invoice_row(str(9000 + n), due=f'2026-12-{10 + n % 4:02d}') for n in range(8)],
        invoice_row('9100', serie='', due='2026-12-11', balance='0.00'))})
    before = canon_listing(app)
    assert 'A-9003' in before and '9100' not in before

    # The balances file: paid in full, paid in part, and a paid invoice reopened.
    erp_import(app, {'saldos.csv': balances_csv(
        {'RFC': CANON, 'Serie': 'A', 'Folio': '9001', 'Saldo': '0.00'},
        {'RFC': CANON, 'Serie': 'A', 'Folio': '9002', 'Saldo': '100.00'},
        {'RFC': CANON, 'Folio': '6212901', 'Saldo': '2500.00'},
        {'RFC': CANON, 'Folio': '9100', 'Saldo': '300.00'})})
    after_balances = canon_listing(app)
    assert set(after_balances) == set(before) - {'A-9001'} | {'6212901', '9100'}

    # The invoices again: a new due date moves one, a zero balance drops another.
    erp_import(app, {'facturas.csv': invoices_csv(
        invoice_row('9003', due='2027-03-01'), invoice_row('9004', balance='0.00'),
        invoice_row('9001', balance='1160.00'))})
    after_invoices = canon_listing(app)
    assert set(after_invoices) == set(after_balances) - {'A-9004'} | {'A-9001'}
    dated = [key for key in after_invoices if with_root(
        app, lambda root, key=key: root.customers[CANON].invoices[key].due) is not None]
    assert dated[-1] == 'A-9003'


# -- only the page is read ---------------------------------------------------------------------

def test_the_first_page_reads_a_few_buckets_and_no_other_invoice():
    db = DB(None)
    try:
        manager = transaction.TransactionManager(explicit=True)
        conn = db.open(transaction_manager=manager)
        with manager:
            root = conn.root()['app_root'] = add_demo_data(PortalRoot(), today=TODAY)
            customer = root.customers[CANON]
            for number in range(5000):
                customer.add_invoice(Invoice(f'8{number:06d}', '005300', TODAY,
                                             TODAY + datetime.timedelta(days=number % 97),
                                             'MXN', '100.25'))
        conn.close()
        conn = db.open(transaction_manager=transaction.TransactionManager())
        customer = conn.root()['app_root'].customers[CANON]
        assert len(customer.open_invoices) == 5009
        conn.getTransferCounts(True)
        count, shown = sel.payable_page(customer, 0, 100)
        assert count == 5009 and sum(invoice.balance for invoice in shown) > 0
        loads, _ = conn.getTransferCounts(True)
        assert loads <= 100 + 12     # the shown invoices and a few buckets of the index
        assert [invoice.key for invoice in shown] == saldos_order(customer)[:100]
        conn.close()
    finally:
        db.close()


def test_due_before_is_the_overdue_prefix_of_the_list(demo_canon):
    add_mixed_invoices(demo_canon)
    whole = saldos_order(demo_canon)
    for day in (TODAY, TODAY + datetime.timedelta(days=2), TODAY + datetime.timedelta(days=9),
                datetime.date(2000, 1, 1)):
        due_before = [invoice.key for invoice in demo_canon.open_invoices.due_before(day)]
        expected = [key for key in whole
                    if demo_canon.invoices[key].due is not None and demo_canon.invoices[key].due < day]
        assert due_before == expected == whole[:len(expected)]
