"""HISTORIAL DE PAGOS: the manual's table, its filters, pagination and the CSV download."""
import csv
import datetime
import io

import pytest

from canonportal.bootstrap import mexico_time
from canonportal.money import to_money
from canonportal.resources import Allocation, Payment
from canonportal.resources.payment import (APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED,
                                           PENDING, REVIEW)
from portal_support import CANON, IXTAPA, with_root

PAGE = f'/customers/{CANON}/historial-de-pagos'
CSV = f'/customers/{CANON}/historial-de-pagos.csv'
MANUAL_COLUMNS = ['Fecha de pago', 'Referencia de pago', 'Referencia bancaria', 'Monto',
                  'Factura pagada', 'Complemento de pago']
MANUAL_ROW = ['10/10/2017 08:34:00 a.m.', '228', 'BC-Banamex 063197', '$18.31 MXN', '1233074']
CSV_HEADER = ['Fecha de pago', 'Referencia de pago', 'Referencia bancaria', 'Monto (MXN)',
              'Factura pagada', 'Cuenta', 'Estado', 'Preparó', 'Aprobó',
              'Complemento de pago']


def add_payment(app, reference, lines, state=APPROVED, when=None, bank_reference=None,
                paid_at=None, rfc=CANON):
    """Store a payment of ``rfc``: ``lines`` are (invoice key, account, MXN amount).

    The payment is created at ``when`` and moved to ``state`` through the
    allowed transitions, each at ``when`` plus a minute.
    """
    when = when or mexico_time(2017, 10, 20, 12, 0, 0)
    path = {PENDING: (), APPROVED: (APPROVED,), APPLIED: (APPROVED, APPLIED),
            REVIEW: (REVIEW,), DECLINED: (DECLINED,), CANCELLED: (CANCELLED,),
            EXPIRED: (EXPIRED,)}[state]

    def work(root):
        payment = Payment(reference, rfc, 'bbva', [
            Allocation(key, account, 'MXN', to_money(amount), to_money(amount))
            for key, account, amount in lines], created=when)
        for step, new_state in enumerate(path, start=1):
            payment.transition(new_state, when + datetime.timedelta(minutes=step), 'test')
        if bank_reference is not None:
            payment.bank_reference = bank_reference
        if paid_at is not None:
            payment.paid_at = paid_at
        root.customers[rfc].add_payment(payment)

    with_root(app, work)


def table_rows(page):
    """The history table's rows as lists of the texts of the manual's cells (the empty-table
    row left out; the column "Complemento de pago" is test_complement_pages.py's)."""
    rows = []
    for tr in page.html.select('table.history-table tbody tr'):
        cells = tr.find_all('td')
        if len(cells) == 1 and 'empty' in (cells[0].get('class') or []):
            continue
        rows.append([' '.join(td.get_text(' ', strip=True).split()) for td in cells[:5]])
    return rows


def csv_rows(response):
    assert response.body.startswith(b'\xef\xbb\xbf')
    return list(csv.reader(io.StringIO(response.body.decode('utf-8-sig'), newline='')))


# --- the page as the manual shows it ---------------------------------------------

def test_page_has_the_manuals_heading_filters_and_columns(canon):
    page = canon.get(PAGE)
    assert page.html.find('h1').get_text(strip=True) == 'Historial de pagos'
    assert 'RFC:' in page.text and CANON in page.text and 'Canon Mexicana SA de CV' in page.text
    labels = {label['for']: label.get_text(strip=True) for label in page.html.find_all('label')}
    assert labels['filter-account'] == 'Filtrar por cuenta:'
    assert labels['filter-month'] == 'Filtrar por fecha:'
    options = [o.get_text(strip=True) for o in page.html.find('select', id='filter-account')('option')]
    assert options == ['Todas', '005300', '005301']
    month = page.html.find('input', id='filter-month')
    assert month['type'] == 'month'
    assert page.html.find('h2').get_text(strip=True) == 'Listado de pagos'
    headers = page.html.select('table.history-table thead th')
    assert [th.get_text(strip=True) for th in headers] == MANUAL_COLUMNS
    assert all(th['scope'] == 'col' for th in headers)
    assert page.html.select_one('div.table-wrap > table.history-table')
    assert page.html.find('link', href=lambda h: h and h.endswith('/static/history.css'))
    current = page.html.find('a', attrs={'aria-current': 'page'})
    assert current.get_text(strip=True) == 'HISTORIAL DE PAGOS'


