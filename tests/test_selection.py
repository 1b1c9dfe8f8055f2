"""The selection service: the day's rate, the payable invoices and the server's amounts."""
import datetime
from decimal import Decimal

import pytest
from webob.multidict import MultiDict

from canonportal import clock
from canonportal.bootstrap import add_demo_data
from canonportal.payments import selection as sel
from canonportal.payments.day_rate import MSG_NO_RATE, DayRate, day_rate
from canonportal.resources import Invoice, PortalRoot
from portal_support import CANON

TODAY = datetime.date(2026, 11, 29)
RATE = Decimal('18.8869')


@pytest.fixture
def root():
    return add_demo_data(PortalRoot(), today=TODAY)


@pytest.fixture
def demo_canon(root):
    return root.customers[CANON]


@pytest.fixture
def rate(root):
    return day_rate(root.rates, 30, today=TODAY)


def text(message):
    """A message as the customer reads it in Spanish (mapping interpolated)."""
    return message.interpolate() if hasattr(message, 'interpolate') else message


def pick(*keys, **amounts):
    """Entries for ``keys``, ticked; amounts as mxn_<key>=…, usd_<key>=…, edited_<key>=…."""
    return [sel.Entry(key=key, ticked=True, mxn=amounts.get(f'mxn_{key}', ''),
                      usd=amounts.get(f'usd_{key}', ''), edited=amounts.get(f'edited_{key}', ''))
            for key in keys]


# The day's rate ---------------------------------------------------------------

def test_the_days_rate_is_todays_stored_rate(rate):
    assert rate.usable and rate.rate == RATE and rate.day == TODAY


def test_an_older_rate_is_used_within_the_allowed_age(root):
    later = TODAY + datetime.timedelta(days=30)
    rate = day_rate(root.rates, 30, today=later)
    assert rate.usable and rate.day == TODAY and rate.rate == RATE


def test_a_stale_rate_makes_usd_invoices_unselectable_with_the_reason(root, demo_canon):
    later = TODAY + datetime.timedelta(days=31)
    rate = day_rate(root.rates, 30, today=later)
    assert not rate.usable
    assert '29-11-2026' in text(rate.reason) and 'USD' in text(rate.reason)
    usd, mxn = demo_canon.invoices['1233076'], demo_canon.invoices['6212976']
    assert not sel.is_selectable(usd, rate) and sel.is_selectable(mxn, rate)
    result = sel.validate_selection(demo_canon, rate, pick('1233076', '6212976'))
    assert result.lines['1233076'].errors == {'mxn': rate.reason}
    assert result.lines['6212976'].valid
    assert result.total_mxn == Decimal('27794.52')
    assert not result.ok


def test_no_rate_at_all(demo_canon):
    rate = day_rate(PortalRoot().rates, 30, today=TODAY)
    assert not rate.usable and rate.reason == MSG_NO_RATE
    assert sel.validate_selection(demo_canon, rate, pick('1233080')).lines['1233080'].errors


def test_mexico_today_is_the_date_in_mexico_city():
    # 03:00 UTC on 1 December is still 30 November in Mexico City (UTC-6).
    now = datetime.datetime(2026, 12, 1, 3, 0, tzinfo=datetime.timezone.utc)
    assert clock.mexico_today(now) == datetime.date(2026, 11, 30)


# Payable invoices --------------------------------------------------------------

def test_payable_invoices_have_something_left_and_are_sorted_by_due_date_then_folio(demo_canon):
    keys = [inv.key for inv in sel.payable_invoices(demo_canon)]
    assert '6212901' not in keys and '1233001' not in keys   # paid
    assert keys == ['1232081', '1233074', '1233075', '1233076', '1233077', '1233080',
                    '1233081', '6212976', '6213050']


