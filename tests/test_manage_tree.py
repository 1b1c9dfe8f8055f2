"""The staff's management views over the tree: browsing, properties, children pages.

Staff browse as in a browser: every page after /manage is reached by
following a link of the page before. The customer with many invoices is made
in the database, as an ERP import would leave it.
"""
import datetime
import re
from decimal import Decimal

import pytest
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from canonportal.resources import Customer, Folder, Invoice
from canonportal.resources.folder import TOP, keys_descending
from canonportal.views.manage import listing
from portal_support import CANON, IXTAPA, Client, with_root
from manage_support import HOST, facts, follow, links, staff_client, table_rows

MANY = 'MAN850101AB1'
MANY_COUNT = 120
D = datetime.date
UTC = datetime.timezone.utc


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def staff(app):
    return staff_client(app)


def many_invoices(root):
    """A customer with MANY_COUNT invoices: every third in USD, every fifth paid."""
    customer = root.customers.add_customer(Customer(MANY, 'Muchas Facturas SA de CV', ('009900',)))
    for number in range(1, MANY_COUNT + 1):
        usd = number % 3 == 0
        paid = number % 5 == 0
        issued = D(2026, 1, 1) + datetime.timedelta(days=number)
        due = issued + datetime.timedelta(days=(number * 7) % 45 + 1)
        amount = Decimal(100 + number)
        customer.add_invoice(Invoice(
            f'F{number:04d}', '009900', issued, due, 'USD' if usd else 'MXN', amount,
            exchange_rate='18.5000' if usd else None, balance=0 if paid else amount))
    return customer


@pytest.fixture
def crowded(app):
    with_root(app, many_invoices)
    return app


# -- browsing -----------------------------------------------------------------------------------

def test_staff_browse_from_the_root_to_a_customer_an_invoice_and_its_payment(staff):
    home = staff.get('/manage')
    customers = follow(staff, home, 'Clientes', within='nav.menu')
    assert [row[0] for row in table_rows(customers)] == [CANON, IXTAPA]
    customer = follow(staff, customers, CANON)
    assert facts(customer)['Razón social'] == 'Canon Mexicana SA de CV'
    assert facts(customer)['Cuentas ERP'] == '005300, 005301'
    tabs = [a.get_text(strip=True) for a in customer.html.select('nav.tabs a')]
    assert tabs == ['Cliente', 'Facturas', 'Estados de cuenta', 'Pagos', 'Usuarios']

    invoices = follow(staff, customer, 'Facturas', within='nav.tabs')
    assert invoices.html.select_one('nav.tabs a.current').get_text(strip=True) == 'Facturas'
    assert len(table_rows(invoices)) == 11
    invoice = follow(staff, invoices, '1233074')
    values = facts(invoice)
    assert values['Folio'] == '1233074' and values['Moneda'] == 'USD'
    assert values['Tipo de cambio'] == '$18.8869 MXN'
    amounts = {row[0]: row[1:] for row in (
        [c.get_text(' ', strip=True) for c in tr.find_all(['th', 'td'])]
        for tr in invoice.html.select('table.amounts tbody tr'))}
    assert amounts['Importe'] == ['$160.71 USD', '$3,035.31 MXN']
    assert amounts['En tránsito'] == ['$1.00 USD', '$18.88 MXN']
    assert amounts['Por pagar'] == ['$159.71 USD', '$3,016.42 MXN']
    # The CFDI XML and the PDF are downloadable from here.
    xml = follow(staff, invoice, 'Descargar XML (CFDI)')
    assert xml.content_type == 'application/xml' and b'TimbreFiscalDigital' in xml.body
    assert follow(staff, invoice, 'Descargar PDF').body.startswith(b'%PDF-')

    payment = follow(staff, invoice, '228')
    values = facts(payment)
    assert values['Estado'] == 'Aprobado'
    assert values['Referencia bancaria'] == 'BC-Banamex 063197'
    assert values['Total'] == '$18.31 MXN'
    allocation = table_rows(payment, 'main table.data')[0]
    assert allocation == ['1233074', '005300', '$18.31 MXN', '$1.00 USD', '$18.3100 MXN',
                          '$160.71 USD', '$159.71 USD', '1']
    history = table_rows(payment, 'table.history')
    assert history[0][1:4] == ['Pendiente', 'Aprobado', 'aviso del banco']
    # And back to the invoice through the allocation, and up through the crumbs.
    assert facts(follow(staff, payment, '1233074'))['Folio'] == '1233074'
    crumbs = [a.get_text(strip=True) for a in payment.html.select('nav.crumbs a')]
    assert crumbs == ['Portal', 'Clientes', f'{CANON} — Canon Mexicana SA de CV', 'Pagos', 'Pago 228']
    assert 'Pagos' in follow(staff, payment, 'Pagos', within='nav.crumbs').html.find('h1').text


@pytest.mark.parametrize('path', ['/manage', f'/manage/customers/{CANON}',
                                  f'/manage/customers/{CANON}/users', '/manage/staff',
                                  '/manage/@@buscar'])
