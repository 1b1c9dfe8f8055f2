"""The audit log pages: newest first, paginated, filtered, downloadable, and read-only."""
import csv
import datetime
import io

import pytest

from portal_support import CANON, IXTAPA, Client, nothing_changes, with_root
from manage_support import staff_browser

HOST = 'portal.example.mx'
UTC = datetime.timezone.utc
BASE = datetime.datetime(2026, 11, 1, 18, 0, tzinfo=UTC)


def seed(app, entries):
    """Append ``(when, actor, action, target, before, after, note)`` entries to the log.

    The log keeps the order of appending, so tests append oldest first, as time does.
    """
    def work(root):
        for entry in entries:
            root.audit_log.append(*entry)
    with_root(app, work)


SAMPLE = (
    (BASE, 'staff:alice', 'staff.role', '/staff/oscar', 'operator', 'admin', ''),
    (BASE + datetime.timedelta(days=1), 'bank:bbva', 'payment.transition',
     f'/customers/{CANON}/payments/228', 'pending', 'approved', 'notification'),
    # 23:30 of November 27 in Mexico City, although the 28th in UTC.
    (datetime.datetime(2026, 11, 28, 5, 30, tzinfo=UTC), 'staff:oscar', 'payment.transition',
     f'/customers/{IXTAPA}/payments/300', 'review', 'approved', '=HYPERLINK("http://x")'),
    # 00:30 of November 28 in Mexico City.
    (datetime.datetime(2026, 11, 28, 6, 30, tzinfo=UTC), 'staff:oscar', 'staff.unlock',
     '/staff/ghost', '+locked', '-unlocked', '@note'),
)


@pytest.fixture
def audited_app(staff_app):
    """The demo portal with its staff and the sample audit entries."""
    seed(staff_app, SAMPLE)
    return staff_app


def rows_of(page):
    table = page.html.find('table', id='audit-table')
    return [[td.get_text(strip=True) for td in tr.find_all('td')]
            for tr in table.tbody.find_all('tr') if not tr.find('td', class_='empty')]


def seeded_rows(page):
    """The rows of SAMPLE's entries (sign-ins of the test's own browsers left out)."""
    return [row for row in rows_of(page) if row[2] != 'staff.login']


def test_newest_first_with_mexico_city_times_and_links_to_live_objects(audited_app):
    page = staff_browser(audited_app, 'aurora').get('/manage/audit')
    rows = seeded_rows(page)
    assert [row[2] for row in rows] == ['staff.unlock', 'payment.transition',
                                        'payment.transition', 'staff.role']
    assert rows[0][0] == '28/11/2026 12:30:00 a.m.'
    assert rows[1][0] == '27/11/2026 11:30:00 p.m.'
    table = page.html.find('table', id='audit-table')
    links = {a.get_text(): a['href'] for a in table.select('td.target a')}
    assert links[f'/customers/{CANON}/payments/228'] == (
        f'http://{HOST}/manage/customers/{CANON}/payments/228')
    # Gone or never there: shown as text, no link.
    assert '/staff/ghost' not in links and f'/customers/{IXTAPA}/payments/300' not in links
    assert '/staff/ghost' in table.get_text()


@pytest.mark.parametrize('query, expected', [
    ('actor=staff:oscar', ['staff.unlock', 'payment.transition']),
    ('action=payment.transition', ['payment.transition', 'payment.transition']),
    (f'target=/customers/{CANON}', ['payment.transition']),
    ('target=/staff/', ['staff.unlock', 'staff.role']),
    ('since=2026-11-28', ['staff.unlock']),
    ('until=2026-11-27', ['payment.transition', 'payment.transition', 'staff.role']),
    ('since=2026-11-02&until=2026-11-27', ['payment.transition', 'payment.transition']),
    ('actor=staff:oscar&action=staff.unlock', ['staff.unlock']),
    ('actor=nadie', []),
])
def test_filters(audited_app, query, expected):
    page = staff_browser(audited_app, 'aurora').get('/manage/audit?' + query)
    assert [row[2] for row in seeded_rows(page)] == expected


def test_dates_filter_by_the_mexico_city_day(audited_app):
    client = staff_browser(audited_app, 'aurora')
    on_27 = seeded_rows(client.get('/manage/audit?since=2026-11-27&until=2026-11-27'))
    assert [row[3] for row in on_27] == [f'/customers/{IXTAPA}/payments/300']


@pytest.mark.parametrize('query', ['since=28-11-2026', 'until=ma%C3%B1ana',
                                   'since=2026-11-28&until=2026-11-01'])
def test_bad_dates_are_a_clear_400(audited_app, query):
    client = staff_browser(audited_app, 'aurora')
    response = client.get('/manage/audit?' + query, status=400)
    assert response.html.find(class_='error', role='alert')
    assert response.html.find('table', id='audit-table') is None
    assert client.get('/manage/audit/@@csv?' + query, status=400)