def add_mixed_invoices(customer, count=230):
    """Open invoices with shared due dates, numeric and non-numeric folios, series, and
    some paid ones: every tie of the order is exercised."""
    for number in range(count):
        due = None if number % 37 == 0 else datetime.date(2026, 12, 1) + datetime.timedelta(days=number % 9)
        folio = str(number * 7 % 101) if number % 3 else f'F{number % 13}'
        serie = ('A', 'B', '')[number % 3] if number % 5 else 'Z'
        invoice = Invoice(folio, '005300', TODAY, due, 'MXN', f'{10 + number}.50',
                          serie=serie + str(number), balance='0' if number % 11 == 0 else None)
        customer.add_invoice(invoice)


def test_a_page_of_payable_invoices_is_that_slice_of_the_whole_list(demo_canon):
    add_mixed_invoices(demo_canon)
    whole = sel.payable_invoices(demo_canon)
    keys = [inv.key for inv in whole]
    assert len(keys) == len(set(keys)) > 200
    for start, stop in [(0, 100), (100, 200), (200, 300), (0, 5), (7, 9), (len(whole) - 3, len(whole) + 50),
                        (0, 10_000), (500, 600), (5, 3)]:
        count, shown = sel.payable_page(demo_canon, start, stop)
        assert count == len(whole)
        assert [inv.key for inv in shown] == keys[start:max(stop, start)], (start, stop)
    positions = sel.payable_positions(demo_canon, [keys[0], keys[150], keys[-1], '1233001', 'nope'])
    assert positions == {keys[0]: 0, keys[150]: 150, keys[-1]: len(keys) - 1}
    assert sel.payable_positions(demo_canon, []) == {}


def test_an_invoice_entirely_in_transit_is_listed_but_not_selectable(demo_canon, rate):
    invoice = demo_canon.invoices['1233075']
    invoice.reserve('999', invoice.left_to_pay)
    assert '1233075' in [inv.key for inv in sel.payable_invoices(demo_canon)]
    assert not sel.is_selectable(invoice, rate)
    result = sel.validate_selection(demo_canon, rate, pick('1233075'))
    assert not result.ok


# The manual's example and the conversions -------------------------------------

def test_the_manuals_three_invoices(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, pick('6212976', '1233076', '1233080'))
    assert result.ok
    lines = result.lines
    assert lines['6212976'].amount_mxn == Decimal('27794.52')
    assert lines['6212976'].amount_usd is None
    assert (lines['1233076'].amount_usd, lines['1233076'].amount_mxn) == (Decimal('167.94'),
                                                                         Decimal('3171.86'))
    assert (lines['1233080'].amount_usd, lines['1233080'].amount_mxn) == (Decimal('312.62'),
                                                                         Decimal('5904.42'))
    # 167.94 × 18.8869 = 3,171.865986: USD → MXN truncates to the cent, as the ERP and
    # the manual do (canonportal.money), so 3,171.86 and the manual's total.
    assert result.total_mxn == Decimal('36870.80')


def test_usd_to_mxn_truncates_and_mxn_to_usd_rounds_half_up(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, pick(
        '1233080', '1233076', '1233077',
        usd_1233080='100', edited_1233080='usd',          # 1,888.69
        mxn_1233076='1000', edited_1233076='mxn',         # 1000 / 18.8869 = 52.947... → 52.95 (half up)
        usd_1233077='0.5', edited_1233077='usd'))         # 9.44345 → 9.44 (truncated)
    lines = result.lines
    assert (lines['1233080'].amount_mxn, lines['1233080'].amount_usd) == (Decimal('1888.69'), Decimal('100.00'))
    assert (lines['1233076'].amount_mxn, lines['1233076'].amount_usd) == (Decimal('1000.00'), Decimal('52.95'))
    assert (lines['1233077'].amount_mxn, lines['1233077'].amount_usd) == (Decimal('9.44'), Decimal('0.50'))
    assert result.total_mxn == Decimal('2898.13')


