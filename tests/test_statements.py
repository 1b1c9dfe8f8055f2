"""ESTADOS DE CUENTA: the page as the manual shows it, statement PDFs, statements by period."""
import io

import pytest
from pypdf import PdfReader
from ZODB.blob import Blob

from portal_support import CANON, IXTAPA, last_form, with_root

PAGE = f'/customers/{CANON}/estados-de-cuenta'
RANGE = f'/customers/{CANON}/estado-de-cuenta.pdf'
MANUAL_ROWS = [
    ['171001', '005300', '01/10/2017 01:03:01 p.m.'],
    ['170901', '005300', '01/09/2017 05:04:42 p.m.'],
    ['170803', '005300', '04/08/2017 05:00:03 p.m.'],
    ['170801', '005300', '01/08/2017 05:03:36 p.m.'],
]


def pdf_text(body):
    return '\n'.join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_page_shows_the_manuals_table_newest_first(canon):
    page = canon.get(PAGE)
    assert page.html.find('h1').get_text(strip=True) == 'Estados de cuenta'
    ident = page.html.find(class_='ident').get_text(' ', strip=True)
    assert f'RFC: {CANON}' in ident and 'Nombre: Canon Mexicana SA de CV' in ident
    table = page.html.find('table', class_='statements')
    headers = [th.get_text(strip=True) for th in table.find('thead').find_all('th')]
    assert headers == ['Estado de cuenta', '# Cliente', 'Fecha de expedición',
                       'Descargar estado de cuenta']
    assert all(th['scope'] == 'col' for th in table.find_all('th'))
    assert table.find_parent('div')['class'] == ['table-wrap']
    rows = table.find('tbody').find_all('tr')
    assert [[td.get_text(strip=True) for td in row.find_all('td')[:3]] for row in rows] == MANUAL_ROWS
    links = [row.find('a')['href'] for row in rows]
    assert links[0].endswith(f'/customers/{CANON}/statements/171001/@@pdf')
    assert [link.rsplit('/', 2)[-2] for link in links] == [row[0] for row in MANUAL_ROWS]
    assert 'statements.css' in page.text


def test_page_form_has_labelled_fields_and_only_own_accounts(canon):
    page = canon.get(PAGE)
    form = last_form(page)
    assert form.action.endswith('/estado-de-cuenta.pdf') and form.method.upper() == 'GET'
    for name in ('cuenta', 'desde', 'hasta'):
        field = page.html.find(attrs={'name': name})
        assert page.html.find('label', attrs={'for': field['id']}) is not None
    options = [o['value'] for o in page.html.find('select', attrs={'name': 'cuenta'}).find_all('option')]
    assert options == ['005300', '005301']
    # The limit is said beside the dates before anything is submitted.
    limit = page.html.find(id='range-limit')
    assert limit.get_text(strip=True) == 'El periodo puede abarcar hasta 5 años.'
    assert limit.find_parent('form') is not None
    for name in ('desde', 'hasta'):
        assert page.html.find(attrs={'name': name})['aria-describedby'] == 'range-limit'


def test_generated_statement_pdf(canon):
    response = canon.get(f'/customers/{CANON}/statements/171001/@@pdf')
    assert response.content_type == 'application/pdf'
    assert response.headers['Content-Disposition'] == \
        'attachment; filename="estado-de-cuenta-171001-005300.pdf"'
    assert response.body.startswith(b'%PDF')
    text = pdf_text(response.body)
    for expected in (CANON, 'Canon Mexicana SA de CV', '005300', 'Estado de cuenta 171001',
                     '01-09-2017 al 30-09-2017', 'Saldo inicial', 'Saldo final',
                     'Antigüedad de saldos', 'Al corriente', '1–30 días', '31–60 días',
                     '61–90 días', 'Más de 90 días', 'MXN', 'USD'):
        assert expected in text, expected
    # August's paid invoices open September and are settled in it.
    assert '12,500.00' in text and '98.40' in text


def test_statement_pdf_with_the_erps_blob_is_served_byte_for_byte(app, canon):
    original = b'%PDF-1.4\n% ERP statement 170901\n' + bytes(range(256)) * 40 + b'\n%%EOF\n'

    def store(root):
        statement = root.customers[CANON].statements['170901']
        statement.pdf = Blob()
        with statement.pdf.open('w') as f:
            f.write(original)

    with_root(app, store)
    response = canon.get(f'/customers/{CANON}/statements/170901/@@pdf')
    assert response.content_type == 'application/pdf'
    assert response.headers['Content-Disposition'] == \
        'attachment; filename="estado-de-cuenta-170901-005300.pdf"'
    assert response.body == original
    assert int(response.headers['Content-Length']) == len(original)


def test_statement_for_a_chosen_period_and_account(canon):
    form = last_form(canon.get(PAGE))
    form['cuenta'] = '005300'
    form['desde'] = '2017-10-01'
    form['hasta'] = '2017-10-31'
    response = form.submit()
    assert response.content_type == 'application/pdf'
    assert response.headers['Content-Disposition'] == \
        'attachment; filename="estado-de-cuenta-005300-20171001-20171031.pdf"'
    assert response.body.startswith(b'%PDF')
    text = pdf_text(response.body)
    for expected in (CANON, '005300', '01-10-2017 al 31-10-2017', '6212976', '27,794.52',
                     '1233074', 'Pago en línea a factura 1233074', '228', '1,287.00',
                     'Antigüedad de saldos al 31-10-2017'):
        assert expected in text, expected
    # The other account's invoice is not in this statement.
    assert '6213050' not in text


