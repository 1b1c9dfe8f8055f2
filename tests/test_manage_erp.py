"""The staff's ERP pages: upload files to import, export payments, and their records."""
import csv
import io

import pytest

from canonportal.bootstrap import mexico_time
from canonportal.erp.exports import COLUMNS
from canonportal.money import to_money
from canonportal.resources import Allocation, Payment
from canonportal.resources.payment import APPROVED
from portal_support import CANON, IXTAPA, nothing_changes, with_root
from manage_support import audit_entries, staff_browser
from erp_samples import (a_uuid, cfdi_xml, customer_row, customers_csv, invoice_row,
                         invoices_csv, pdf_bytes)

IMPORT = '/manage/@@importar'
EXPORT = '/manage/@@exportar'


def token_of(client, path='/manage'):
    return client.get(path).html.find('input', {'name': 'csrf_token'})['value']


def upload(client, files, kind='', status='*'):
    """POST ``files`` ({name: bytes}) to the import page as a browser's multipart form."""
    return client.post(IMPORT, {'csrf_token': token_of(client, IMPORT), 'kind': kind},
                       upload_files=[('files', name, data) for name, data in files.items()],
                       status=status)


@pytest.fixture
def operator(staff_app):
    return staff_browser(staff_app, 'oscar')


# -- import ------------------------------------------------------------------------------------

def test_the_import_page_takes_several_files_and_an_optional_kind(operator):
    page = operator.get(IMPORT)
    form = page.html.find('form', enctype='multipart/form-data')
    field = form.find('input', type='file')
    assert field['name'] == 'files' and field.has_attr('multiple')
    assert '.csv' in field['accept'] and '.xml' in field['accept'] and '.pdf' in field['accept']
    options = [o['value'] for o in form.find('select', attrs={'name': 'kind'}).find_all('option')]
    assert options == ['', 'customers', 'invoices', 'balances', 'statements', 'rates',
                       'complements']


def test_a_good_invoice_csv_shows_on_the_customers_pages(staff_app, operator):
    data = invoices_csv(invoice_row('9001', total='1160.00'),
                        invoice_row('9002', total='580.00', rfc=IXTAPA, account='007100'))
    response = upload(operator, {'facturas.csv': data})
    assert response.status_int == 303
    assert '/manage/imports/' in response.location
    record = response.follow()
    assert 'Importación terminada: 2 creados, 0 actualizados, 0 sin cambios' in record.text
    counts = {li['data-count']: li.strong.get_text() for li in
              record.html.find(id='import-counts').find_all('li')}
    assert counts == {'created': '2', 'updated': '0', 'unchanged': '0', 'warnings': '0'}
    assert record.html.find(id='import-actor').get_text() == 'staff:oscar'
    assert 'facturas.csv' in record.html.find('table', id='import-files').get_text()

    customer = staff_browser(staff_app).sign_in_active(rfc=CANON)
    assert 'A-9001' in customer.get(f'/customers/{CANON}/facturas').text
    assert 'A-9002' not in customer.get(f'/customers/{CANON}/facturas').text
    (entry,) = audit_entries(staff_app, 'erp.import')
    assert entry[0] == 'staff:oscar' and entry[2] == response.location.split('/manage')[1]
    assert 'created=2' in entry[4]

    # The dashboard lists it among the last imports.
    dashboard = operator.get('/manage')
    links = [a['href'] for a in dashboard.html.find(id='last-imports').find_all('a')]
    assert response.location in links


def test_re_importing_the_same_file_changes_nothing(staff_app, operator):
    data = invoices_csv(invoice_row('9001'))
    upload(operator, {'facturas.csv': data})
    again = upload(operator, {'facturas.csv': data}).follow()
    assert 'Importación terminada: 0 creados, 0 actualizados, 1 sin cambios' in again.text


def test_cfdi_xml_with_its_pdf(staff_app, operator):
    response = upload(operator, {'A9100.xml': cfdi_xml(folio='9100', total='2320.00',
                                                       account='005300'),
                                 'A9100.pdf': pdf_bytes('A-9100')}, kind='invoices')
    assert response.status_int == 303, response.text[:3000]
    def read(root):
        invoice = root.invoices_by_uuid[a_uuid('A-9100')]
        return invoice.key, str(invoice.amount), invoice.pdf is not None
    assert with_root(staff_app, read) == ('A-9100', '2320.00', True)


