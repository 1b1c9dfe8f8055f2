"""The staff's search box: customers, invoices and payments found from one text."""
import datetime
from urllib.parse import urlencode, urlsplit

import pytest

from canonportal.bootstrap import demo_uuid
from canonportal.resources import Customer, Invoice
from canonportal.views.manage import search
from portal_support import CANON, IXTAPA, Client, with_root
from manage_support import HOST, facts, staff_client

ACCENTED = 'OAN7001013X4'


@pytest.fixture
def staff(app):
    def add(root):
        customer = root.customers.add_customer(Customer(
            ACCENTED, 'Óptica Compañía del Ñandú, S.A. de C.V.', ('008800',)))
        customer.add_invoice(Invoice('77', '008800', datetime.date(2026, 11, 2),
                                     datetime.date(2026, 12, 2), 'MXN', '1500.00', serie='B',
                                     uuid='0a1b2c3d-0000-4000-8000-00000000abcd'))
        root.customers[CANON].set_email('tesoreria@canon-cliente.mx')
    with_root(app, add)
    return staff_client(app)


def ask(client, text, status='*'):
    """Type ``text`` in the layout's search box and submit it."""
    page = client.get('/manage')
    form = next(f for f in page.forms.values() if (f.action or '').endswith('@@buscar'))
    form['q'] = text
    return form.submit(status=status)


def landed_on(response):
    assert response.status_int == 302, response.status
    return urlsplit(response.location).path


def results(page):
    """{group heading: [(link text, detail, exact?)]}."""
    found = {}
    for section in page.html.select('section.result-group'):
        found[section.find('h2').get_text(strip=True)] = [
            (li.find('a').get_text(strip=True), li.find('span', class_='detail').get_text(strip=True),
             li.find('span', class_='badge') is not None)
            for li in section.find_all('li')]
    return found


def test_an_exact_rfc_goes_straight_to_the_customer(staff):
    for text in (CANON, CANON.lower(), f'  {CANON} '):
        page = ask(staff, text)
        assert landed_on(page).endswith(f'customers/{CANON}')
        assert facts(page.follow())['RFC'] == CANON


def test_an_rfc_prefix_lists_the_customers_starting_with_it(staff):
    page = ask(staff, 'cme9')
    assert results(page) == {'Clientes': [(CANON, 'Canon Mexicana SA de CV', False)]}
    page = ask(staff, 'OAN')
    assert [r[0] for r in results(page)['Clientes']] == [ACCENTED]


def test_a_name_matches_without_case_or_accents(staff):
    for text in ('compania del nandu', 'ÓPTICA', 'ñandú, s.a.'):
        assert [r[0] for r in results(ask(staff, text))['Clientes']] == [ACCENTED], text
    both = results(ask(staff, 'sa de cv'))['Clientes']
    assert {r[0] for r in both} == {CANON, IXTAPA}


def test_a_confirmed_email_finds_its_customer(staff):
    assert landed_on(ask(staff, 'Tesoreria@Canon-Cliente.mx')).endswith(f'customers/{CANON}')


def test_the_name_scan_stops_at_its_limit_and_says_so(staff, monkeypatch):
    monkeypatch.setattr(search, 'NAME_SCAN_LIMIT', 1)
    page = ask(staff, 'distribuidora')
    assert 'Clientes' not in results(page)
    assert 'se revisaron los primeros 1 clientes' in page.text


def test_an_invoice_by_folio_serie_folio_or_uuid(staff):
    page = ask(staff, '6212976')
    assert landed_on(page).endswith(f'customers/{CANON}/invoices/6212976')
    assert facts(page.follow())['Folio'] == '6212976'
    for text in ('B-77', 'b-77', 'B 77', '0A1B2C3D-0000-4000-8000-00000000ABCD',
                 '0a1b2c3d-0000-4000-8000-00000000abcd'):
        assert landed_on(ask(staff, text)).endswith(f'customers/{ACCENTED}/invoices/B-77'), text
    uuid = demo_uuid('1233074')
    assert landed_on(ask(staff, uuid.lower())).endswith('invoices/1233074')


def test_the_start_of_a_folio_or_uuid_lists_the_invoices(staff):
    found = results(ask(staff, '123307'))['Facturas']
    assert [r[0] for r in found] == ['1233074', '1233075', '1233076', '1233077']
    assert all(CANON in r[1] for r in found)
    uuid = demo_uuid('6213050')
    assert [r[0] for r in results(ask(staff, uuid[:13]))['Facturas']] == ['6213050']


def test_a_payment_by_portal_reference_or_bank_reference(staff):
    page = ask(staff, '228')
    assert landed_on(page).endswith(f'customers/{CANON}/payments/228')
    assert facts(page.follow())['Referencia de pago'] == '228'
    # The bank's reference, whole or in part.
    assert landed_on(ask(staff, 'bc-banamex 063197')).endswith('payments/228')
    listed = results(ask(staff, '063197'))
    assert listed == {'Pagos': [('228', f'{CANON} · $18.31 MXN · Aprobado · BC-Banamex 063197',
                                 False)]}


def test_several_kinds_at_once_are_listed_exact_first(staff, app):
    def add(root):
        # A folio that is also a payment reference.
        root.customers[IXTAPA].add_invoice(Invoice(
            '228', '007100', datetime.date(2026, 11, 1), datetime.date(2026, 12, 1), 'MXN', '10.00'))
    with_root(app, add)
    page = ask(staff, '228')
    assert page.status_int == 200
    found = results(page)
    assert found['Facturas'][0][:1] == ('228',) and found['Facturas'][0][2]
    assert found['Pagos'][0][:1] == ('228',) and found['Pagos'][0][2]


def test_nothing_found_too_long_and_empty(staff):
    page = ask(staff, 'zzzz-no-existe')
    assert 'Nada coincide con «zzzz-no-existe»' in page.text and results(page) == {}
    long = staff.get('/manage/@@buscar?' + urlencode({'q': 'x' * 101}), status=400)
    assert 'demasiado larga' in long.text
    empty = staff.get('/manage/@@buscar')
    assert 'Nada coincide' not in empty.text and results(empty) == {}


def test_an_auditor_may_search_and_a_customer_may_not(app, staff):
    auditor = staff_client(app, 'aud', 'auditor')
    assert landed_on(ask(auditor, CANON)).endswith(f'customers/{CANON}')
    customer = Client(app, extra_environ=dict(HOST)).sign_in_active(rfc=IXTAPA)
    refused = customer.get('/manage/@@buscar?q=' + CANON, status=403)
    assert 'Canon Mexicana SA' not in refused.text
