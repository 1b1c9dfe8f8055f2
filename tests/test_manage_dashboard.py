"""The staff dashboard at /manage: payment counts by bank and state, review and stale lists."""
import datetime
from types import SimpleNamespace

import pytest
from lxml import etree

from canonportal.money import to_money
from canonportal.resources import Allocation, Payment, PortalRoot
from canonportal.resources.payment import APPROVED, DECLINED, PENDING, REVIEW
from canonportal.views.manage.root import RecentPayments
from portal_support import (
    CANON, IXTAPA, Client, add_staff_user, file_storage_uri, make_app, nothing_changes, with_root)
from manage_support import staff_browser, staff_client
from canonportal.bootstrap import add_demo_data

UTC = datetime.timezone.utc
#: The frozen clock's time: 2026-11-29 18:00 UTC is 12:00 in Mexico City.
NOW = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
SVG = '{http://www.w3.org/2000/svg}'


def add_payment(root, bank, state, created, amount='100.00', rfc=CANON):
    """A payment of ``rfc`` created at ``created`` and moved to ``state``."""
    reference = root.next_payment_reference()
    payment = Payment(reference, rfc, bank, [
        Allocation('6212976' if rfc == CANON else '7100501', '005300', 'MXN',
                   to_money(amount), to_money(amount))], created=created)
    payment.history = ((created, None, PENDING, 'portal', 'created'),)
    if state != PENDING:
        payment.transition(state, created + datetime.timedelta(minutes=1), 'test',
                           'amount differs' if state == REVIEW else '')
    root.customers[rfc].add_payment(payment)
    if state == PENDING:
        root.pending_payments[reference] = payment
    if state == REVIEW:  # the index payments.settle keeps
        root.review_payments[reference] = payment
    return reference


#: (bank, state, created, amount, customer), in creation order (references grow with time).
PAYMENTS = (
    ('banamex', APPROVED, NOW - datetime.timedelta(days=40), '999.00', CANON),     # outside 30 days
    ('bbva', APPROVED, NOW - datetime.timedelta(days=29, hours=5), '10.00', CANON),  # day 30 of 30
    ('bbva', APPROVED, NOW - datetime.timedelta(days=10), '20.00', IXTAPA),
    ('banamex', PENDING, NOW - datetime.timedelta(days=10), '30.00', CANON),        # stale
    ('bbva', REVIEW, NOW - datetime.timedelta(days=3), '40.00', IXTAPA),
    # 23:30 of the 28th in Mexico City: yesterday there, although the 29th in UTC.
    ('banamex', APPROVED, datetime.datetime(2026, 11, 29, 5, 30, tzinfo=UTC), '50.00', CANON),
    # 00:30 of the 29th in Mexico City: today.
    ('banamex', APPROVED, datetime.datetime(2026, 11, 29, 6, 30, tzinfo=UTC), '60.00', CANON),
    ('banamex', APPROVED, NOW - datetime.timedelta(hours=2), '70.00', IXTAPA),
    ('bbva', DECLINED, NOW - datetime.timedelta(hours=1), '80.00', CANON),
    ('bbva', REVIEW, NOW - datetime.timedelta(minutes=50), '90.00', CANON),
    ('banamex', PENDING, NOW - datetime.timedelta(minutes=10), '15.00', CANON),      # not stale yet
)


def seed(app):
    def work(root):
        return [add_payment(root, bank, state, created, amount, rfc)
                for bank, state, created, amount, rfc in PAYMENTS]
    return with_root(app, work)


@pytest.fixture
def staff(app, frozen_clock):
    add_staff_user(app, 'aurora', role='auditor')
    browser = staff_client(app, 'alice', role='admin')
    browser.references = seed(app)
    return browser


def chart_values(page, chart_id):
    """``{(bank, state): count}`` read from the SVG's segments, and the bars' totals."""
    svg_text = str(page.html.find('svg', id=chart_id))
    svg = etree.fromstring(svg_text.encode('utf-8'))
    assert svg.tag == SVG + 'svg'
    assert svg.find(SVG + 'title').text
    values = {}
    for rect in svg.iter(SVG + 'rect'):
        if rect.get('class') == 'segment':
            key = (rect.get('data-category'), rect.get('data-series'))
            assert key not in values
            values[key] = int(rect.get('data-value'))
            # Each segment names itself for screen readers and tooltips.
            assert rect.find(SVG + 'title').text.endswith(f': {values[key]}')
            assert float(rect.get('width')) > 0
    totals = {g.get('data-category'): int(g.get('data-total'))
              for g in svg.iter(SVG + 'g') if g.get('class') == 'bar'}
    return values, totals


