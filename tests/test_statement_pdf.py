"""The statement computation and PDF rendering, without Pyramid: periods, ledger, aging."""
import datetime
import io
from decimal import Decimal

import pytest
import transaction
from pypdf import PdfReader
from ZODB import DB
from ZODB.MappingStorage import MappingStorage

from canonportal.bootstrap import add_demo_data, ensure_root, mexico_time
from canonportal.reports import statement_data as sd
from canonportal.reports import statement_pdf as sp
from canonportal.resources import Allocation, Payment, Statement
from canonportal.resources.payment import APPROVED, APPLIED, DECLINED

D = datetime.date
NOW = mexico_time(2017, 11, 15, 12, 0, 0)


@pytest.fixture
def root():
    db = DB(MappingStorage())
    manager = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=manager)
    manager.begin()
    root = ensure_root(conn.root())
    add_demo_data(root, today=D(2026, 11, 29))
    yield root
    manager.abort()
    conn.close()
    db.close()


@pytest.fixture
def demo_canon(root):
    return root.customers['CME930812PW3']


# --- aging buckets -----------------------------------------------------------

@pytest.mark.parametrize('days_late, bucket', [
    (-10, sd.CURRENT), (0, sd.CURRENT), (1, sd.DAYS_1_30), (30, sd.DAYS_1_30),
    (31, sd.DAYS_31_60), (60, sd.DAYS_31_60), (61, sd.DAYS_61_90), (90, sd.DAYS_61_90),
    (91, sd.OVER_90), (400, sd.OVER_90),
])
def test_aging_bucket_boundaries(days_late, bucket):
    as_of = D(2017, 12, 31)
    assert sd.aging_bucket(as_of - datetime.timedelta(days=days_late), as_of) == bucket


def test_no_due_date_is_current():
    assert sd.aging_bucket(None, D(2017, 12, 31)) == sd.CURRENT


def test_aging_keeps_currencies_apart():
    as_of = D(2017, 12, 31)
    aging = sd.compute_aging([
        ('USD', D(2017, 12, 1), Decimal('100.00')),     # 30 days late
        ('MXN', D(2018, 1, 15), Decimal('27794.52')),   # not yet due
        ('MXN', D(2017, 11, 30), Decimal('1000.005')),  # 31 days late, rounds half up
        ('USD', D(2017, 9, 1), Decimal('160.71')),      # 121 days late
        ('MXN', D(2017, 10, 1), Decimal('500.00')),     # 91 days late
        ('USD', D(2017, 10, 15), Decimal('0.00')),      # paid: left out
        ('MXN', D(2017, 10, 15), Decimal('-5.00')),     # overpaid: left out
    ], as_of)
    assert list(aging) == ['MXN', 'USD']
    assert aging['MXN'] == {sd.CURRENT: Decimal('27794.52'), sd.DAYS_1_30: Decimal('0.00'),
                            sd.DAYS_31_60: Decimal('1000.01'), sd.DAYS_61_90: Decimal('0.00'),
                            sd.OVER_90: Decimal('500.00'), 'total': Decimal('29294.53')}
    assert aging['USD'] == {sd.CURRENT: Decimal('0.00'), sd.DAYS_1_30: Decimal('100.00'),
                            sd.DAYS_31_60: Decimal('0.00'), sd.DAYS_61_90: Decimal('0.00'),
                            sd.OVER_90: Decimal('160.71'), 'total': Decimal('260.71')}


def test_aging_of_a_single_currency_has_no_other():
    aging = sd.compute_aging([('USD', D(2017, 11, 4), Decimal('1.00'))], D(2017, 11, 4))
    assert list(aging) == ['USD'] and aging['USD'][sd.CURRENT] == Decimal('1.00')
    assert sd.compute_aging([], D(2017, 11, 4)) == {}


# --- periods -----------------------------------------------------------------

def test_default_period_is_the_month_before_the_issue_date():
    assert sd.statement_period(Statement('171001', '005300', mexico_time(2017, 10, 1, 13, 3, 1))) \
        == (D(2017, 9, 1), D(2017, 9, 30))
    # Mexico City date, not UTC: 31 Dec 2017 at 8 p.m. is already 1 Jan 2018 in UTC.
    assert sd.statement_period(Statement('171231', '005300', mexico_time(2017, 12, 31, 20))) \
        == (D(2017, 11, 1), D(2017, 11, 30))
    assert sd.statement_period(Statement('180101', '005300', mexico_time(2018, 1, 1, 9))) \
        == (D(2017, 12, 1), D(2017, 12, 31))
    assert sd.statement_period(Statement('160301', '005300', mexico_time(2016, 3, 1, 9))) \
        == (D(2016, 2, 1), D(2016, 2, 29))


def test_period_given_by_the_erp_wins():
    statement = Statement('X', '005300', mexico_time(2017, 10, 1), D(2017, 9, 15), D(2017, 9, 30))
    assert sd.statement_period(statement) == (D(2017, 9, 15), D(2017, 9, 30))


# --- the ledger on the demo data ----------------------------------------------