def test_statement_for_the_second_account(canon):
    response = canon.get(RANGE, {'cuenta': '005301', 'desde': '01-10-2017', 'hasta': '31/10/2017'})
    text = pdf_text(response.body)
    assert '005301' in text and '6213050' in text and '4,350.00' in text
    assert '6212976' not in text


@pytest.mark.parametrize('params, field, message', [
    ({'cuenta': '005300', 'desde': '2017-10-31', 'hasta': '2017-10-01'}, 'hasta',
     'La fecha final debe ser igual o posterior a la fecha inicial.'),
    ({'cuenta': '005300', 'desde': '2010-01-01', 'hasta': '2017-10-31'}, 'desde',
     'El periodo no puede ser mayor a 5 años.'),
    ({'cuenta': '005300', 'desde': 'ayer', 'hasta': '2017-10-31'}, 'desde',
     'La fecha inicial no es válida'),
    ({'cuenta': '005300', 'desde': '2017-02-30', 'hasta': '2017-10-31'}, 'desde',
     'La fecha inicial no es válida'),
    ({'cuenta': '005300', 'desde': '2017-10-01', 'hasta': ''}, 'hasta',
     'Indique la fecha final.'),
    ({'cuenta': '007100', 'desde': '2017-10-01', 'hasta': '2017-10-31'}, 'cuenta',
     'Seleccione una de sus cuentas.'),
    ({'desde': '2017-10-01', 'hasta': '2017-10-31'}, 'cuenta',
     'Seleccione una de sus cuentas.'),
])
def test_bad_ranges_redisplay_the_page_with_a_message(canon, params, field, message):
    response = canon.get(RANGE, params, status=400)
    assert response.content_type == 'text/html'
    assert not response.body.startswith(b'%PDF')
    error = response.html.find(id=f'{field}-error')
    assert error is not None and message in error.get_text()
    described = f'{field}-error' + (' range-limit' if field in ('desde', 'hasta') else '')
    assert response.html.find(attrs={'name': field})['aria-describedby'] == described
    # The page is still the whole page, with the customer's statements.
    assert 'Descargar estado de cuenta' in response.text
    # What the customer typed is kept.
    if params.get('desde'):
        assert response.html.find(attrs={'name': 'desde'})['value'] == params['desde']


def test_a_period_ending_in_the_future_is_refused(frozen_clock, canon):
    response = canon.get(RANGE, {'cuenta': '005300', 'desde': '2026-11-01', 'hasta': '2026-11-30'},
                         status=400)
    assert 'no puede ser posterior a hoy' in response.html.find(id='hasta-error').get_text()
    ok = canon.get(RANGE, {'cuenta': '005300', 'desde': '2026-11-01', 'hasta': '2026-11-29'})
    assert ok.content_type == 'application/pdf'


def test_another_customer_gets_403_on_canons_statements(app, canon, other_client):
    other_client.sign_in_active(rfc=IXTAPA)
    for path in (PAGE, f'/customers/{CANON}/statements/171001/@@pdf',
                 f'/customers/{CANON}/statements/170901/@@pdf'):
        assert other_client.get(path, status=403).status_int == 403
    refused = other_client.get(RANGE, {'cuenta': '005300', 'desde': '2017-10-01',
                                       'hasta': '2017-10-31'}, status=403)
    assert b'%PDF' not in refused.body and 'Canon Mexicana SA de CV' not in refused.text
    # Its own statement and page work, and show none of Canon's.
    own = other_client.get(f'/customers/{IXTAPA}/estados-de-cuenta')
    assert '171002' in own.text and '171001' not in own.text
    pdf = other_client.get(f'/customers/{IXTAPA}/statements/171002/@@pdf')
    text = pdf_text(pdf.body)
    assert IXTAPA in text and '007100' in text and CANON not in text
    # Its range statement refuses Canon's account.
    other_client.get(f'/customers/{IXTAPA}/estado-de-cuenta.pdf',
                     {'cuenta': '005300', 'desde': '2017-10-01', 'hasta': '2017-10-31'}, status=400)


def test_anonymous_visitors_are_sent_to_the_login(client):
    for path in (PAGE, f'/customers/{CANON}/statements/171001/@@pdf', RANGE):
        response = client.get(path, status=302)
        assert response.location.rstrip('/') == 'http://portal.example.mx'


def test_a_statement_loads_only_the_payments_of_its_account(app, canon, monkeypatch):
    """A statement of 005300 reads the payments with an allocation to 005300 (through
    HISTORIAL's index); those that paid only 005301 stay unloaded, and the ones it reads
    still count."""
    import datetime
    from canonportal.bootstrap import mexico_time
    from canonportal.money import to_money
    from canonportal.resources import Allocation, Payment
    from payment_support import payments_loaded
    from portal_support import database_of

    def add(root):
        canon_customer = root.customers[CANON]
        for n in range(20):
            account = '005301' if n % 4 else '005300'
            when = mexico_time(2017, 9, 10, 9, 0, 0) + datetime.timedelta(hours=n)
            payment = Payment(str(500 + n), CANON, 'bbva', [Allocation(
                f'S{n:02d}', account, 'MXN', to_money('7.00'), to_money('7.00'))], created=when)
            payment.transition('approved', when, 'test')
            canon_customer.add_payment(payment)
    with_root(app, add)
    database_of(app).cacheMinimize()
    loaded = payments_loaded(monkeypatch)
    text = pdf_text(canon.get(f'/customers/{CANON}/statements/171001/@@pdf').body)
    assert sorted(loaded) == sorted([str(500 + n) for n in range(0, 20, 4)] + ['228'])
    assert all(str(500 + n) in text for n in range(0, 20, 4))
    assert not any(str(500 + n) in text for n in range(1, 20, 4))