def test_the_demo_row_is_the_manuals(canon):
    page = canon.get(PAGE)
    assert table_rows(page) == [MANUAL_ROW]
    assert 'Total pagado: $18.31 MXN' in ' '.join(page.html.get_text(' ').split())


def test_the_paid_invoice_links_to_its_page(canon):
    page = canon.get(PAGE)
    row = page.html.select_one('table tbody tr')
    link = row.find_all('td')[4].find('a')
    assert link.get_text(strip=True) == '1233074'
    invoice = canon.get(link['href'].replace('https://portal.example.mx', ''))
    assert invoice.status_int == 200 and '1233074' in invoice.text


def test_every_page_names_its_favicon_and_it_is_served(canon):
    icon = canon.get(PAGE).html.find('link', rel='icon')
    assert icon['type'] == 'image/svg+xml'
    served = canon.get(icon['href'].replace('https://portal.example.mx', ''))
    assert served.content_type == 'image/svg+xml' and b'<svg' in served.body


def test_static_css_is_served(canon):
    css = canon.get('/static/history.css')
    assert css.content_type == 'text/css'


# --- filters ------------------------------------------------------------------------

def test_filter_by_account(canon):
    page = canon.get(PAGE, {'cuenta': '005300'})
    assert table_rows(page) == [MANUAL_ROW]
    selected = page.html.find('select', id='filter-account').find('option', selected=True)
    assert selected['value'] == '005300'

    other = canon.get(PAGE, {'cuenta': '005301'})
    assert table_rows(other) == []
    assert 'No hay pagos que mostrar con estos filtros.' in other.text
    assert '228' not in [c for row in table_rows(other) for c in row]


def test_filter_by_account_is_per_invoice_paid(app, canon):
    add_payment(app, '300', [('6212976', '005300', '100.00'), ('6213050', '005301', '50.00')],
                bank_reference='BBVA 1')
    rows = table_rows(canon.get(PAGE, {'cuenta': '005301'}))
    assert [(r[1], r[4]) for r in rows] == [('300', '6213050')]


def test_filter_by_month(canon):
    page = canon.get(PAGE, {'mes': '2017-10'})
    assert table_rows(page) == [MANUAL_ROW]
    assert page.html.find('input', id='filter-month')['value'] == '2017-10'
    assert table_rows(canon.get(PAGE, {'mes': '2017-09'})) == []
    assert table_rows(canon.get(PAGE, {'mes': '2017-11'})) == []


def test_month_is_the_mexico_city_month(app, canon):
    # 03:00 UTC on November 1st is still October 31st in Mexico City.
    late = datetime.datetime(2017, 11, 1, 3, 0, tzinfo=datetime.timezone.utc)
    add_payment(app, '301', [('6212976', '005300', '10.00')], when=late, paid_at=late)
    october = table_rows(canon.get(PAGE, {'mes': '2017-10'}))
    assert [r[1] for r in october] == ['301', '228']
    assert october[0][0] == '31/10/2017 09:00:00 p.m.'
    assert table_rows(canon.get(PAGE, {'mes': '2017-11'})) == []


def test_both_filters_together(app, canon):
    add_payment(app, '302', [('6213050', '005301', '20.00')],
                when=mexico_time(2017, 9, 15, 10, 0, 0))
    assert [r[1] for r in table_rows(canon.get(PAGE, {'cuenta': '005301', 'mes': '2017-09'}))] \
        == ['302']
    assert table_rows(canon.get(PAGE, {'cuenta': '005300', 'mes': '2017-09'})) == []
    assert table_rows(canon.get(PAGE, {'cuenta': '', 'mes': ''})) != []