def test_rounding_at_half_a_cent(demo_canon):
    rate = DayRate.fixed('18.8500', TODAY)
    # 0.10 USD × 18.85 = 1.885 MXN: USD → MXN truncates, 1.88.
    line = sel.validate_selection(demo_canon, rate, pick('1233080', usd_1233080='0.10',
                                                    edited_1233080='usd')).lines['1233080']
    assert line.amount_mxn == Decimal('1.88')
    # 0.95 / 18.85 = 0.0504 → 0.05.
    line = sel.validate_selection(demo_canon, rate, pick('1233080', mxn_1233080='0.95')).lines['1233080']
    assert line.amount_usd == Decimal('0.05')
    # MXN → USD on an exact half: 0.50 / 20 = 0.025 → 0.03 (half even would say 0.02).
    line = sel.validate_selection(demo_canon, DayRate.fixed('20.0000', TODAY),
                                  pick('1233080', mxn_1233080='0.50')).lines['1233080']
    assert (line.amount_mxn, line.amount_usd) == (Decimal('0.50'), Decimal('0.03'))


def test_a_ticked_row_with_empty_amounts_gets_what_is_left(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, pick('1233074'))
    line = result.lines['1233074']
    # Balance 160.71 USD minus the 1.00 USD in transit of payment 228.
    assert line.amount_usd == Decimal('159.71')
    assert line.amount_mxn == Decimal('3016.42')   # 159.71 × 18.8869 = 3,016.4268
    assert (line.mxn_text, line.usd_text) == ('3016.42', '159.71')


def test_partial_amounts(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, pick('6212976', '1233076', mxn_6212976='10,000.5',
                                                      usd_1233076='$50'))
    assert result.lines['6212976'].amount_mxn == Decimal('10000.50')
    assert result.lines['1233076'].amount_usd == Decimal('50.00')
    assert result.lines['1233076'].amount_mxn == Decimal('944.34')   # 944.345, truncated
    assert result.total_mxn == Decimal('10944.84')


def test_unticked_entries_are_ignored(demo_canon, rate):
    entries = [sel.Entry('6212976', ticked=False, mxn='500'), sel.Entry('1233080', ticked=True)]
    result = sel.validate_selection(demo_canon, rate, entries)
    assert list(result.lines) == ['1233080']


# Refusals --------------------------------------------------------------------------

@pytest.mark.parametrize('typed, message', [
    ('-5', sel.MSG_POSITIVE),
    ('0', sel.MSG_POSITIVE),
    ('0.00', sel.MSG_POSITIVE),
    ('$-3', sel.MSG_POSITIVE),
    ('10.005', sel.MSG_DECIMALS),
    ('1.234', sel.MSG_DECIMALS),
    ('abc', sel.MSG_NOT_NUMBER),
    ('1e3', sel.MSG_NOT_NUMBER),
    ('12,34', sel.MSG_NOT_NUMBER),
    ('NaN', sel.MSG_NOT_NUMBER),
    ('１２３', sel.MSG_NOT_NUMBER),
    ('9' * 40, sel.MSG_NOT_NUMBER),
])
def test_bad_amounts_are_refused_next_to_the_field(demo_canon, rate, typed, message):
    result = sel.validate_selection(demo_canon, rate, pick('6212976', '1233080', mxn_6212976=typed,
                                                      usd_1233080=typed, edited_1233080='usd'))
    assert result.lines['6212976'].errors == {'mxn': message}
    assert result.lines['1233080'].errors == {'usd': message}
    assert result.has_errors and not result.ok
    assert result.total_mxn == 0
    # What the customer typed is kept to be corrected.
    assert result.lines['6212976'].mxn_text == typed.strip()


def test_trailing_zeros_are_not_extra_decimals(demo_canon, rate):
    line = sel.validate_selection(demo_canon, rate, pick('1233080', usd_1233080='167.940',
                                                    edited_1233080='usd')).lines['1233080']
    assert line.valid and line.amount_usd == Decimal('167.94')


