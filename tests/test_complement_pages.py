"""What customers see of payment complements (REP): HISTORIAL's column and its month's ZIP,
the payment, receipt and invoice pages, the downloads, and who may get them."""
import csv
import datetime
import io
import zipfile

import pytest

from canonportal.bootstrap import demo_uuid
from canonportal.demo_complements import (
    EXAMPLE_UUID, document, example_228, example_228_pdf, payment, rep_xml,
)
from canonportal.passwords import hash_password
from canonportal.resources.company_user import PAGO, CompanyUser
from erp_samples import a_uuid, import_committed
from portal_support import CANON, Client, nothing_changes, with_root

BASE = f'/customers/{CANON}'
REP = f'{BASE}/complements/{EXAMPLE_UUID}'
HISTORY = f'{BASE}/historial-de-pagos'
PASSWORD = 'una contraseña larga para Mar'


@pytest.fixture
def imported(app):
    import_committed(app, {'REP-228.xml': example_228(), 'REP-228.pdf': example_228_pdf()})
    return app


def complement_cell(page, reference='228'):
    row = next(tr for tr in page.html.select('table.history-table tbody tr')
               if tr.find('a') and tr.find('a').get_text(strip=True) == reference)
    return ' '.join(row.select_one('td.complements').get_text(' ').split())


def test_historial_says_pending_until_the_rep_comes_then_shows_it_with_its_files(app, canon):
    assert complement_cell(canon.get(HISTORY)) == 'Pendiente'
    import_committed(app, {'REP-228.xml': example_228(), 'REP-228.pdf': example_228_pdf()})
    page = canon.get(HISTORY)
    assert complement_cell(page) == f'{EXAMPLE_UUID} XML PDF'
    xml = canon.get(page.html.select_one('td.complements a.complement-xml')['href'])
    assert xml.body == example_228() and xml.content_type == 'application/xml'
    assert xml.content_disposition == f'attachment; filename="{CANON}-REP-{EXAMPLE_UUID}.xml"'
    pdf = canon.get(page.html.select_one('td.complements a.complement-pdf')['href'])
    assert pdf.body == example_228_pdf() and pdf.body.startswith(b'%PDF-')
    [row] = csv_rows(canon.get(f'{BASE}/historial-de-pagos.csv'))
    assert (row['Referencia de pago'], row['Complemento de pago']) == ('228', EXAMPLE_UUID)


def csv_rows(answer):
    return list(csv.DictReader(io.StringIO(answer.body.decode('utf-8-sig'))))


def test_the_payment_receipt_and_invoice_pages_show_the_rep(imported, canon):
    for path in (f'{BASE}/payments/228/', f'{BASE}/payments/228/@@recibo'):
        section = canon.get(path).html.select_one('section.complements')
        text = ' '.join(section.get_text(' ').split())
        assert text == f'Complemento de pago {EXAMPLE_UUID} XML PDF', path
    invoice = canon.get(f'{BASE}/invoices/1233074/')
    [row] = invoice.html.select('table.invoice-complements tbody tr')
    cells = [' '.join(td.get_text(' ').split()) for td in row.find_all('td')]
    assert cells == [f'{EXAMPLE_UUID} XML PDF', '10-10-2017', '228', '1', '$1.00 USD',
                     '$159.71 USD']
    # Another invoice: none yet.
    assert 'Sin complementos de pago.' in canon.get(f'{BASE}/invoices/6212976/').text


def test_a_replaced_rep_is_shown_as_replaced_beside_the_current_one(imported, canon, app):
    new = a_uuid('replacement')
    doc = document(demo_uuid('1233074'), '1.00', '160.71', 1, 'USD',
                   equivalence='0.0546149645', folio='1233074')
    import_committed(app, {'new.xml': rep_xml(
        new, CANON, 'CANON MEXICANA', [payment('2017-10-10T08:34:00', '18.31', [doc], '228')],
        '2017-11-03T10:00:00', replaces=(EXAMPLE_UUID,))})
    page = canon.get(f'{BASE}/invoices/1233074/')
    rows = [' '.join(tr.get_text(' ').split())
            for tr in page.html.select('table.invoice-complements tbody tr')]
    assert rows[0].startswith(f'{EXAMPLE_UUID} Sustituido por {new} XML PDF')
    assert rows[1].startswith(f'{new} XML')
    assert complement_cell(canon.get(HISTORY)) == (
        f'{EXAMPLE_UUID} Sustituido por {new} XML PDF {new} XML')