@pytest.mark.parametrize('month', ['2017-13', '2017-00', '2017-1', 'octubre', '10-2017',
                                   '2017-10-01', '0000-10', '２０１７-10'])
def test_bad_month_is_refused_with_a_message(canon, month):
    page = canon.get(PAGE, {'mes': month}, status=400)
    error = page.html.find(id='filter-month-error')
    assert error.get_text(strip=True) == 'Escriba el mes como año-mes, por ejemplo 2017-10.'
    assert page.html.find('input', id='filter-month')['aria-invalid'] == 'true'
    assert page.html.find('input', id='filter-month')['aria-describedby'] == 'filter-month-error'
    assert table_rows(page) == [] and '228' not in page.html.find('main').get_text()


@pytest.mark.parametrize('account', ['007100', '999999', '005300 OR 1=1', '<b>x</b>'])
def test_account_not_the_customers_is_refused(canon, account):
    page = canon.get(PAGE, {'cuenta': account}, status=400)
    error = page.html.find(id='filter-account-error')
    assert 'no es una de sus cuentas' in error.get_text()
    assert page.html.find('select', id='filter-account')['aria-invalid'] == 'true'
    assert '<b>x</b>' not in page.text
    assert 'BC-Banamex 063197' not in page.text


# --- which payments, in which order ----------------------------------------------------

def test_newest_first_one_row_per_invoice(app, canon):
    add_payment(app, '229', [('6212976', '005300', '1000.00'), ('1233076', '005300', '3171.86')],
                when=mexico_time(2017, 10, 12, 9, 0, 0), bank_reference='BBVA 000229')
    add_payment(app, '230', [('1233080', '005300', '5904.42')],
                when=mexico_time(2017, 11, 2, 16, 30, 0), bank_reference='BC-Banamex 063300')
    rows = table_rows(canon.get(PAGE))
    assert [(r[1], r[4]) for r in rows] == [
        ('230', '1233080'), ('229', '1233076'), ('229', '6212976'), ('228', '1233074')]
    # No paid_at: the date is the approval's (created + 1 minute in add_payment).
    assert rows[0][0] == '02/11/2017 04:31:00 p.m.'
    assert rows[0][2] == 'BC-Banamex 063300'
    assert rows[1][3] == '$3,171.86 MXN'


def test_payment_date_prefers_paid_at_then_approval_then_creation(app, canon):
    created = mexico_time(2017, 10, 20, 12, 0, 0)
    add_payment(app, '240', [('A', '005300', '1.00')], when=created,
                paid_at=mexico_time(2017, 10, 21, 7, 5, 9))
    add_payment(app, '241', [('B', '005300', '1.00')], when=created)
    add_payment(app, '242', [('C', '005300', '1.00')], state=PENDING, when=created)
    dates = {r[1]: r[0] for r in table_rows(canon.get(PAGE))}
    assert dates['240'] == '21/10/2017 07:05:09 a.m.'
    assert dates['241'] == '20/10/2017 12:01:00 p.m.'
    assert dates['242'].startswith('20/10/2017 12:00:00 p.m.')


