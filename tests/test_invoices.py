"""FACTURAS: the invoice list and its filters, one invoice's page, XML/PDF downloads, ZIPs."""
import datetime
import io
import time
import zipfile

import pytest
from lxml import etree

from canonportal.bootstrap import add_demo_data, demo_uuid
from canonportal.demo_documents import CFDI_NS, ISSUER_RFC, TFD_NS
from canonportal.resources import Customer, Invoice
from portal_support import CANON, IXTAPA, Client, make_app, nothing_changes, with_root

LIST = f'/customers/{CANON}/facturas'
ZIP = f'/customers/{CANON}/facturas.zip'
NS = {'cfdi': CFDI_NS, 'tfd': TFD_NS}
MANUAL_FOLIOS = {'6212976', '1233074', '1233075', '1233076', '1233077', '1233080',
                 '1233081', '1232081'}


def invoice_url(key, view=''):
    return f'/customers/{CANON}/invoices/{key}/{view}'


def rows_of(page):
    """The list's rows as dicts keyed by column header."""
    table = page.html.select_one('table.invoice-list')
    headers = [th.get_text(strip=True) for th in table.select('thead th')]
    rows = []
    for tr in table.select('tbody tr'):
        cells = tr.find_all('td')
        if len(cells) != len(headers):
            continue  # the "no invoices" row
        row = {header: cell.get_text(' ', strip=True) for header, cell in zip(headers, cells)}
        if 'Estado' in row:     # the status badge; the in-transit badge and "Pagar" apart
            status = cells[headers.index('Estado')].select_one('span.badge')
            row['Estado'] = status.get_text(strip=True)
        rows.append(row)
    return rows


def folios_of(page):
    return [row['Folio'] for row in rows_of(page)]


def add_invoices(app, rfc, count, account='005300', start=9000000):
    """Give customer ``rfc`` ``count`` more invoices, one a day going back from 2017-09-30."""
    def work(root):
        customer = root.customers[rfc]
        first = datetime.date(2017, 9, 30)
        for n in range(count):
            issued = first - datetime.timedelta(days=n)
            customer.add_invoice(Invoice(str(start + n), account, issued,
                                         issued + datetime.timedelta(days=30), 'MXN', '100.00'))
    with_root(app, work)


# --- the list -----------------------------------------------------------------------------

def test_list_has_the_columns_and_every_invoice_open_and_paid_newest_first(canon):
    page = canon.get(LIST)
    headers = [th.get_text(strip=True) for th in page.html.select('table.invoice-list thead th')]
    assert headers[1:] == ['Folio', 'Fecha', 'Vencimiento', 'Moneda', 'Importe', 'Saldo', 'Estado']
    assert all(th.get('scope') == 'col' for th in page.html.select('table.invoice-list th'))
    assert page.html.select_one('div.table-wrap > table.invoice-list') is not None
    rows = rows_of(page)
    assert len(rows) == 11
    by_folio = {row['Folio']: row for row in rows}
    assert MANUAL_FOLIOS <= set(by_folio)
    assert {f for f, r in by_folio.items() if r['Estado'] == 'Vencida'} == MANUAL_FOLIOS | {'6213050'}
    assert {f for f, r in by_folio.items() if r['Estado'] == 'Pagada'} == {'6212901', '1233001'}
    assert by_folio['6212976'] == {
        'Seleccionar': 'Seleccionar factura 6212976', 'Folio': '6212976', 'Fecha': '06-10-2017',
        'Vencimiento': '05-11-2017', 'Moneda': 'MXN', 'Importe': '$27,794.52 MXN',
        'Saldo': '$27,794.52 MXN', 'Estado': 'Vencida'}
    assert by_folio['1233080']['Importe'] == '$312.62 USD'
    assert by_folio['6212901']['Saldo'] == '$0.00 MXN'
    # Newest first.
    assert rows[0]['Folio'] == '6213050' and rows[-1]['Folio'] == '6212901'
    assert '11 facturas' in page.text
    assert page.html.find('a', string='6212976')['href'].endswith('/invoices/6212976/')


def test_list_statuses_follow_today_in_mexico_city(canon, frozen_clock):
    # 2017-11-05 00:30 in Mexico City (06:30 UTC): due 04-11 is overdue, due 05-11 is still open.
    frozen_clock.now = datetime.datetime(2017, 11, 5, 6, 30, tzinfo=datetime.timezone.utc)
    by_folio = {row['Folio']: row['Estado'] for row in rows_of(canon.get(LIST))}
    assert by_folio['6212976'] == 'Abierta'
    assert by_folio['6213050'] == 'Abierta'
    assert by_folio['1233074'] == 'Vencida'
    assert by_folio['6212901'] == 'Pagada'
    assert folios_of(canon.get(LIST, {'estado': 'abierta'})) == ['6213050', '6212976']