def test_management_pages_name_the_customer_pages_icon_and_it_is_served(staff, client, path):
    """The browser tab of /manage shows the portal's icon, as the customer pages do."""
    customer_icon = client.get('/').html.find('link', rel='icon')['href']
    icon = staff.get(path).html.find('link', rel='icon')
    assert icon is not None and icon['type'] == 'image/svg+xml'
    assert icon['href'] == customer_icon
    served = staff.get(icon['href'].replace('https://portal.example.mx', '').replace(
        'http://portal.example.mx', ''))
    assert served.content_type == 'image/svg+xml' and b'<svg' in served.body


def test_statement_page_downloads_the_pdf_the_customer_gets(staff, app):
    customer = staff.get(f'/manage/customers/{CANON}')
    statements = follow(staff, customer, 'Estados de cuenta', within='nav.tabs')
    assert [row[0] for row in table_rows(statements)] == ['170801', '170803', '170901', '171001']
    statement = follow(staff, statements, '171001')
    assert facts(statement)['Cuenta'] == '005300'
    assert facts(statement)['PDF'] == 'Generado por el portal con sus datos'
    pdf = follow(staff, statement, 'Descargar PDF')
    assert pdf.content_type == 'application/pdf' and pdf.body.startswith(b'%PDF-')


class Note(Persistent):
    """An object type with no page of its own (as a future record type would be)."""

    def __init__(self, title, created):
        self.title = title
        self.created = created
        self.count = 3
        self.tags = ('a', 'b')
        self.password_hash = 'argon2-secreto'
        self.start_data = {'successIndicator': 'secreto'}


def test_other_objects_get_a_generic_page_with_their_properties_but_no_secrets(staff, app):
    def add(root):
        folder = root.add('notas', Folder())
        folder.title = 'Notas'
        folder.add('n1', Note('Primera nota', datetime.datetime(2026, 11, 1, 18, tzinfo=UTC)))
    with_root(app, add)
    listing = staff.get('/manage/notas')
    assert table_rows(listing) == [['n1', 'Primera nota', '01/11/2026 12:00:00 p.m.', 'Note']]
    page = follow(staff, listing, 'n1')
    values = facts(page)
    assert values['Tipo'] == 'Note' and values['count'] == '3' and values['tags'] == 'a, b'
    assert values['title'] == 'Primera nota'
    assert 'secreto' not in page.text and 'password_hash' not in values


# -- children: pages, order, filters --------------------------------------------------------------

def invoice_names(page):
    return [row[0] for row in table_rows(page)]


def test_a_customer_with_many_invoices_is_listed_a_page_at_a_time(staff, crowded):
    first = staff.get(f'/manage/customers/{MANY}/invoices')
    assert 'Página 1 de 3' in first.text and f'{MANY_COUNT} elementos' in first.text
    assert invoice_names(first) == [f'F{n:04d}' for n in range(1, 51)]
    second = follow(staff, first, 'Siguiente →')
    assert invoice_names(second) == [f'F{n:04d}' for n in range(51, 101)]
    third = follow(staff, second, 'Siguiente →')
    assert invoice_names(third) == [f'F{n:04d}' for n in range(101, 121)]
    assert not links(third, 'Siguiente →')
    assert invoice_names(follow(staff, third, '← Anterior')) == invoice_names(second)
    # Each row leads to the invoice's own page.
    assert facts(follow(staff, third, 'F0120'))['Folio'] == 'F0120'


def test_name_order_both_ways_and_by_prefix(staff, crowded):
    page = staff.get(f'/manage/customers/{MANY}/invoices')
    descending = follow(staff, page, 'Factura', within='table.children thead')
    assert invoice_names(descending) == [f'F{n:04d}' for n in range(120, 70, -1)]
    assert invoice_names(follow(staff, descending, 'Siguiente →'))[0] == 'F0070'
    ascending = follow(staff, descending, 'Factura', within='table.children thead')
    assert invoice_names(ascending)[0] == 'F0001'

    form = page.forms[len(page.forms) - 1]
    form['prefijo'] = 'F001'
    found = form.submit()
    assert invoice_names(found) == [f'F{n:04d}' for n in range(10, 20)]
    # The prefix stays while the order changes.
    reverse = follow(staff, found, 'Factura', within='table.children thead')
    assert invoice_names(reverse) == [f'F{n:04d}' for n in range(19, 9, -1)]


def test_filters_by_status_and_currency(staff, crowded):
    page = staff.get(f'/manage/customers/{MANY}/invoices')
    form = page.forms[len(page.forms) - 1]
    form['moneda'] = 'USD'
    usd = form.submit()
    rows = table_rows(usd)
    assert [row[0] for row in rows] == [f'F{n:04d}' for n in range(3, 121, 3)]
    assert all(row[4].endswith('USD') for row in rows)

    form = usd.forms[len(usd.forms) - 1]
    form['estado'] = 'pagada'
    paid_usd = form.submit()
    assert invoice_names(paid_usd) == [f'F{n:04d}' for n in range(15, 121, 15)]
    assert {row[-1] for row in table_rows(paid_usd)} == {'Pagada'}

    nonsense = staff.get(f'/manage/customers/{MANY}/invoices?estado=cualquiera')
    assert 'Valor no válido para «Estado»' in nonsense.text
    assert len(invoice_names(nonsense)) == 50