def test_states_paid_pending_review_and_failed_attempts(app, canon):
    add_payment(app, '250', [('A', '005300', '100.00')], state=APPLIED, bank_reference='APL')
    add_payment(app, '251', [('B', '005300', '200.00')], state=PENDING)
    add_payment(app, '252', [('C', '005300', '300.00')], state=REVIEW)
    add_payment(app, '253', [('D', '005300', '400.00')], state=DECLINED)
    add_payment(app, '254', [('E', '005300', '500.00')], state=CANCELLED)
    add_payment(app, '255', [('F', '005300', '600.00')], state=EXPIRED)
    page = canon.get(PAGE)
    rows = {r[1]: r for r in table_rows(page)}
    assert set(rows) == {'228', '250', '251', '252', '253', '254', '255'}
    assert 'Pendiente de confirmación del banco' in rows['251'][0]
    assert 'En revisión' in rows['252'][0]
    assert 'Rechazado por el banco' in rows['253'][0]
    assert 'Cancelado' in rows['254'][0]
    assert 'Expirado sin pagar' in rows['255'][0]
    assert 'Pendiente' not in rows['250'][0] and 'Pendiente' not in rows['228'][0]
    classes = {tr.find_all('td')[1].get_text(strip=True): tr.get('class') or []
               for tr in page.html.select('table.history-table tbody tr')}
    assert classes['253'] == classes['254'] == classes['255'] == ['failed']
    text = ' '.join(page.html.get_text(' ').split())
    # Only approved and applied payments count as paid: 18.31 + 100.00.
    assert 'Total pagado: $118.31 MXN' in text
    assert 'no se suman al total pagado' in text
    assert 'Los intentos rechazados, cancelados o expirados no cobraron nada' in text

    states = {row[1]: row[6] for row in csv_rows(canon.get(CSV))[1:]}
    assert states == {'228': 'Pagado', '250': 'Pagado y aplicado',
                      '251': 'Pendiente de confirmación del banco', '252': 'En revisión',
                      '253': 'Rechazado por el banco', '254': 'Cancelado',
                      '255': 'Expirado sin pagar'}


def test_the_state_filter_keeps_one_state_on_the_page_the_csv_and_the_pager(app, canon):
    add_payment(app, '253', [('D', '005300', '400.00')], state=DECLINED)
    add_payment(app, '254', [('E', '005300', '500.00')], state=CANCELLED)
    page = canon.get(PAGE, {'estado': 'declined'})
    assert [r[1] for r in table_rows(page)] == ['253']
    assert page.html.find('select', id='filter-state').find('option', selected=True)['value'] == 'declined'
    text = ' '.join(page.html.get_text(' ').split())
    assert 'Total pagado: $0.00 MXN' in text and 'Quitar filtros' in text
    csv_link = page.html.find('a', class_='history-csv')['href']
    assert 'estado=declined' in csv_link
    assert [row[1] for row in csv_rows(canon.get(csv_link))[1:]] == ['253']
    paid = canon.get(PAGE, {'estado': 'approved'})
    assert [r[1] for r in table_rows(paid)] == ['228']
    labels = [o.get_text(strip=True) for o in page.html.find('select', id='filter-state').find_all('option')]
    assert labels[0] == 'Todos' and 'Rechazado por el banco' in labels and 'Cancelado' in labels


@pytest.mark.parametrize('state', ['paid', 'DECLINED', '<b>x</b>', 'x' * 5000])
def test_an_unknown_state_is_refused_with_a_message_and_no_rows(canon, state):
    page = canon.get(PAGE, {'estado': state}, status=400)
    assert page.html.find(id='filter-state-error').get_text(strip=True) == \
        'Elija un estado de la lista o "Todos".'
    assert page.html.find(id='filter-state')['aria-invalid'] == 'true'
    assert table_rows(page) == []
    assert '<b>x</b>' not in page.text
    canon.get(CSV, {'estado': state}, status=400)


def test_html_shows_bank_references_as_text(app, canon):
    add_payment(app, '260', [('X', '005300', '1.00')], bank_reference='<script>alert(1)</script>')
    page = canon.get(PAGE)
    assert '<script>alert(1)</script>' not in page.text
    assert '<script>alert(1)</script>' in [r[2] for r in table_rows(page)]


# --- pagination ---------------------------------------------------------------------------