def test_a_bad_row_changes_nothing_and_the_report_names_its_line(staff_app, operator):
    data = invoices_csv(invoice_row('9001'), invoice_row('9002', total='-5.00'),
                        invoice_row('9003', rfc='NO-ES-RFC'))
    with nothing_changes(staff_app):
        response = upload(operator, {'facturas.csv': data})
    assert response.status_int == 400
    errors = [[td.get_text(strip=True) for td in tr.find_all('td')]
              for tr in response.html.find('table', id='import-errors').tbody.find_all('tr')]
    assert [(row[0], row[1]) for row in errors] == [('facturas.csv', '3'), ('facturas.csv', '4')]
    assert all(row[2] for row in errors)
    assert 'no se importó nada' in response.html.find(id='import-report').get_text()
    invoices = with_root(staff_app, lambda root: sorted(root.customers[CANON].invoices))
    assert not [key for key in invoices if key.endswith(('9001', '9002', '9003'))]


def test_an_unknown_customer_is_reported_with_its_line(staff_app, operator):
    with nothing_changes(staff_app):
        response = upload(operator, {'clientes.csv': customers_csv(
            customer_row('AAA010101AAA', 'Nueva SA', '009900'),
            customer_row('XYZ', 'Mala SA', '009901'))})
    assert response.status_int == 400
    cells = response.html.find('table', id='import-errors').tbody.tr.find_all('td')
    assert [cells[0].get_text(strip=True), cells[1].get_text(strip=True)] == ['clientes.csv', '3']


@pytest.mark.parametrize('files, kind, message', [
    ({}, '', 'Elija al menos un archivo.'),
    ({'facturas.csv': b'RFC\r\n'}, 'todo', 'Elija un tipo de importación de la lista.'),
])
def test_missing_files_or_a_bad_kind_is_a_400(staff_app, operator, files, kind, message):
    with nothing_changes(staff_app):
        response = upload(operator, files, kind=kind)
    assert response.status_int == 400
    assert message in response.html.find(id='import-error').get_text()


def test_the_auditor_sees_the_import_page_but_cannot_import(staff_app):
    auditor = staff_browser(staff_app, 'aurora')
    page = auditor.get(IMPORT)
    assert page.html.find('input', type='file') is None
    with nothing_changes(staff_app):
        response = upload(auditor, {'facturas.csv': invoices_csv(invoice_row('9001'))})
    assert response.status_int == 403


def test_the_import_record_page_shows_warnings(staff_app, operator):
    # A valid RFC format with a wrong check digit only warns.
    response = upload(operator, {'clientes.csv': customers_csv(
        customer_row('AAA010101AA9', 'Casi Válida SA', '009900'))})
    assert response.status_int == 303, response.text[:3000]
    record = response.follow()
    rows = record.html.find('table', id='import-warnings').tbody.find_all('tr')
    assert rows and rows[0].td.get_text(strip=True) == 'clientes.csv'
    assert rows[0].find('td', class_='line').get_text(strip=True) == '2'


# -- export ------------------------------------------------------------------------------------

def add_approved(app, paid_at, amount='100.00', bank_reference='BBVA 123456', folio='6212976'):
    def work(root):
        invoice = root.customers[CANON].invoices[folio]
        reference = root.next_payment_reference()
        payment = Payment(reference, CANON, 'bbva', [Allocation(
            folio, invoice.account, 'MXN', to_money(amount), to_money(amount), None,
            invoice.left_to_pay, invoice.next_instalment())], created=paid_at)
        invoice.reserve(reference, amount)
        payment.transition(APPROVED, paid_at, 'test')
        payment.paid_at = paid_at
        payment.bank_reference = bank_reference
        root.customers[CANON].add_payment(payment)
        return reference
    return with_root(app, work)


def csv_rows(data):
    assert data.startswith(b'\xef\xbb\xbf')
    rows = list(csv.reader(io.StringIO(data.decode('utf-8-sig'), newline='')))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture
def approved(staff_app):
    """Two approved payments besides the demo's 228 (approved in 2017, never exported)."""
    return [add_approved(staff_app, mexico_time(2026, 11, 20, 10, 0), '100.00'),
            add_approved(staff_app, mexico_time(2026, 11, 25, 16, 30), '250.50',
                         bank_reference='=HYPERLINK("http://malo")')]