def test_every_field_of_the_filter_form_is_labelled(canon):
    page = canon.get(LIST)
    form = page.html.select_one('form.invoice-filters')
    assert form['method'] == 'get'
    for field in form.select('input, select'):
        assert form.select_one(f'label[for="{field["id"]}"]') is not None, field
    for box in page.html.select('table.invoice-list input[type=checkbox]'):
        assert page.html.select_one(f'label[for="{box["id"]}"]') is not None


def test_filter_by_account(canon):
    one = canon.get(LIST, {'cuenta': '005301'})
    assert folios_of(one) == ['6213050']
    assert '1 factura' in one.text and '1 facturas' not in one.text   # the catalog's plural
    canon.set_cookie('lang', 'en')
    english = canon.get(LIST, {'cuenta': '005301'})
    assert '1 invoice' in english.text and '1 invoices' not in english.text
    assert '11 invoices' in canon.get(LIST).text
    canon.set_cookie('lang', 'es')
    assert len(rows_of(canon.get(LIST, {'cuenta': '005300'}))) == 10


def test_filter_by_status(canon):
    assert sorted(folios_of(canon.get(LIST, {'estado': 'pagada'}))) == ['1233001', '6212901']
    assert len(rows_of(canon.get(LIST, {'estado': 'vencida'}))) == 9
    page = canon.get(LIST, {'estado': 'abierta'})
    assert rows_of(page) == [] and 'No hay facturas que coincidan' in page.text


def test_filter_by_issue_date_range(canon):
    page = canon.get(LIST, {'desde': '2017-10-05', 'hasta': '2017-10-05'})
    assert sorted(folios_of(page)) == ['1233074', '1233075', '1233076', '1233077', '1233080', '1233081']
    # The portal's own date format is accepted too.
    assert folios_of(canon.get(LIST, {'desde': '06-10-2017'})) == ['6213050', '6212976']
    assert sorted(folios_of(canon.get(LIST, {'hasta': '2017-08-31'}))) == ['1233001', '6212901']
    # The chosen values stay in the form.
    assert page.html.find('input', {'name': 'desde'})['value'] == '2017-10-05'


def test_search_by_folio_exact_or_prefix(canon):
    assert folios_of(canon.get(LIST, {'buscar': '6212976'})) == ['6212976']
    assert sorted(folios_of(canon.get(LIST, {'buscar': ' 12330 '}))) == [
        '1233001', '1233074', '1233075', '1233076', '1233077', '1233080', '1233081']
    assert folios_of(canon.get(LIST, {'buscar': '999'})) == []


def test_search_by_uuid_case_insensitive(canon):
    uuid = demo_uuid('1233080')
    assert folios_of(canon.get(LIST, {'buscar': uuid.lower()})) == ['1233080']
    assert folios_of(canon.get(LIST, {'buscar': uuid[:13]})) == ['1233080']


def test_filters_combine(canon):
    page = canon.get(LIST, {'cuenta': '005300', 'estado': 'vencida', 'buscar': '1233',
                            'desde': '2017-10-05'})
    assert sorted(folios_of(page)) == ['1233074', '1233075', '1233076', '1233077', '1233080', '1233081']


@pytest.mark.parametrize('field, value, message', [
    ('cuenta', '999999', 'La cuenta no existe'),
    ('estado', 'cancelada', 'Estado no válido'),
    ('desde', '2017-13-45', 'Fecha no válida'),
    ('hasta', 'ayer', 'Fecha no válida'),
    ('buscar', 'X' * 200, 'demasiado larga'),
])
def test_bad_filter_value_is_a_400_with_a_message_next_to_the_field(canon, field, value, message):
    page = canon.get(LIST, {field: value}, status=400)
    error = page.html.find(id=f'e-{field}')
    assert error is not None and message in error.get_text()
    control = page.html.find(attrs={'name': field})
    assert control['aria-invalid'] == 'true' and control['aria-describedby'] == f'e-{field}'
    # The page is still the list (the bad filter is not applied).
    assert len(rows_of(page)) == 11


def test_reversed_date_range_is_refused(canon):
    page = canon.get(LIST, {'desde': '2017-10-06', 'hasta': '2017-10-01'}, status=400)
    assert 'anterior a la fecha inicial' in page.html.find(id='e-hasta').get_text()