def test_payments_filter_by_state(staff, app):
    approved = staff.get(f'/manage/customers/{CANON}/payments?estado=approved')
    assert invoice_names(approved) == ['228']
    assert invoice_names(staff.get(f'/manage/customers/{CANON}/payments?estado=review')) == []


def test_sorting_by_a_column_when_the_folder_is_small_enough(staff, crowded, monkeypatch):
    page = staff.get(f'/manage/customers/{MANY}/invoices')
    by_due = follow(staff, page, 'Vencimiento', within='table.children thead')
    due = [datetime.datetime.strptime(row[3], '%d-%m-%Y').date() for row in table_rows(by_due)]
    assert due == sorted(due) and len(due) == 50
    latest_first = follow(staff, by_due, 'Vencimiento', within='table.children thead')
    due = [datetime.datetime.strptime(row[3], '%d-%m-%Y').date() for row in table_rows(latest_first)]
    assert due == sorted(due, reverse=True)
    by_balance = staff.get(f'/manage/customers/{MANY}/invoices?orden=balance&moneda=MXN')
    balances = [Decimal(re.sub(r'[^0-9.]', '', row[5])) for row in table_rows(by_balance)]
    assert balances == sorted(balances) and balances[0] == 0

    # A folder above the limit is sorted by name only, and says so.
    monkeypatch.setattr(listing, 'SORT_LIMIT', 100)
    refused = staff.get(f'/manage/customers/{MANY}/invoices?orden=due')
    assert 'solo se ordena por nombre' in refused.text
    assert invoice_names(refused)[:3] == ['F0001', 'F0002', 'F0003']
    assert not links(refused, 'Vencimiento')
    # Narrowed by a name prefix to no more than the limit, it sorts again.
    narrowed = staff.get(f'/manage/customers/{MANY}/invoices?prefijo=F00&orden=due')
    assert 'solo se ordena por nombre' not in narrowed.text
    due = [datetime.datetime.strptime(row[3], '%d-%m-%Y').date() for row in table_rows(narrowed)]
    assert due == sorted(due) and 'Página 1 de 2' in narrowed.text
    assert {row[0][:3] for row in table_rows(narrowed)} == {'F00'}


def test_attribute_filters_stop_after_the_scan_limit(staff, crowded, monkeypatch):
    monkeypatch.setattr(listing, 'SCAN_LIMIT', 30)
    page = staff.get(f'/manage/customers/{MANY}/invoices?estado=pagada')
    assert invoice_names(page) == [f'F{n:04d}' for n in range(5, 31, 5)]
    assert 'se detuvo tras revisar 30 elementos' in page.text


@pytest.mark.parametrize('keys', [
    ['a', 'a\x00', 'a\x00\x00', 'ab', 'b', 'b\x00b', 'ba', 'z' * 30],
    [f'{n}' for n in range(0, 300, 7)],
    ['CME930812PW3', 'CME930812PW', 'CMF', 'ÑAN010101AB1', 'Z', 'A&B010101AB1'],
])
def test_descending_walk_matches_the_reverse_of_the_btree_order(keys):
    tree = OOBTree({key: None for key in keys})
    assert list(keys_descending(tree)) == sorted(keys, reverse=True)
    for prefix in {key[:1] for key in keys} | {key[:2] for key in keys}:
        expected = sorted((k for k in keys if k.startswith(prefix)), reverse=True)
        assert list(keys_descending(tree, prefix, prefix + TOP)) == expected
    assert list(keys_descending(OOBTree())) == []


# -- who may look --------------------------------------------------------------------------------

def test_auditor_and_operator_can_browse(app):
    for name, role in (('aud', 'auditor'), ('olga', 'operator')):
        client = staff_client(app, name, role)
        page = client.get(f'/manage/customers/{CANON}/payments/228')
        assert facts(page)['Referencia de pago'] == '228'


def test_customers_get_403_on_every_management_url(app):
    customer = Client(app, extra_environ=dict(HOST)).sign_in_active(rfc=CANON)
    for url in ('/manage', '/manage/customers', f'/manage/customers/{CANON}',
                f'/manage/customers/{CANON}/invoices', f'/manage/customers/{CANON}/invoices/6212976',
                f'/manage/customers/{CANON}/invoices/6212976/@@xml',
                f'/manage/customers/{CANON}/payments/228',
                f'/manage/customers/{CANON}/statements/171001/@@pdf', '/manage/@@buscar?q=CME'):
        response = customer.get(url, status='*')
        assert response.status_int == 403, url
        assert 'Canon Mexicana SA de CV' not in response.text


def test_anonymous_visitors_are_sent_to_the_login_page(app):
    visitor = Client(app, extra_environ=dict(HOST))
    for url in ('/manage', f'/manage/customers/{CANON}', f'/manage/customers/{CANON}/payments/228'):
        response = visitor.get(url, status=302)
        assert response.location == 'http://portal.example.mx/'