def table_values(page, chart_id):
    """The fallback table: ``{bank label: [cells...]}`` and the state columns."""
    table = page.html.find('table', id=f'{chart_id}-table')
    states = [th['data-state'] for th in table.thead.find_all('th') if th.get('data-state')]
    rows = {}
    for tr in table.tbody.find_all('tr'):
        rows[tr['data-bank']] = [td.get_text(strip=True) for td in tr.find_all('td')]
    return states, rows


def test_today_counts_follow_the_mexico_city_day(staff):
    page = staff.get('/manage')
    values, totals = chart_values(page, 'chart-today')
    assert values == {('banamex', APPROVED): 2, ('banamex', PENDING): 1,
                      ('bbva', DECLINED): 1, ('bbva', REVIEW): 1}
    assert totals['banamex'] == 3 and totals['bbva'] == 2


def test_thirty_day_counts_leave_older_payments_out(staff):
    page = staff.get('/manage')
    values, totals = chart_values(page, 'chart-30-days')
    assert values == {('banamex', APPROVED): 3, ('banamex', PENDING): 2,
                      ('bbva', APPROVED): 2, ('bbva', DECLINED): 1, ('bbva', REVIEW): 2}
    assert totals == {'banamex': 5, 'bbva': 5}


def test_the_numbers_are_also_a_table(staff):
    page = staff.get('/manage')
    states, rows = table_values(page, 'chart-30-days')
    assert states == [APPROVED, PENDING, REVIEW, DECLINED]
    # approved, pending, review, declined, count, amount
    assert rows['banamex'] == ['3', '2', '0', '0', '5', '$225.00 MXN']
    assert rows['bbva'] == ['2', '0', '2', '1', '5', '$240.00 MXN']
    states, rows = table_values(page, 'chart-today')
    assert rows['banamex'][-2:] == ['3', '$145.00 MXN']


def test_payments_in_review_are_listed_with_links(staff):
    page = staff.get('/manage')
    table = page.html.find('table', id='review-table')
    links = [a['href'] for a in table.find_all('a')]
    review_refs = [ref for ref, p in zip(staff.references, PAYMENTS) if p[1] == REVIEW]
    assert len(review_refs) == 2
    assert [row.td.get_text(strip=True) for row in table.tbody.find_all('tr')] == review_refs
    assert f'http://portal.example.mx/manage/customers/{IXTAPA}/payments/{review_refs[0]}' in links
    assert f'http://portal.example.mx/manage/customers/{CANON}/payments/{review_refs[1]}' in links
    assert 'amount differs' in table.get_text()


def test_only_payments_pending_longer_than_the_alert_time_are_listed(staff):
    page = staff.get('/manage')
    table = page.html.find('table', id='stale-table')
    rows = [tr.td.get_text(strip=True) for tr in table.tbody.find_all('tr')]
    stale_ref = staff.references[3]
    assert rows == [stale_ref]
    assert table.find('a')['href'].endswith(f'/manage/customers/{CANON}/payments/{stale_ref}')
    assert '30 minutos' in page.html.find(id='stale-heading').get_text()


def test_the_alert_time_is_a_setting(tmp_path, frozen_clock):
    app = make_app(**{'zodbconn.uri': file_storage_uri(tmp_path),
                      'canonportal.pending_alert_minutes': '5'})
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    browser = staff_client(app)
    references = seed(app)
    table = browser.get('/manage').html.find('table', id='stale-table')
    assert [tr.td.get_text(strip=True) for tr in table.tbody.find_all('tr')] == [
        references[3], references[-1]]


def test_an_auditor_sees_the_dashboard_without_action_buttons(staff, app):
    page = staff_browser(app, 'aurora').get('/manage')
    assert chart_values(page, 'chart-today')[1]['banamex'] == 3
    assert '@@importar' not in page.text and '@@exportar' not in page.text
    assert '@@importar' in staff.get('/manage').text


def test_a_customer_never_sees_the_dashboard(app, frozen_clock):
    customer = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    customer.sign_in_active(rfc=IXTAPA)
    with nothing_changes(app):
        assert customer.get('/manage', status=403).status_int == 403
        customer.post('/manage/@@exportar', {'csrf_token': customer.csrf(), 'mode': 'pending'},
                      status=403)


def test_an_empty_portal_says_so(app, frozen_clock):
    page = staff_client(app).get('/manage')
    assert chart_values(page, 'chart-today')[0] == {}
    assert 'Ningún pago hoy.' in page.text
    assert 'Ningún pago espera una decisión.' in page.text
    assert 'Ningún pago lleva tanto tiempo pendiente.' in page.text