def test_pagination_keeps_the_filters(app, canon):
    add_invoices(app, CANON, 120)
    page = canon.get(LIST, {'cuenta': '005300'})
    assert len(rows_of(page)) == 50
    assert '130 facturas' in page.text  # 10 demo invoices of 005300 + 120
    assert 'Página 1 de 3' in page.text
    next_link = page.html.select_one('nav.pager a[rel=next]')['href']
    assert 'cuenta=005300' in next_link and 'pagina=2' in next_link
    second = canon.get(next_link)
    assert len(rows_of(second)) == 50 and 'Página 2 de 3' in second.text
    third = canon.get(LIST, {'cuenta': '005300', 'pagina': '3'})
    assert len(rows_of(third)) == 30
    seen = folios_of(page) + folios_of(second) + folios_of(third)
    assert len(set(seen)) == 130
    # Out-of-range or unreadable page numbers land on a real page.
    assert 'Página 3 de 3' in canon.get(LIST, {'cuenta': '005300', 'pagina': '99'}).text
    assert 'Página 1 de 3' in canon.get(LIST, {'cuenta': '005300', 'pagina': 'x'}).text


def test_five_thousand_invoices_still_render_one_page_of_fifty(app, canon):
    # How fast is the benchmarks' business (docs/benchmarks.md), not a timed test's.
    add_invoices(app, CANON, 5000)
    page = canon.get(LIST, {'estado': 'vencida'})
    assert len(rows_of(page)) == 50
    assert 'Página 1 de 101' in page.text


# --- one invoice --------------------------------------------------------------------------

def test_invoice_page_shows_its_data_payments_in_transit_and_downloads(canon):
    page = canon.get(invoice_url('1233074'))
    text = page.html.select_one('main').get_text(' ', strip=True)
    assert 'Factura 1233074' in text
    assert demo_uuid('1233074') in text
    for fact in ('005300', '05-10-2017', '04-11-2017', 'USD', '$160.71 USD', '$18.8869 MXN',
                 '$3,035.31 MXN', 'Vencida'):
        assert fact in text, fact
    assert CANON in text and 'Canon Mexicana SA de CV' in text
    # Payment 228 of the manual is in transit on this invoice, with a link to it.
    transit = page.html.find('h2', string='Pagos en tránsito').find_parent('section')
    assert '$1.00 USD' in transit.get_text()
    assert transit.find('a', string='228')['href'].endswith(f'/customers/{CANON}/payments/228/')
    assert 'Sin pagos aplicados' in text
    links = {a.get_text(strip=True): a['href'] for a in page.html.select('ul.downloads a')}
    assert links['Descargar XML (CFDI)'].endswith('/invoices/1233074/@@xml')
    assert links['Descargar PDF'].endswith('/invoices/1233074/@@pdf')


def test_invoice_page_lists_applied_payments(app, canon):
    def apply(root):
        invoice = root.customers[CANON].invoices['6212901']
        invoice.applied = (('ERP-5501', invoice.amount),)
    with_root(app, apply)
    page = canon.get(invoice_url('6212901'))
    applied = page.html.find('h2', string='Pagos aplicados').find_parent('section')
    assert 'ERP-5501' in applied.get_text() and '$12,500.00 MXN' in applied.get_text()
    assert applied.find('a') is None  # no such payment in the portal: no link
    text = page.text
    assert 'Pagada' in text and 'Tipo de cambio' not in text


def test_xml_download_is_an_attachment_with_the_invoice_cfdi(canon):
    response = canon.get(invoice_url('1233074', '@@xml'))
    assert response.content_type == 'application/xml'
    assert response.headers['Content-Disposition'] == (
        f'attachment; filename="{CANON}-1233074.xml"')
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    assert int(response.headers['Content-Length']) == len(response.body)
    root = etree.fromstring(response.body)
    assert root.tag == f'{{{CFDI_NS}}}Comprobante'
    assert root.get('Version') == '4.0' and root.get('Folio') == '1233074'
    assert root.get('Moneda') == 'USD' and root.get('TipoCambio') == '18.8869'
    assert root.get('Total') == '160.71' and root.get('MetodoPago') == 'PPD'
    assert root.get('TipoDeComprobante') == 'I' and root.get('FormaPago') == '99'
    assert root.find('cfdi:Emisor', NS).get('Rfc') == ISSUER_RFC
    assert root.find('cfdi:Receptor', NS).get('Rfc') == CANON
    assert root.find('cfdi:Conceptos/cfdi:Concepto', NS) is not None
    stamp = root.find('cfdi:Complemento/tfd:TimbreFiscalDigital', NS)
    assert stamp.get('UUID') == demo_uuid('1233074')