def test_a_months_reps_come_in_one_zip_from_historial(imported, canon):
    page = canon.get(HISTORY, {'mes': '2017-10'})
    link = page.html.find('a', string='Descargar complementos (ZIP)')['href']
    answer = canon.get(link)
    assert answer.content_type == 'application/zip'
    with zipfile.ZipFile(io.BytesIO(answer.body)) as archive:
        assert sorted(archive.namelist()) == [f'{CANON}-REP-{EXAMPLE_UUID}.pdf',
                                              f'{CANON}-REP-{EXAMPLE_UUID}.xml']
        assert archive.read(f'{CANON}-REP-{EXAMPLE_UUID}.xml') == example_228()
    # No month, or a month without REPs: HISTORIAL says why (400), nothing sent.
    assert canon.get(HISTORY).html.find('a', string='Descargar complementos (ZIP)') is None
    for query, message in (({}, 'Elija el mes'), ({'mes': '2017-09'}, 'No hay complementos'),
                           ({'mes': '2017-13'}, 'Escriba el mes')):
        refused = canon.get(f'{BASE}/complementos.zip', query, status=400)
        assert message in refused.text and refused.content_type == 'text/html'


def add_colleague(app, accounts):
    def work(root):
        user = CompanyUser('mar@example.mx', 'Mar', PAGO, accounts=accounts,
                           created=datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc))
        user.__name__ = 'umar'
        user.invited_by = CANON
        user.password_hash = hash_password(PASSWORD)
        root.customers[CANON].add_user(user)
    with_root(app, work)
    mar = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert mar.login('mar@example.mx', PASSWORD).status_int == 303
    return mar


def outside_005301(uuid):
    """A REP of 6213050 (account 005301) paid outside the portal on 20 October 2017."""
    doc = document(demo_uuid('6213050'), '4350.00', '4350.00', 1, 'MXN', folio='6213050')
    return rep_xml(uuid, CANON, 'CANON MEXICANA',
                   [payment('2017-10-20T12:00:00', '4350.00', [doc], 'ERP-1')],
                   '2017-10-21T09:00:00')


def test_a_colleague_limited_to_005301_never_gets_005300s_reps(imported, app, frozen_clock):
    other = a_uuid('rep-005301')
    import_committed(app, {'o.xml': outside_005301(other)})
    mar = add_colleague(app, ('005301',))
    with nothing_changes(app):
        mar.get(f'{REP}/@@xml', status=403)
        mar.get(f'{REP}/@@pdf', status=403)
    assert mar.get(f'{BASE}/complements/{other}/@@xml').body == outside_005301(other)
    assert other in mar.get(f'{BASE}/invoices/6213050/').text
    answer = mar.get(f'{BASE}/complementos.zip', {'mes': '2017-10'})
    with zipfile.ZipFile(io.BytesIO(answer.body)) as archive:
        assert archive.namelist() == [f'{CANON}-REP-{other}.xml']
    # Asking for 005300's month by account is refused like HISTORIAL's filter.
    mar.get(f'{BASE}/complementos.zip', {'mes': '2017-10', 'cuenta': '005300'}, status=400)


def test_another_customer_gets_nothing_of_canons_reps(imported, ixtapa, app):
    with nothing_changes(app):
        for path in (f'{REP}/@@xml', f'{REP}/@@pdf', f'{REP}/', f'{BASE}/complementos.zip?mes=2017-10',
                     f'/customers/DIS010203AB1/complements/{EXAMPLE_UUID}/@@xml'):
            answer = ixtapa.get(path, status='*')
            assert answer.status_int in (403, 404), path
            # Our page (the URL asked is echoed in the language form, nothing of the REP).
            assert answer.content_type == 'text/html', path
            for leaked in (b'cfdi:Comprobante', b'%PDF', b'Pagos20', b'0546149645'):
                assert leaked not in answer.body, path
    refused = ixtapa.get('/customers/DIS010203AB1/complementos.zip', {'mes': '2017-10'},
                         status=400)
    assert 'No hay complementos' in refused.text