def test_pages_of_fifty(audited_app):
    seed(audited_app, [(BASE - datetime.timedelta(minutes=n), 'system:test', 'test.bulk',
                      '/customers', '', str(n), '') for n in range(70, 0, -1)])
    client = staff_browser(audited_app, 'aurora')
    first = client.get('/manage/audit?action=test.bulk')
    assert [row[5] for row in rows_of(first)] == [str(n) for n in range(1, 51)]
    next_link = first.html.find('a', rel='next')['href']
    assert 'action=test.bulk' in next_link and 'page=2' in next_link
    second = client.get(next_link)
    assert [row[5] for row in rows_of(second)] == [str(n) for n in range(51, 71)]
    assert second.html.find('a', rel='next') is None
    # Unfiltered, the page knows the total.
    whole = client.get('/manage/audit')
    assert 'Página 1 de 2' in whole.html.find('nav', class_='pager').get_text(' ', strip=True)


def read_csv(response):
    assert response.content_type == 'text/csv'
    assert response.body.startswith('\ufeff'.encode('utf-8'))
    assert 'attachment' in response.headers['Content-Disposition']
    return list(csv.reader(io.StringIO(response.body.decode('utf-8-sig'))))


def test_csv_of_the_filtered_entries_with_formulas_escaped(audited_app):
    client = staff_browser(audited_app, 'aurora')
    page = client.get('/manage/audit?actor=staff:oscar')
    response = client.get(page.html.find('a', string='Descargar CSV')['href'])
    rows = read_csv(response)
    assert rows[0] == ['Fecha (Ciudad de México)', 'Actor', 'Acción', 'Objeto', 'Antes',
                       'Después', 'Nota']
    assert rows[1] == ['2026-11-28 00:30:00', 'staff:oscar', 'staff.unlock', '/staff/ghost',
                       "'+locked", "'-unlocked", "'@note"]
    assert rows[2] == ['2026-11-27 23:30:00', 'staff:oscar', 'payment.transition',
                       f'/customers/{IXTAPA}/payments/300', 'review', 'approved',
                       '\'=HYPERLINK("http://x")']
    assert len(rows) == 3


def test_csv_of_everything_spans_more_than_one_chunk(audited_app):
    seed(audited_app, [(BASE - datetime.timedelta(seconds=n), 'system:test', 'test.bulk',
                      '/customers', '', str(n), '') for n in range(1200, 0, -1)])
    rows = read_csv(staff_browser(audited_app, 'aurora').get('/manage/audit/@@csv?action=test.bulk'))
    assert len(rows) == 1201
    assert [row[5] for row in rows[1:]] == [str(n) for n in range(1, 1201)]
    assert rows.count(rows[0]) == 1  # the header once


def test_the_log_cannot_be_changed_through_the_web(audited_app):
    client = staff_browser(audited_app, 'alice')
    token = client.get('/manage/audit').html.find('input', {'name': 'csrf_token'})['value']
    with nothing_changes(audited_app):
        for path in ('/manage/audit', '/manage/audit/', '/manage/audit/@@csv',
                     '/manage/audit/@@delete', '/manage/audit/@@edit'):
            for method in ('post', 'put', 'delete'):
                response = getattr(client, method)(path, {'csrf_token': token}, status='*')
                assert response.status_int in (403, 404, 405), (method, path)


def test_customers_never_see_the_log(audited_app):
    customer = Client(audited_app, extra_environ={'HTTP_HOST': HOST}).sign_in_active(rfc=IXTAPA)
    for path in ('/manage/audit', '/manage/audit/@@csv'):
        assert customer.get(path, status='*').status_int == 403


def test_the_staff_page_links_to_its_entries(audited_app):
    client = staff_browser(audited_app, 'alice')
    page = client.get('/manage/staff/alice')
    link = page.html.find('a', string='Ver su historial en la bitácora')['href']
    rows = rows_of(client.get(link))
    assert rows and {row[3] for row in rows} == {'/staff/alice'}


def test_a_page_of_a_long_log_loads_only_a_few_buckets():
    """Paging newest first must not walk every bucket of the log's BTree."""
    import transaction
    import ZODB
    from canonportal.resources.audit import AuditLog

    db = ZODB.DB(None)
    try:
        manager = transaction.TransactionManager()
        conn = db.open(transaction_manager=manager)
        log = conn.root()['log'] = AuditLog()
        for n in range(20000):
            log.append(BASE + datetime.timedelta(seconds=n), 'system:test', 'test.bulk',
                       '/customers', '', str(n))
        manager.commit()
        conn.close()
        db.cacheMinimize()
        conn = db.open(transaction_manager=manager)
        log = conn.root()['log']
        buckets = 20000 // 60   # at least: a bucket of an LOBTree holds up to 60 keys
        first = [entry.after for entry, _ in zip(log.newest_first(), range(50))]
        assert first == [str(n) for n in range(19999, 19949, -1)]
        assert conn._cache.cache_non_ghost_count < 20 < buckets
        since = BASE + datetime.timedelta(seconds=100)
        until = BASE + datetime.timedelta(seconds=103)
        assert [e.after for e in log.newest_first(since, until)] == ['102', '101', '100']
        conn.close()
    finally:
        db.close()