def test_pagination_keeps_the_filters(app, canon):
    # 3 payments of 70 invoices each in October, plus the demo row: 211 rows.
    for number, day in ((270, 11), (271, 12), (272, 13)):
        add_payment(app, str(number), [(f'F{number}-{i:03d}', '005300', '1.00') for i in range(70)],
                    when=mexico_time(2017, 10, day, 10, 0, 0))
    first = canon.get(PAGE, {'cuenta': '005300', 'mes': '2017-10'})
    rows = table_rows(first)
    assert len(rows) == 100
    assert [r[1] for r in rows[:70]] == ['272'] * 70 and rows[70][1] == '271'
    assert rows[0][4] == 'F272-000'
    assert 'Página 1 de 3' in ' '.join(first.html.get_text(' ').split())
    assert first.html.find('a', rel='prev') is None
    next_href = first.html.find('a', rel='next')['href']
    assert 'cuenta=005300' in next_href and 'mes=2017-10' in next_href and 'pagina=2' in next_href

    second = canon.get(next_href)
    assert len(table_rows(second)) == 100
    assert second.html.find('a', rel='prev') and second.html.find('a', rel='next')

    last = canon.get(second.html.find('a', rel='next')['href'])
    last_rows = table_rows(last)
    assert len(last_rows) == 11 and last_rows[-1] == MANUAL_ROW
    assert last.html.find('a', rel='next') is None
    # The total covers every page, not just the one shown.
    assert 'Total pagado: $228.31 MXN' in ' '.join(last.html.get_text(' ').split())

    # Out-of-range or garbled page numbers land on a real page.
    assert table_rows(canon.get(PAGE, {'pagina': '99'}))[-1] == MANUAL_ROW
    assert table_rows(canon.get(PAGE, {'pagina': 'abc'}))[0][1] == '272'
    assert table_rows(canon.get(PAGE, {'pagina': '-3'}))[0][1] == '272'


def test_no_pager_on_a_single_page(canon):
    page = canon.get(PAGE)
    assert page.html.find('nav', class_='pager') is None


# --- CSV ----------------------------------------------------------------------------------

def test_csv_download(canon):
    response = canon.get(CSV)
    assert response.content_type == 'text/csv'
    assert response.charset == 'utf-8'
    assert response.headers['Content-Disposition'] == \
        f'attachment; filename="historial-pagos-{CANON}-todo.csv"'
    rows = csv_rows(response)
    assert rows == [CSV_HEADER,
                    ['2017-10-10 08:34:00', '228', 'BC-Banamex 063197', '18.31', '1233074',
                     '005300', 'Pagado', '', '', '']]   # 228 predates who prepared and approved;
    # its REP has not come yet (test_complement_pages: the UUID once it has)
    assert b'\r\n' in response.body


def test_csv_link_on_the_page_keeps_the_filters(canon):
    page = canon.get(PAGE, {'cuenta': '005300', 'mes': '2017-10'})
    link = page.html.find('a', class_='history-csv')['href']
    assert 'cuenta=005300' in link and 'mes=2017-10' in link
    response = canon.get(link)
    assert response.headers['Content-Disposition'] == \
        f'attachment; filename="historial-pagos-{CANON}-2017-10.csv"'
    assert [row[1] for row in csv_rows(response)[1:]] == ['228']


def test_csv_applies_the_filters(app, canon):
    add_payment(app, '280', [('6213050', '005301', '4350.00')], bank_reference='BBVA 280',
                when=mexico_time(2017, 9, 3, 11, 0, 0))
    assert [r[1] for r in csv_rows(canon.get(CSV))[1:]] == ['228', '280']
    assert [r[1] for r in csv_rows(canon.get(CSV, {'cuenta': '005301'}))[1:]] == ['280']
    assert [r[1] for r in csv_rows(canon.get(CSV, {'mes': '2017-10'}))[1:]] == ['228']
    assert csv_rows(canon.get(CSV, {'mes': '2017-08'})) == [CSV_HEADER]
    # Amounts are plain decimals a spreadsheet can sum.
    assert [r[3] for r in csv_rows(canon.get(CSV))[1:]] == ['18.31', '4350.00']


def test_csv_bad_filters_are_refused(canon):
    page = canon.get(CSV, {'mes': '2017-13'}, status=400)
    assert 'Escriba el mes como año-mes' in page.text
    assert page.content_type == 'text/html'
    page = canon.get(CSV, {'cuenta': '007100'}, status=400)
    assert 'no es una de sus cuentas' in page.text