def test_export_the_approved_payments_then_download_them(staff_app, operator, approved):
    page = operator.get(EXPORT)
    assert page.html.find(id='pending-count')['data-count'] == '3'
    (form,) = [f for f in page.forms.values()
               if 'mode' in f.fields and f['mode'].value == 'pending']
    response = form.submit()
    assert response.status_int == 303 and '/manage/exports/' in response.location
    record = response.follow()
    assert 'Se exportaron 3 pagos' in record.text
    assert record.html.find(id='export-actor').get_text() == 'staff:oscar'
    listed = [tr.td.get_text(strip=True) for tr in
              record.html.find('table', id='export-payments').tbody.find_all('tr')]
    assert listed == ['228'] + approved

    download = operator.get(record.html.find(id='export-download')['href'])
    assert download.content_type == 'text/csv'
    filename = record.html.find(id='export-filename').get_text()
    assert f'filename="{filename}"' in download.headers['Content-Disposition']
    rows = csv_rows(download.body)
    assert [row['referencia_pago'] for row in rows] == ['228'] + approved
    assert rows[2]['importe_mxn'] == '250.50'
    # A bank reference that looks like a formula stays text.
    assert rows[2]['referencia_bancaria'] == '\'=HYPERLINK("http://malo")'
    stored = with_root(staff_app, lambda root: root.exports[
        response.location.rsplit('/', 1)[-1]].csv_bytes())
    assert download.body == stored

    # Exported: nothing is left to export, and a second click writes nothing.
    assert operator.get(EXPORT).html.find(id='pending-count')['data-count'] == '0'
    with nothing_changes(staff_app):
        again = operator.post(EXPORT, {'csrf_token': token_of(operator), 'mode': 'pending'})
    assert 'No hay pagos que exportar' in again.text
    (entry,) = audit_entries(staff_app, 'erp.export')
    assert entry[0] == 'staff:oscar' and entry[4] == ' '.join(['228'] + approved)
    # The dashboard lists it among the last exports.
    dashboard = operator.get('/manage')
    assert response.location in [a['href'] for a in
                                 dashboard.html.find(id='last-exports').find_all('a')]


def test_a_date_range_exports_again_on_purpose(staff_app, operator, approved):
    operator.post(EXPORT, {'csrf_token': token_of(operator), 'mode': 'pending'})
    response = operator.post(EXPORT, {'csrf_token': token_of(operator), 'mode': 'range',
                                      'since': '2026-11-21', 'until': '2026-11-25',
                                      'include_exported': '1'})
    assert response.status_int == 303
    record = response.follow()
    rows = record.html.find('table', id='export-payments').tbody.find_all('tr')
    assert [tr.td.get_text(strip=True) for tr in rows] == [approved[1]]
    assert rows[0].find_all('td')[-1].get_text(strip=True) == 'Sí'
    data = operator.get(record.html.find(id='export-download')['href']).body
    (row,) = csv_rows(data)
    assert row['referencia_pago'] == approved[1] and row['exportaciones_previas']
    assert len(audit_entries(staff_app, 'erp.export')) == 2


@pytest.mark.parametrize('fields, message', [
    ({'mode': 'range'}, 'Escriba al menos una de las dos fechas.'),
    ({'mode': 'range', 'since': '25/11/2026'}, 'Escriba la fecha como AAAA-MM-DD.'),
    ({'mode': 'range', 'since': '2026-11-25', 'until': '2026-11-01'}, 'anterior a la inicial'),
    ({'mode': 'todo'}, 'Elija qué exportar.'),
])
def test_bad_export_requests_change_nothing(staff_app, operator, approved, fields, message):
    with nothing_changes(staff_app):
        response = operator.post(EXPORT, dict(fields, csrf_token=token_of(operator)), status=400)
    assert message in response.text


def test_the_auditor_sees_exports_but_cannot_export(staff_app, operator, approved):
    operator.post(EXPORT, {'csrf_token': token_of(operator), 'mode': 'pending'})
    auditor = staff_browser(staff_app, 'aurora')
    page = auditor.get(EXPORT)
    assert not [f for f in page.forms.values() if 'mode' in f.fields]
    record_url = page.html.find('section', attrs={'aria-labelledby': 'recent-exports'}).a['href']
    record = auditor.get(record_url)
    assert auditor.get(record.html.find(id='export-download')['href']).content_type == 'text/csv'
    with nothing_changes(staff_app):
        for fields in ({'mode': 'pending'}, {'mode': 'range', 'since': '2017-01-01'}):
            response = auditor.post(EXPORT, dict(fields, csrf_token=token_of(auditor)), status='*')
            assert response.status_int == 403


def test_customers_reach_no_erp_page(staff_app, operator, approved):
    operator.post(EXPORT, {'csrf_token': token_of(operator), 'mode': 'pending'})
    name = with_root(staff_app, lambda root: next(iter(root.exports)))
    customer = staff_browser(staff_app).sign_in_active(rfc=IXTAPA)
    for path in (IMPORT, EXPORT, f'/manage/exports/{name}', f'/manage/exports/{name}/@@descargar'):
        assert customer.get(path, status='*').status_int == 403, path