def test_pdf_download_is_an_attachment(canon):
    response = canon.get(invoice_url('6212976', '@@pdf'))
    assert response.content_type == 'application/pdf'
    assert response.headers['Content-Disposition'] == f'attachment; filename="{CANON}-6212976.pdf"'
    assert response.body.startswith(b'%PDF')


def test_missing_documents_give_the_friendly_404(app, canon):
    def drop(root):
        invoice = root.customers[CANON].invoices['6212976']
        invoice.pdf = None
        invoice.cfdi_xml = None
    with_root(app, drop)
    for view in ('@@xml', '@@pdf'):
        page = canon.get(invoice_url('6212976', view), status=404)
        assert 'Página no encontrada' in page.text
    page = canon.get(invoice_url('6212976'))
    assert page.html.select('ul.downloads') == []
    assert 'El XML de esta factura aún no está disponible' in page.text


# --- ZIP --------------------------------------------------------------------------------

def test_zip_from_the_list_form_has_each_selected_xml_and_pdf(canon):
    page = canon.get(LIST)
    form = page.forms[len(page.forms) - 1]
    assert form.action.endswith('/@@facturas.zip') and form.method.lower() == 'get'
    boxes = form.fields['folio']
    for box in boxes:
        if box._value in ('6212976', '1233080'):
            box.checked = True
    response = form.submit()
    assert response.content_type == 'application/zip'
    assert response.headers['Content-Disposition'] == f'attachment; filename="{CANON}-facturas.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    assert sorted(archive.namelist()) == sorted(
        f'{CANON}-{folio}.{ext}' for folio in ('6212976', '1233080') for ext in ('xml', 'pdf'))
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith('.xml'):
            stamp = etree.fromstring(data).find('cfdi:Complemento/tfd:TimbreFiscalDigital', NS)
            assert stamp.get('UUID') == demo_uuid(name.rsplit('-', 1)[1][:-4])
        else:
            assert data.startswith(b'%PDF')


def test_zip_leaves_out_unknown_keys_and_says_so(canon):
    response = canon.get(ZIP, [('folio', '6212976'), ('folio', 'NO-EXISTE'), ('folio', '6212976')])
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    assert sorted(archive.namelist()) == ['CME930812PW3-6212976.pdf', 'CME930812PW3-6212976.xml',
                                          'LEEME.txt']
    assert 'NO-EXISTE' in archive.read('LEEME.txt').decode()


def test_zip_without_any_valid_invoice_is_a_400(canon):
    page = canon.get(ZIP, status=400)
    assert 'Seleccione al menos una factura' in page.html.find(id='zip-error').get_text()
    page = canon.get(ZIP, [('folio', 'NO-EXISTE')], status=400)
    assert 'Ninguna de las facturas seleccionadas' in page.text


def test_zip_has_a_limit(canon):
    keys = [('folio', str(n)) for n in range(201)]
    page = canon.get(ZIP, keys, status=400)
    assert 'hasta 200 facturas por archivo' in page.text


def test_zip_by_post_needs_the_csrf_token(canon, app):
    with nothing_changes(app):
        canon.post(ZIP, {'folio': '6212976'}, status=400)
    response = canon.post_form(ZIP, {'folio': '6212976'}, status=200)
    assert response.content_type == 'application/zip'


# --- isolation between customers -------------------------------------------------------

def test_another_customer_cannot_reach_canon_invoices_or_documents(canon, ixtapa):
    for path in (LIST, invoice_url('6212976'), invoice_url('6212976', '@@xml'),
                 invoice_url('6212976', '@@pdf'), ZIP + '?folio=6212976'):
        response = ixtapa.get(path, status='*')
        assert response.status_int in (403, 404), path
        assert b'%PDF' not in response.body and CFDI_NS.encode() not in response.body


def test_a_zip_of_canon_folios_from_ixtapa_returns_nothing_of_canon(canon, ixtapa):
    own_zip = f'/customers/{IXTAPA}/facturas.zip'
    page = ixtapa.get(own_zip, [('folio', '6212976'), ('folio', '1233074')], status=400)
    assert page.content_type == 'text/html'
    assert '6212976' not in page.html.select_one('table.invoice-list').get_text()
    # Ixtapa's own invoice works, and Canon's key next to it is left out.
    response = ixtapa.get(own_zip, [('folio', '7100501'), ('folio', '6212976')])
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    assert sorted(archive.namelist()) == [f'{IXTAPA}-7100501.pdf', f'{IXTAPA}-7100501.xml',
                                          'LEEME.txt']
    for name in archive.namelist():
        assert CANON.encode() not in archive.read(name)