@pytest.mark.parametrize('bank_reference', [
    '=cmd|" /C calc"!A0', '+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1'])
def test_csv_escapes_formulas(app, canon, bank_reference):
    add_payment(app, '290', [('=HYPERLINK("x")', '005300', '5.00')],
                bank_reference=bank_reference)
    rows = {row[1]: row for row in csv_rows(canon.get(CSV))[1:]}
    assert rows['290'][2] == "'" + bank_reference
    assert rows['290'][4] == '\'=HYPERLINK("x")'
    assert rows['290'][3] == '5.00'
    assert rows['228'][2] == 'BC-Banamex 063197'


# --- who may see what -----------------------------------------------------------------------

def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(PAGE).status_int == 302
    assert client.get(CSV).status_int == 302


def test_other_customer_cannot_see_canons_history(app, other_client):
    other_client.sign_in_active(rfc=IXTAPA)
    other_client.set_cookie('lang', 'es')
    other_client.get(PAGE, status=403)
    other_client.get(CSV, status=403)
    other_client.get(PAGE, {'mes': '2017-10'}, status=403)

    own = other_client.get(f'/customers/{IXTAPA}/historial-de-pagos')
    assert table_rows(own) == []
    assert 'BC-Banamex 063197' not in own.text
    options = [o['value'] for o in own.html.find('select', id='filter-account')('option')]
    assert options == ['', '007100']
    own_csv = other_client.get(f'/customers/{IXTAPA}/historial-de-pagos.csv')
    assert csv_rows(own_csv) == [CSV_HEADER]
    assert own_csv.headers['Content-Disposition'] == \
        f'attachment; filename="historial-pagos-{IXTAPA}-todo.csv"'
    # Canon's account is not one of Ixtapa's.
    other_client.get(f'/customers/{IXTAPA}/historial-de-pagos', {'cuenta': '005300'}, status=400)


def test_each_customer_sees_only_its_own_payments(app, other_client):
    add_payment(app, '295', [('7100501', '007100', '15230.40')], rfc=IXTAPA,
                bank_reference='BBVA 295')
    other_client.sign_in_active(rfc=IXTAPA)
    other_client.set_cookie('lang', 'es')
    rows = table_rows(other_client.get(f'/customers/{IXTAPA}/historial-de-pagos'))
    assert [(r[1], r[2], r[4]) for r in rows] == [('295', 'BBVA 295', '7100501')]


def test_attachment_names_with_non_ascii_rfcs():
    from canonportal.views.history import attachment
    assert attachment('historial-pagos-CME930812PW3-todo.csv') == \
        'attachment; filename="historial-pagos-CME930812PW3-todo.csv"'
    assert attachment('historial-pagos-ÑAB010101AB1-2017-10.csv') == (
        'attachment; filename="historial-pagos-_AB010101AB1-2017-10.csv"; '
        "filename*=UTF-8''historial-pagos-%C3%91AB010101AB1-2017-10.csv")


# --- the index: order, paging and what a page loads ------------------------------

def many_payments(app, count=150):
    """``count`` payments of Canon, two invoices each, some on the same minute (so the
    reference decides), in every state HISTORIAL shows; one paid_at later than its creation."""
    states = (APPROVED, APPLIED, PENDING, REVIEW, DECLINED, CANCELLED, EXPIRED)
    for n in range(count):
        when = mexico_time(2017, 11, 1 + n % 28, 9, n % 3, 0)
        add_payment(app, str(300 + n), [(f'H{n:03d}-B', '005301' if n % 5 else '005300', '2.00'),
                                        (f'H{n:03d}-A', '005300', '1.00')],
                    state=states[n % len(states)], when=when,
                    paid_at=mexico_time(2017, 12, 1, 8, 0, 0) if n == 7 else None)