def test_the_newest_imports_and_exports_come_first(app, frozen_clock):
    from canonportal.resources.exports import ExportRecord
    from canonportal.resources.imports import ImportRecord

    def work(root):
        for day in range(1, 8):
            when = datetime.datetime(2026, 11, day, 12, 0, tzinfo=UTC)
            root.imports.add(f'{when:%Y%m%d-%H%M%S}-ab{day:02d}', ImportRecord(
                'rates', when, 'staff:alice', [(f'tipos-{day}.csv', 10, '0' * 64)]))
            root.exports.add(f'{when:%Y%m%d-%H%M%S}', ExportRecord(
                f'pagos-erp-{day}.csv', when, 'staff:alice', ('228',)))
    with_root(app, work)
    page = staff_client(app).get('/manage')
    imports = [a['href'].rsplit('/', 1)[-1] for a in page.html.find(id='last-imports').ul('a')]
    assert imports == [f'202611{day:02d}-120000-ab{day:02d}' for day in (7, 6, 5, 4, 3)]
    exports = [a['href'].rsplit('/', 1)[-1] for a in page.html.find(id='last-exports').ul('a')]
    assert exports == [f'202611{day:02d}-120000' for day in (7, 6, 5, 4, 3)]


# -- the walk over the references stays bounded ---------------------------------------------

class CountingTree(dict):
    """A stand-in for ``payments_by_reference`` that counts look-ups."""

    lookups = 0

    def get(self, key, default=None):
        self.lookups += 1
        return super().get(key, default)


def fake_root(created_by_reference):
    tree = CountingTree({str(ref): SimpleNamespace(reference=str(ref), created=created)
                         for ref, created in created_by_reference.items()})
    root = SimpleNamespace(payments_by_reference=tree,
                           payment_counter=SimpleNamespace(value=max(created_by_reference)))
    root.payments_newest_first = lambda: PortalRoot.payments_newest_first(root)
    return root


def test_the_walk_reads_only_the_window_and_orders_references_as_numbers():
    # 1..10000: one payment a minute ending now; references 9, 10, 100, 1000 sort
    # before '2' as strings, the walk must not care.
    start = NOW - datetime.timedelta(minutes=9999)
    root = fake_root({n: start + datetime.timedelta(minutes=n - 1) for n in range(1, 10001)})
    recent = RecentPayments(root, NOW - datetime.timedelta(minutes=99, seconds=30))
    assert [p.reference for p in recent.payments] == [str(n) for n in range(10000, 9900, -1)]
    # The window (100) plus the slack of one hour (60) plus the one that stopped it.
    assert root.payments_by_reference.lookups <= 100 + 61
    assert not recent.truncated


def test_the_walk_stops_at_its_limit_and_says_so():
    root = fake_root({n: NOW for n in range(1, 501)})
    recent = RecentPayments(root, NOW - datetime.timedelta(days=30), limit=200)
    assert len(recent.payments) == 200
    assert recent.truncated
    assert root.payments_by_reference.lookups == 200


def test_the_walk_skips_missing_references():
    root = fake_root({5: NOW, 9: NOW, 12: NOW})
    recent = RecentPayments(root, NOW - datetime.timedelta(days=1))
    assert [p.reference for p in recent.payments] == ['12', '9', '5']


def missing_rows(page):
    """``[(reference, customer, deadline, overdue)]`` of the payments without a REP."""
    table = page.html.find('table', id='complements-missing-table')
    if table is None:
        return []
    return [(tr.td.get_text(strip=True), tr.find_all('td')[1].get_text(strip=True),
             tr.find_all('td')[5].get_text(' ', strip=True), 'overdue' in (tr.get('class') or []))
            for tr in table.tbody.find_all('tr')]


def test_approved_payments_without_their_rep_are_listed_with_the_deadline(staff, app):
    from canonportal.demo_complements import example_228
    from erp_samples import import_committed
    refs = staff.references
    rows = missing_rows(staff.get('/manage'))
    # Approved ones only (the declined, pending and in-review are not), oldest deadline first:
    # 228 (October 2017), then those of October 2026 (due 5 November, past on the 29th),
    # then November's (due 5 December): red only when past.
    assert rows == [
        ('228', CANON, '05-11-2017 · Vencido', True),
        (refs[0], CANON, '05-11-2026 · Vencido', True),
        (refs[1], CANON, '05-11-2026 · Vencido', True),
        (refs[2], IXTAPA, '05-12-2026', False),
        (refs[5], CANON, '05-12-2026', False),
        (refs[6], CANON, '05-12-2026', False),
        (refs[7], IXTAPA, '05-12-2026', False),
    ]
    import_committed(app, {'REP-228.xml': example_228()})
    assert '228' not in [row[0] for row in missing_rows(staff.get('/manage'))]


def test_the_rep_deadline_day_is_a_setting(tmp_path, frozen_clock):
    app = make_app(**{'zodbconn.uri': file_storage_uri(tmp_path),
                      'canonportal.rep_deadline_day': '10'})
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    assert missing_rows(staff_client(app).get('/manage')) == [
        ('228', CANON, '10-11-2017 · Vencido', True)]