def test_september_opens_with_augusts_invoices_and_closes_settled(demo_canon):
    data = sd.build_statement(demo_canon, '005300', D(2017, 9, 1), D(2017, 9, 30), NOW)
    mxn, usd = data.section('MXN'), data.section('USD')
    assert (mxn.opening, mxn.charges, mxn.credits, mxn.closing) == \
        (Decimal('12500.00'), Decimal('0.00'), Decimal('12500.00'), Decimal('0.00'))
    assert (usd.opening, usd.charges, usd.credits, usd.closing) == \
        (Decimal('98.40'), Decimal('0.00'), Decimal('98.40'), Decimal('0.00'))
    # The ERP says they are paid but not when: dated on the due date, marked estimated.
    [credit] = mxn.movements
    assert credit.kind == sd.ERP_CREDIT and credit.day == D(2017, 9, 1) and credit.estimated
    assert data.aging == {}


def test_october_has_the_invoices_and_payment_228(demo_canon):
    data = sd.build_statement(demo_canon, '005300', D(2017, 10, 1), D(2017, 10, 31), NOW)
    mxn, usd = data.section('MXN'), data.section('USD')
    assert mxn.opening == usd.opening == Decimal('0.00')
    assert mxn.closing == Decimal('27794.52')
    assert usd.charges == Decimal('1288.00')
    [payment] = [m for m in usd.movements if m.kind == sd.PAYMENT]
    assert (payment.reference, payment.invoice_key, payment.amount, payment.day) == \
        ('228', '1233074', Decimal('1.00'), D(2017, 10, 10))
    assert usd.closing == Decimal('1287.00')
    # Not yet due on 31 October; the second account's invoice is elsewhere.
    assert data.aging['MXN'][sd.CURRENT] == Decimal('27794.52')
    assert data.aging['USD'][sd.CURRENT] == Decimal('1287.00')
    assert '6213050' not in {m.invoice_key for s in data.sections for m in s.movements}


def test_closing_is_opening_plus_charges_minus_credits_and_chains(demo_canon):
    first = sd.build_statement(demo_canon, '005300', D(2017, 8, 1), D(2017, 9, 30), NOW)
    second = sd.build_statement(demo_canon, '005300', D(2017, 10, 1), D(2017, 11, 15), NOW)
    for a, b in zip(first.sections, second.sections):
        assert a.closing == a.opening + a.charges - a.credits
        assert b.opening == a.closing
    late = sd.build_statement(demo_canon, '005300', D(2017, 11, 1), D(2017, 11, 30), NOW)
    # Aging is taken on the generation day when the period ends later.
    assert late.as_of == D(2017, 11, 15)
    assert late.aging['USD'][sd.DAYS_1_30] == Decimal('1287.00')
    assert late.aging['MXN'][sd.DAYS_1_30] == Decimal('27794.52')


def test_only_payments_the_bank_confirmed_count(root, demo_canon):
    def pay(reference, state):
        payment = Payment(reference, demo_canon.rfc, 'bbva', [
            Allocation('6212976', '005300', 'MXN', Decimal('100.00'), Decimal('100.00'))],
            created=mexico_time(2017, 10, 20, 10))
        if state != 'pending':
            payment.transition(state if state != APPLIED else APPROVED, payment.created, 'test')
            if state == APPLIED:
                payment.transition(APPLIED, payment.created, 'test')
        demo_canon.add_payment(payment)

    pay('900', 'pending')
    pay('901', DECLINED)
    mxn = sd.build_statement(demo_canon, '005300', D(2017, 10, 1), D(2017, 10, 31), NOW).section('MXN')
    assert mxn.credits == Decimal('0.00')

    # Applied by the ERP: the balance went down and the invoice lists the payment;
    # it counts once, on the payment's date, not again as an ERP credit.
    pay('902', APPLIED)
    invoice = demo_canon.invoices['6212976']
    invoice.balance -= Decimal('100.00')
    invoice.applied = (('902', Decimal('100.00')),)
    mxn = sd.build_statement(demo_canon, '005300', D(2017, 10, 1), D(2017, 10, 31), NOW).section('MXN')
    assert mxn.credits == Decimal('100.00')
    assert [m.kind for m in mxn.movements] == [sd.INVOICE, sd.PAYMENT]
    assert mxn.closing == invoice.balance


def test_range_pdf_refuses_someone_elses_account(demo_canon):
    with pytest.raises(ValueError):
        sp.range_pdf(demo_canon, '007100', D(2017, 10, 1), D(2017, 10, 31), 'Canon Mexicana', NOW)
    with pytest.raises(ValueError):
        sp.range_pdf(demo_canon, '005300', D(2017, 10, 31), D(2017, 10, 1), 'Canon Mexicana', NOW)


# --- rendering -----------------------------------------------------------------

def test_statement_pdf_renders_without_a_request(demo_canon):
    body = sp.statement_pdf(demo_canon, demo_canon.statements['171001'], 'Canon Mexicana', NOW)
    assert body.startswith(b'%PDF')
    text = '\n'.join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    for expected in ('Canon Mexicana', 'Estado de cuenta 171001', 'CME930812PW3', '005300',
                     '01-09-2017 al 30-09-2017', 'fecha estimada', 'Antigüedad de saldos al 30-09-2017',
                     'Al corriente', 'Más de 90 días'):
        assert expected in text, expected


def test_uncompressed_pdf_has_searchable_text_and_a_translator_is_used(demo_canon):
    seen = []

    def translate(message):
        seen.append(str(message))
        return message.interpolate().upper()

    body = sp.range_pdf(demo_canon, '005300', D(2017, 10, 1), D(2017, 10, 31), 'Canon Mexicana', NOW,
                        translate=translate, compress=False)
    assert b'(CME930812PW3)' in body and b'(005300)' in body
    assert b'ANTIG' in body and 'Al corriente' in seen