def every_row_as_before(app, params):
    """The rows as the page listed them before its index: every payment read, sorted."""
    from canonportal.formatting import local_time
    from canonportal.resources.payment_history import payment_date
    from canonportal.resources.payment import reference_order
    from canonportal.views.history import SHOWN_STATES

    def read(root):
        rows = []
        for payment in root.customers[CANON].payments.values():
            if payment.state not in SHOWN_STATES:
                continue
            for a in payment.allocations:
                rows.append((payment_date(payment), payment.reference, a.invoice_key,
                             a.account, payment.state))
        rows.sort(key=lambda row: row[2])
        rows.sort(key=lambda row: (row[0], reference_order(row[1])), reverse=True)
        return [(ref, key) for when, ref, key, account, state in rows
                if (not params.get('cuenta') or account == params['cuenta'])
                and (not params.get('estado') or state == params['estado'])
                and (not params.get('mes')
                     or local_time(when).strftime('%Y-%m') == params['mes'])]
    return with_root(app, read)


@pytest.mark.parametrize('params', [{}, {'cuenta': '005300'}, {'estado': 'declined'},
                                    {'mes': '2017-11', 'cuenta': '005301'}])
def test_many_payments_page_in_the_same_order_as_reading_them_all(app, canon, params):
    many_payments(app)
    expected = every_row_as_before(app, params)
    shown, number = [], 1
    while True:
        page = canon.get(PAGE, dict(params, pagina=str(number)))
        shown += [(r[1], r[4]) for r in table_rows(page)]
        if page.html.find('a', rel='next') is None:
            break
        number += 1
    assert shown == expected and number == max(1, -(-len(expected) // 100))
    assert f'Registros: {len(expected)}' in ' '.join(page.html.get_text(' ').split())
    assert [row[1:5:3] for row in csv_rows(canon.get(CSV, params))[1:]] == [list(r) for r in expected]


def test_a_page_loads_only_the_payments_it_shows(app, canon, monkeypatch):
    from payment_support import payments_loaded
    from portal_support import database_of
    many_payments(app)
    database_of(app).cacheMinimize()
    loaded = payments_loaded(monkeypatch)
    page = canon.get(PAGE, {'pagina': '2'})
    shown = {r[1] for r in table_rows(page)}
    assert len(shown) == 50 and sorted(loaded) == sorted(shown)
    # Totals still cover every page: 18.31 plus 3.00 for each approved or applied payment.
    paid = sum(1 for n in range(150) if n % 7 in (0, 1))
    assert f'Total pagado: ${18.31 + 3 * paid:,.2f} MXN' in ' '.join(page.html.get_text(' ').split())
    del loaded[:]
    database_of(app).cacheMinimize()
    declined = canon.get(PAGE, {'estado': 'declined'})
    assert sorted(loaded) == sorted({r[1] for r in table_rows(declined)})


def test_a_settled_payment_moves_to_its_paid_date(app, canon):
    """The payment date moves when the bank approves: the index follows the transition."""
    from canonportal.payments import service
    from canonportal.gateways import BankResult
    add_payment(app, '260', [('A', '005300', '1.00')], state=PENDING,
                when=mexico_time(2017, 10, 1, 9, 0, 0))
    assert [r[1] for r in table_rows(canon.get(PAGE))] == ['228', '260']

    def approve(root):
        payment = root.customers[CANON].payments['260']
        result = BankResult(bank='bbva', reference='260', outcome='approved', amount=to_money('1.00'),
                            currency='MXN', authorization='1', bank_reference='BBVA 1',
                            event_id='e1', verified=True, source='notification', raw={})
        service.settle(root, payment, result, mexico_time(2017, 10, 30, 9, 0, 0))
    with_root(app, approve)
    rows = table_rows(canon.get(PAGE))
    assert [r[1] for r in rows] == ['260', '228'] and rows[0][0].startswith('30/10/2017 09:00')


def long_history(app, first, count):
    """``count`` approved payments of Canon, one invoice line of 2.00 each, references from
    ``first`` on, each an hour older than the one before (a longer history adds older pages);
    written in one transaction."""
    start = mexico_time(2017, 9, 30, 12, 0, 0)

    def work(root):
        customer = root.customers[CANON]
        for n in range(first, first + count):
            when = start - datetime.timedelta(hours=n)
            payment = Payment(str(1000 + n), CANON, 'bbva', [
                Allocation(f'L{n:05d}', '005300', 'MXN', to_money('2.00'), to_money('2.00'))],
                created=when)
            payment.transition(APPROVED, when, 'test')
            customer.add_payment(payment)
    with_root(app, work)


def test_the_first_page_of_2000_payments_loads_what_the_first_of_150_does(app, canon):
    """Counting the rows and totalling what was paid reads the index's tally, not every
    entry: a customer's 2,000 payments cost its first page no more objects than 150."""
    from payment_support import objects_loaded
    from portal_support import database_of

    def first_page_cold():
        database_of(app).cacheMinimize()
        with objects_loaded(app) as counts:
            page = canon.get(PAGE)
        return counts[-1], page
    long_history(app, 0, 150)
    few, page = first_page_cold()
    assert 'Registros: 151' in ' '.join(page.html.get_text(' ').split())
    long_history(app, 150, 1850)
    many, page = first_page_cold()
    text = ' '.join(page.html.get_text(' ').split())
    assert 'Registros: 2001' in text and f'Total pagado: ${18.31 + 2 * 2000:,.2f} MXN' in text
    assert [r[1] for r in table_rows(page)][:2] == ['228', '1000'] and len(table_rows(page)) == 100
    assert many <= few + 5, (few, many)
    # The last page still comes after every other one.
    last = canon.get(PAGE, {'pagina': '21'})
    assert [r[1] for r in table_rows(last)] == ['2999']


def test_two_payments_of_one_customer_committed_at_once_both_count(app, canon):
    """Two transactions each adding a payment of Canon change its HISTORIAL tally at once:
    their changes add up instead of conflicting, and the page counts and totals both."""
    import transaction
    from portal_support import database_of
    from canonportal.bootstrap import ensure_root
    db = database_of(app)
    managers = [transaction.TransactionManager(explicit=True) for _ in range(2)]
    connections = [db.open(transaction_manager=m) for m in managers]
    try:
        for manager in managers:
            manager.begin()
        for n, (manager, connection) in enumerate(zip(managers, connections)):
            when = mexico_time(2017, 11, 2 + n, 9, 0, 0)
            payment = Payment(str(700 + n), CANON, 'bbva', [
                Allocation(f'T{n}', '005300', 'MXN', to_money('5.00'), to_money('5.00'))],
                created=when)
            payment.transition(APPROVED, when, 'test')
            ensure_root(connection.root()).customers[CANON].add_payment(payment)
        for manager in managers:
            manager.commit()
    finally:
        for connection in connections:
            connection.close()
    text = ' '.join(canon.get(PAGE).html.get_text(' ').split())
    assert 'Registros: 3' in text and f'Total pagado: ${18.31 + 10:,.2f} MXN' in text
    assert [r[1] for r in table_rows(canon.get(PAGE))] == ['701', '700', '228']


def test_the_tally_follows_every_transition(app, canon):
    """A payment approved, then applied, or declined: the rows and the total paid, read from
    the tally, are what reading every entry gives."""
    from canonportal.resources.payment_history import Tally
    many_payments(app, count=30)

    def move(root):
        customer = root.customers[CANON]
        customer.payments['300'].transition(APPLIED, mexico_time(2017, 12, 2, 9, 0, 0), 'erp')
        customer.track_payment(customer.payments['300'])
        customer.payments['302'].transition(DECLINED, mexico_time(2017, 12, 2, 9, 0, 0), 'bank')
        customer.track_payment(customer.payments['302'])
    with_root(app, move)

    def tallies(root):
        counted = Tally()
        for entry in root.customers[CANON].history.entries():
            counted.add(entry)
        return root.customers[CANON].history.tally.by_state, counted.by_state
    kept, counted = with_root(app, tallies)
    assert kept == counted and kept['declined'][0] == 1 + 30 // 7