def test_not_more_than_what_is_left_counting_what_is_in_transit(demo_canon, rate):
    # 1233074: 160.71 USD, 1.00 USD in transit: 159.71 USD (3,016.42 MXN) may be paid.
    ok = sel.validate_selection(demo_canon, rate, pick('1233074', usd_1233074='159.71', edited_1233074='usd'))
    assert ok.ok
    over_usd = sel.validate_selection(demo_canon, rate, pick('1233074', usd_1233074='159.72',
                                                        edited_1233074='usd'))
    assert '$159.71 USD' in text(over_usd.lines['1233074'].errors['usd'])
    assert sel.validate_selection(demo_canon, rate, pick('1233074', mxn_1233074='3016.42')).ok
    over_mxn = sel.validate_selection(demo_canon, rate, pick('1233074', mxn_1233074='3016.43'))
    assert '$3,016.42 MXN' in text(over_mxn.lines['1233074'].errors['mxn'])
    over = sel.validate_selection(demo_canon, rate, pick('6212976', mxn_6212976='27794.53'))
    assert '$27,794.52 MXN' in text(over.lines['6212976'].errors['mxn'])


def test_an_mxn_amount_below_one_us_cent_is_refused_for_usd_invoices(demo_canon, rate):
    line = sel.validate_selection(demo_canon, rate, pick('1233080', mxn_1233080='0.05')).lines['1233080']
    assert line.errors == {'mxn': sel.MSG_TOO_SMALL_USD}


def test_unknown_paid_and_foreign_invoices_are_refused(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, pick('nope', '6212901', '7100501', '../x'))
    for key in ('nope', '6212901', '7100501', '../x'):   # 6212901 paid; 7100501 is Ixtapa's
        assert result.lines[key].errors == {'invoice': sel.MSG_UNKNOWN}
    assert not result.ok and result.total_mxn == 0


def test_empty_selection_is_not_ok(demo_canon, rate):
    result = sel.validate_selection(demo_canon, rate, [])
    assert not result.has_errors and not result.ok and result.total_mxn == 0


def test_the_rate_is_never_taken_from_the_browser(demo_canon, rate):
    form = MultiDict([('pick', '1233080'), ('rate', '1.0000'), ('data-rate', '1'),
                      ('exchange_rate', '1'), ('total', '1.00')])
    result = sel.validate_selection(demo_canon, rate, sel.entries_from_form(form))
    assert result.lines['1233080'].amount_mxn == Decimal('5904.42')
    assert result.rate.rate == RATE


# Reading the form ------------------------------------------------------------------

def test_entries_from_form_read_ticks_amounts_and_which_was_edited(demo_canon, rate):
    form = MultiDict([
        ('pick', '6212976'), ('mxn-6212976', '100'),
        ('pick', '1233076'), ('mxn-1233076', '3171.86'), ('usd-1233076', '10'),
        ('prev-mxn-1233076', '3171.86'), ('prev-usd-1233076', '167.94'),   # no JS: USD changed
        ('pick', '1233080'), ('mxn-1233080', '100'), ('usd-1233080', '312.62'),
        ('edited-1233080', 'mxn'),                                         # JS said MXN
        ('mxn-1233077', '50'),                                             # not ticked
        ('pick', '6212976'),                                               # twice
    ])
    entries = {e.key: e for e in sel.entries_from_form(form)}
    assert set(entries) == {'6212976', '1233076', '1233080'}
    assert entries['1233076'].edited == sel.EDITED_USD
    assert entries['1233080'].edited == sel.EDITED_MXN
    result = sel.validate_selection(demo_canon, rate, list(entries.values()))
    assert result.lines['1233076'].amount_mxn == Decimal('188.86')  # 188.869, truncated
    assert result.lines['1233080'].amount_usd == Decimal('5.29')    # 100 / 18.8869 = 5.2947
    assert result.total_mxn == Decimal('388.86')


def test_a_selection_of_many_invoices_is_bounded(root, demo_canon, rate):
    for folio in range(20):
        demo_canon.add_invoice(Invoice(f'9{folio:05d}', '005300', TODAY, TODAY, 'MXN', '1.00'))
    keys = [f'9{folio:05d}' for folio in range(20)]
    result = sel.validate_selection(demo_canon, rate, pick(*keys))
    assert result.ok and result.total_mxn == Decimal('20.00')