def test_ixtapa_list_shows_only_its_invoices(ixtapa):
    page = ixtapa.get(f'/customers/{IXTAPA}/facturas')
    assert sorted(folios_of(page)) == ['7100501', '7100502']


# --- storage without blobs --------------------------------------------------------------

def test_demo_data_on_memory_storage_has_no_documents_and_no_download_links():
    app = make_app()
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    assert with_root(app, lambda root: root.customers[CANON].invoices['6212976'].pdf) is None
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'}).sign_in_active()
    page = client.get(invoice_url('6212976'))
    assert page.html.select('ul.downloads') == []
    client.get(invoice_url('6212976', '@@xml'), status=404)
    assert isinstance(with_root(app, lambda root: root.customers[CANON]), Customer)


# --- what the portal's payments did to each invoice (FACTURAS and the statement agree) -------

def facturas_rows(client):
    return {row['Folio']: row for row in rows_of(client.get(LIST))}


def test_an_invoice_paid_in_full_through_the_portal_is_pagada_by_the_statements_rule(
        payer, banks):
    from payment_support import accept, confirmation
    before = facturas_rows(payer)['6212976']
    assert before['Estado'] == 'Vencida' and before['Saldo'].startswith('$27,794.52 MXN')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    banks.wait_for_deliveries()
    row = facturas_rows(payer)['6212976']
    assert row['Estado'] == 'Pagada' and row['Saldo'].startswith('$0.00 MXN')
    page = payer.get(LIST)
    rule = page.html.select_one('p.balance-rule').get_text(' ', strip=True)
    assert rule.startswith('Los saldos descuentan los pagos que el banco ya confirmó')
    # The statement PDF says the same rule (and computes by it: reports.statement_data).
    import pypdf
    pdf = payer.get(f'/customers/{CANON}/statements/171001/pdf')
    text = ' '.join(''.join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.body)).pages).split())
    assert 'Los saldos descuentan los pagos que el banco ya confirmó' in text
    # Nothing left to pay: no "Pagar" for it, and its page says the same.
    cells = {tr.select_one('td.folio').get_text(strip=True): tr
             for tr in page.html.select('table.invoice-list tbody tr') if tr.select_one('td.folio')}
    assert cells['6212976'].select_one('a.pay-link') is None
    assert cells['1233074'].select_one('a.pay-link') is not None
    invoice = payer.get(f'/customers/{CANON}/invoices/6212976')
    assert 'Pagada' in invoice.text and invoice.html.find('a', string='Pagar') is None


def test_a_payment_waiting_at_the_bank_is_en_transito_and_lowers_no_balance(payer, banks):
    from payment_support import accept, confirmation
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': ('mxn', '1000.00')})))
    page = payer.get(LIST)
    row = next(tr for tr in page.html.select('table.invoice-list tbody tr')
               if tr.select_one('td.folio') and tr.select_one('td.folio').get_text(strip=True) == '6212976')
    assert row.select_one('span.badge.transit').get_text(' ', strip=True) == 'en tránsito $1,000.00 MXN'
    assert facturas_rows(payer)['6212976']['Estado'] == 'Vencida'
    assert facturas_rows(payer)['6212976']['Saldo'].startswith('$27,794.52 MXN')


def test_pagar_opens_saldos_with_that_invoice_ticked_for_what_is_left(canon):
    page = canon.get(LIST)
    link = next(a for a in page.html.select('a.pay-link') if '1233074' in a.get_text())
    saldos = canon.get(link['href'].replace('http://portal.example.mx', ''))
    ticked = [box['value'] for box in saldos.html.select('input[name=pick][checked]')]
    assert ticked == ['1233074']
    invoice = canon.get(f'/customers/{CANON}/invoices/1233074')
    assert invoice.html.find('a', string='Pagar')['href'].endswith('saldos?pagar=1233074')


@pytest.mark.parametrize('key', ['nope', '6212901', 'x' * 500, ''])
def test_pagar_with_an_unknown_paid_or_absurd_key_ticks_nothing(canon, key):
    saldos = canon.get(f'/customers/{CANON}/saldos', {'pagar': key})
    assert saldos.html.select('input[name=pick][checked]') == []
