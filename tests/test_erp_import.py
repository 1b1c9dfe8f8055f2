"""ERP imports through ``run_import``: each kind with good files, what customers then see,
idempotent re-imports, updates, and the ImportRecord and audit entries they leave."""
import datetime
import re
from decimal import Decimal

import pytest

from canonportal.erp import imports as erp_imports
from canonportal.erp import job as erp_job
from canonportal.erp.imports import KINDS, detect_kind, run_import
from canonportal.erp.job import ApplyFailed
from canonportal.resources.invoice import Invoice
from canonportal.resources.payment import APPLIED
from portal_support import CANON, IXTAPA, Client, nothing_changes, signed_in_home, with_root
from erp_samples import (
    a_uuid, balances_csv, cfdi_xml, csv_bytes, customer_row, customers_csv, invoice_row,
    invoices_csv, named_files, pdf_bytes, rates_csv, statements_csv,
)

ACTOR = 'staff:alice'
NOW = datetime.datetime(2026, 11, 30, 7, 15, tzinfo=datetime.timezone.utc)


def run(app, files, kind=None, **options):
    """Import ``files`` ({name: bytes}) in one committed transaction; return the report
    and a snapshot of the record, read while the connection is open."""
    def work(root):
        report = run_import(root, named_files(files), ACTOR, kind=kind, now=NOW, **options)
        report.lines = report.text()
        record = report.record
        report.kept = None if record is None else {
            'name': record.__name__, 'kind': record.kind, 'actor': record.actor,
            'files': record.files, 'counts': record.counts, 'warnings': record.warnings,
            'created': record.created, 'rows': record.rows, 'notes': record.notes}
        return report
    return with_root(app, work)


def read(app, work):
    return with_root(app, work)


def counts(report):
    return (report.created, report.updated, report.unchanged)


def reasons(report):
    from canonportal.i18n import spanish
    return [(source, line, spanish(reason)) for source, line, reason in report.errors]


def warnings_of(report):
    from canonportal.i18n import spanish
    return [(source, line, spanish(reason)) for source, line, reason in report.warnings]


# --- customers -------------------------------------------------------------------------

def test_customers_are_created_and_updated_and_new_ones_can_sign_in(app, client):
    files = {'clientes.csv': customers_csv(
        customer_row('GODE561231GR8', 'Eduardo González Díaz', '009100', 'edu@example.mx'),
        customer_row(CANON, 'Canon Mexicana SA de CV', '005300;005301',
                     'tesoreria@canon-cliente.mx'),
        customer_row(IXTAPA, 'Distribuidora Ixtapa SA de CV', '007100', 'pagos@example.com'),
    )}
    report = run(app, files)
    assert report.ok, report.lines
    assert report.kind == 'customers'
    assert counts(report) == (1, 1, 1)

    def check(root):
        new = root.customers['GODE561231GR8']
        assert (new.name, new.accounts, new.contact_email) == (
            'Eduardo González Díaz', ('009100',), 'edu@example.mx')
        assert root.customers[CANON].contact_email == 'tesoreria@canon-cliente.mx'
        entries = list(root.audit_log.search(action='erp.customer.update'))
        assert len(entries) == 1
        assert entries[0].target == f'/customers/{CANON}'
        assert entries[0].before == 'contact_email=cuentasporpagar@example.com'
        assert entries[0].after == 'contact_email=tesoreria@canon-cliente.mx'
        assert entries[0].actor == ACTOR
    read(app, check)
    # The RFC as user and password only mails a link to the ERP's address (issue 11):
    # nothing of the customer shows, and no session starts, before the link is followed.
    first = client.login('GODE561231GR8', 'GODE561231GR8')
    assert first.status_int == 200 and 'e***@example.mx' in first.text
    assert 'Eduardo' not in first.text and '009100' not in first.text
    assert signed_in_home(client) is None
    assert client.get('/customers/GODE561231GR8/estados-de-cuenta', status='*').status_int in (302, 403)
    client.activate(to='edu@example.mx')
    assert signed_in_home(client).endswith('/customers/GODE561231GR8/estados-de-cuenta')


def test_rfc_format_errors_stop_the_file_and_check_digits_only_warn(app):
    with nothing_changes(app):
        report = run(app, {'clientes.csv': customers_csv(
            customer_row('CME930812PW4', 'Dígito verificador malo', '009200'),
            customer_row('XAXX010101000', 'Público en general', '009300'),
            customer_row('CME931312PW3', 'Mes 13', '009400'),
            customer_row('', 'Sin RFC', '009500'),
        )})
        assert not report.ok
        assert reasons(report) == [
            ('clientes.csv', 4, 'El RFC CME931312PW3 no tiene un formato válido.'),
            ('clientes.csv', 5, 'Falta el RFC.'),
        ]
        assert ('clientes.csv', 2, 'El dígito verificador del RFC CME930812PW4 no coincide; revise '
                'que esté bien escrito.') in warnings_of(report)

    report = run(app, {'clientes.csv': customers_csv(
        customer_row('CME930812PW4', 'Dígito verificador malo', '009200'),
        customer_row('XAXX010101000', 'Público en general', '009300'))})
    assert report.ok and counts(report) == (2, 0, 0)
    assert report.warning_count == 1
    assert read(app, lambda root: sorted(root.customers)) == [
        'CME930812PW3', 'CME930812PW4', 'DIS010203AB1', 'XAXX010101000']


def test_an_account_belongs_to_one_customer(app):
    with nothing_changes(app):
        report = run(app, {'clientes.csv': customers_csv(
            customer_row('GODE561231GR8', 'Eduardo', '005300'),
            customer_row('CME930812PW4', 'Otro', '009200 009201'),
            customer_row('XAXX010101000', 'Público', '009201'))})
        assert reasons(report) == [
            ('clientes.csv', 4, 'La cuenta 009201 también está en la línea 3 (RFC CME930812PW4).'),
            ('clientes.csv', 2, 'La cuenta 005300 ya es del cliente CME930812PW3 en el portal.'),
        ]


# --- invoices: CSV --------------------------------------------------------------------

def test_invoices_csv_with_pdfs_shows_on_facturas_and_the_pdf_downloads(app, canon):
    invoice_pdf, named_pdf = pdf_bytes('A-9001'), pdf_bytes('otra')
    files = {
        'facturas.csv': invoices_csv(
            invoice_row('9001'),
            invoice_row('9002', currency='USD', rate='18.8869', total='100.00', balance='40.00',
                        pdf='Factura 9002.pdf', due=''),
            invoice_row('9003', rfc=IXTAPA, account='007100', method='PUE')),
        'A-9001.pdf': invoice_pdf,
        'Factura 9002.pdf': named_pdf,
    }
    report = run(app, files)
    assert report.ok, report.lines
    assert counts(report) == (3, 0, 0)
    assert report.kept['notes'] == ('Documentos guardados: 2 PDF y 0 XML.',)

    def check(root):
        invoice = root.customers[CANON].invoices['A-9002']
        assert (invoice.currency, invoice.amount, invoice.exchange_rate, invoice.balance) == (
            'USD', Decimal('100.00'), Decimal('18.8869'), Decimal('40.00'))
        assert invoice.due == datetime.date(2026, 12, 20)   # 30 days after 2026-11-20
        assert invoice.uuid == a_uuid('A-9002')
        assert root.invoices_by_uuid[a_uuid('A-9002')] is invoice
        assert root.invoices_by_key['A-9003'].metodo_pago == 'PUE'
        assert 'A-9003' in root.customers[IXTAPA].invoices
    read(app, check)

    page = canon.get(f'/customers/{CANON}/facturas')
    assert 'A-9001' in page.text and 'A-9002' in page.text and 'A-9003' not in page.text
    assert canon.get(f'/customers/{CANON}/invoices/A-9001/@@pdf').body == invoice_pdf
    assert canon.get(f'/customers/{CANON}/invoices/A-9002/@@pdf').body == named_pdf
    assert canon.get(f'/customers/{IXTAPA}/invoices/A-9003/@@pdf', status='*').status_int in (
        403, 404)


def test_re_importing_the_same_files_changes_nothing(app):
    files = {
        'facturas.csv': invoices_csv(invoice_row('9001'), invoice_row('9002', balance='10.00')),
        'A-9001.pdf': pdf_bytes('A-9001'),
        'A-9010.xml': cfdi_xml('9010', total='580.00'),
    }
    first = run(app, files)
    assert first.ok and counts(first) == (3, 0, 0)

    def state(root):
        invoices = root.customers[CANON].invoices
        documents = {key: (invoices[key]._p_serial, invoices[key].pdf and invoices[key].pdf._p_oid,
                           invoices[key].cfdi_xml and invoices[key].cfdi_xml._p_oid)
                     for key in ('A-9001', 'A-9002', 'A-9010')}
        return documents, len(invoices), len(root.invoices_by_uuid)
    before = read(app, state)
    assert before[0]['A-9001'][1] is not None and before[0]['A-9010'][2] is not None
    second = run(app, files)
    assert second.ok and counts(second) == (0, 0, 3)
    assert read(app, state) == before
    assert second.kept['name'] != first.kept['name']

    def records(root):
        return (len(root.imports), [e.action for e in root.audit_log.search(actor=ACTOR)])
    assert read(app, records) == (2, ['erp.import', 'erp.import'])


def test_an_invoice_sent_again_with_a_new_due_date_and_balance_is_updated(app):
    run(app, {'facturas.csv': invoices_csv(invoice_row('9001', due='2026-12-20'))})
    report = run(app, {'facturas.csv': invoices_csv(
        invoice_row('9001', due='2027-01-15', balance='500.00'))})
    assert report.ok and counts(report) == (0, 1, 0)

    def check(root):
        invoice = root.invoices_by_key['A-9001']
        assert (invoice.due, invoice.balance) == (datetime.date(2027, 1, 15), Decimal('500.00'))
        [entry] = root.audit_log.search(action='erp.invoice.update')
        assert entry.target == f'/customers/{CANON}/invoices/A-9001'
        assert entry.before == 'balance=1160.00; due=2026-12-20'
        assert entry.after == 'balance=500.00; due=2027-01-15'
        assert entry.note == f'import {report.kept["name"]}'
    read(app, check)


def test_the_amount_of_an_invoice_with_portal_payments_is_never_changed(app):
    """Demo payment 228 holds 1.00 USD of invoice 1233074."""
    with nothing_changes(app):
        report = run(app, {'facturas.csv': invoices_csv(
            invoice_row('1233074', serie='', uuid='', currency='USD', rate='18.8869', total='170.00',
                        issued='2017-10-05', due='2017-11-04'))})
        assert reasons(report) == [('facturas.csv', 2, (
            'La factura 1233074 tiene pagos del portal (228); no se cambia su importe, moneda ni tipo '
            'de cambio (Total 160.71 → 170.00). Revísela con tesorería antes de importar.'))]
    # Its due date may still change.
    report = run(app, {'facturas.csv': invoices_csv(
        invoice_row('1233074', serie='', uuid='', currency='USD', rate='18.8869', total='160.71',
                    issued='2017-10-05', due='2017-12-04', account=''))})
    assert report.ok and counts(report) == (0, 1, 0)


# --- invoices: CFDI XML -------------------------------------------------------------------

def test_a_cfdi_with_its_pdf_is_imported_and_both_download(app, canon):
    uuid = a_uuid('cfdi-4400')
    xml = cfdi_xml('4400', serie='C', uuid=uuid, moneda='USD', tipo_cambio='18.8869',
                   total='250.00', account='005301', condiciones='45 días',
                   fecha='2026-11-10T09:00:00')
    pdf = pdf_bytes('C-4400')
    report = run(app, {'CFDI-C4400.xml': xml, f'{uuid.lower()}.pdf': pdf})
    assert report.ok, report.lines
    assert report.kind == 'invoices' and counts(report) == (1, 0, 0)
    assert report.warnings == []

    def check(root):
        invoice = root.invoices_by_uuid[uuid]
        assert invoice.key == 'C-4400' and invoice.account == '005301'
        assert invoice.due == datetime.date(2026, 12, 25)   # CondicionesDePago: 45 días
        assert (invoice.currency, invoice.amount, invoice.balance, invoice.metodo_pago) == (
            'USD', Decimal('250.00'), Decimal('250.00'), 'PPD')
    read(app, check)
    assert canon.get(f'/customers/{CANON}/invoices/C-4400/@@xml').body == xml
    assert canon.get(f'/customers/{CANON}/invoices/C-4400/@@pdf').body == pdf
    assert 'C-4400' in canon.get(f'/customers/{CANON}/facturas').text


def test_a_cfdi_without_account_takes_the_first_and_says_so_when_there_are_several(app):
    report = run(app, {'a.xml': cfdi_xml('4401'), 'b.xml': cfdi_xml('4402'),
                       'c.xml': cfdi_xml('4403', receptor=IXTAPA)})
    assert report.ok and counts(report) == (3, 0, 0)
    assert warnings_of(report) == [('a.xml', None, (
        'Facturas del cliente CME930812PW3 sin cuenta: 2; se les asignó 005300, la primera de sus '
        '2 cuentas.'))]
    assert read(app, lambda root: [root.invoices_by_key[k].account
                                   for k in ('A-4401', 'A-4402', 'A-4403')]) == [
        '005300', '005300', '007100']


def test_a_csv_row_and_its_cfdi_are_one_invoice_and_must_agree(app):
    xml = cfdi_xml('4410', total='1160.00')
    report = run(app, {'facturas.csv': invoices_csv(invoice_row('4410', account='005301',
                                                                uuid='', due='2027-02-01')),
                       'A-4410.xml': xml})
    assert report.ok and counts(report) == (1, 0, 0)
    assert read(app, lambda root: (root.invoices_by_key['A-4410'].account,
                                   root.invoices_by_key['A-4410'].due,
                                   root.invoices_by_key['A-4410'].uuid,
                                   root.invoices_by_key['A-4410'].cfdi_xml is not None)) == (
        '005301', datetime.date(2027, 2, 1), a_uuid('A-4410'), True)

    with nothing_changes(app):
        report = run(app, {'facturas.csv': invoices_csv(invoice_row('4411', total='999.00')),
                           'A-4411.xml': cfdi_xml('4411', total='1160.00')})
        assert reasons(report) == [('facturas.csv', 2, (
            'La fila no coincide con el CFDI A-4411.xml: Total 999.00 en la fila y 1160.00 en el XML.'
        ))]


def test_credit_notes_and_payment_cfdis_are_skipped_with_a_warning(app):
    report = run(app, {'nc.xml': cfdi_xml('8001', tipo='E'), 'f.xml': cfdi_xml('8002')})
    assert report.ok and counts(report) == (1, 0, 0)
    assert 'no una factura de ingreso' in warnings_of(report)[0][2]
    assert read(app, lambda root: 'A-8001' in root.invoices_by_key) is False


# --- invoices: bad input changes nothing ---------------------------------------------------

BAD_INVOICE_ROWS = [
    (invoice_row('9101', rfc='CME-93-0812'), 'El RFC CME-93-0812 no tiene un formato válido.'),
    (invoice_row('9102', rfc='GODE561231GR8'),
     'El cliente con RFC GODE561231GR8 no existe en el portal; impórtelo primero con el archivo '
     'de clientes.'),
    (invoice_row('9103', total='-1160.00'), '«Total» no puede ser negativo (-1160.00).'),
    (invoice_row('9104', total='1.160,00'),
     '«Total»: «1.160,00» no es un importe válido; escriba por ejemplo 1234.56.'),
    (invoice_row('9105', balance='abc'),
     '«Saldo»: «abc» no es un importe válido; escriba por ejemplo 1234.56.'),
    (invoice_row('9106', currency='USD', rate=''), 'La factura está en USD y no trae tipo de cambio.'),
    (invoice_row('6212976', serie='', uuid=a_uuid('otro')),
     f'El folio 6212976 ya existe con otro UUID ({a_uuid("no")[:0]}'),
    (invoice_row('9107', issued='31/11/2026'),
     '«Fecha de emisión»: la fecha «31/11/2026» no es válida; use AAAA-MM-DD (por ejemplo '
     '2017-10-06) o DD/MM/AAAA.'),
    (invoice_row('9108', due='2026-11-01'), 'La fecha de vencimiento es anterior a la de emisión.'),
    (invoice_row('9109', pdf='no-esta.pdf'),
     'El PDF no-esta.pdf que indica la fila no está entre los archivos.'),
    (invoice_row('9110', account='007100'),
     'La cuenta 007100 no es del cliente CME930812PW3 (sus cuentas: 005300, 005301).'),
    (invoice_row('7100501', serie='', uuid=''),
     'La factura 7100501 ya existe en el portal y es del cliente DIS010203AB1.'),
    (invoice_row('9111', currency='EUR'), 'La moneda «EUR» no se admite; use MXN o USD.'),
    (invoice_row('9112', balance='2000.00'), 'El saldo (2000.00) es mayor que el total (1160.00).'),
    (invoice_row('9113', uuid='1234'),
     'El UUID «1234» no es válido (36 caracteres hexadecimales con guiones).'),
]


@pytest.mark.parametrize('bad_row, reason', BAD_INVOICE_ROWS,
                         ids=[row['Folio'] for row, _ in BAD_INVOICE_ROWS])
def test_one_bad_invoice_row_refuses_the_whole_file(app, bad_row, reason):
    with nothing_changes(app):
        files = {'facturas.csv': invoices_csv(invoice_row('9001'), invoice_row('9002'), bad_row),
                 'A-9001.pdf': pdf_bytes()}
        report = run(app, files)
        assert not report.ok
        assert report.kept is None and report.record is None
        [(source, line, text)] = reasons(report)
        assert (source, line) == ('facturas.csv', 4)
        assert text.startswith(reason), text
        assert 'no se importó nada' in report.lines and 'facturas.csv, línea 4: ' in report.lines
    assert read(app, lambda root: ('A-9001' in root.invoices_by_key, len(root.imports))) == (
        False, 0)


def test_every_error_of_the_file_is_reported_with_its_line(app):
    rows = [invoice_row(str(9200 + n)) for n in range(6)]
    rows[1]['RFC'] = 'MALO'
    rows[3]['Total'] = '-1'
    rows[3]['Fecha de emisión'] = 'ayer'
    rows.append(invoice_row('9200'))   # repeated
    with nothing_changes(app):
        report = run(app, {'facturas.csv': invoices_csv(*rows)})
    assert [(line, text[:30]) for _, line, text in reasons(report)] == [
        (3, 'El RFC MALO no tiene un format'),
        (5, '«Fecha de emisión»: la fecha «'),
        (5, '«Total» no puede ser negativo '),
        (8, 'La factura A-9200 está repetid'),
    ]
    assert 'ya aparece en facturas.csv, línea 2' in reasons(report)[-1][2]


def test_missing_columns_and_unknown_headers(app):
    with nothing_changes(app):
        header = ['RFC', 'Folio', 'Total', 'Fecha de emisión']
        report = run(app, {'facturas.csv': csv_bytes(header, [[CANON, '1', '10.00', '2026-11-01']])},
                     kind='invoices')
        assert reasons(report) == [('facturas.csv', 1, 'Falta la columna «Moneda».')]
        report = run(app, {'datos.csv': csv_bytes(['Uno', 'Dos'], [['1', '2']])})
        assert reasons(report) == [('datos.csv', 1, (
            'No se reconoce el tipo de archivo por su encabezado; vea las columnas de cada tipo en la '
            'documentación de archivos del ERP.'))]
        report = run(app, {'facturas.csv': invoices_csv(invoice_row('1')),
                           'clientes.csv': customers_csv(customer_row(CANON, 'Canon', '005300'))})
        assert 'Los archivos son de tipos distintos' in reasons(report)[0][2]


@pytest.mark.parametrize('xml, reason', [
    (cfdi_xml('9301', stamped=False), 'El CFDI no está timbrado'),
    (cfdi_xml('9302', receptor='GODE561231GR8'), 'El cliente con RFC GODE561231GR8 no existe'),
    (cfdi_xml('9303', moneda='USD'), 'La factura está en USD y no trae TipoCambio.'),
    (b'<html><body>no</body></html>', 'No es un CFDI'),
    (cfdi_xml('6212976', serie=''), 'El folio 6212976 ya existe con otro UUID'),
])
def test_a_bad_cfdi_refuses_the_import(app, xml, reason):
    with nothing_changes(app):
        report = run(app, {'bueno.xml': cfdi_xml('9300'), 'malo.xml': xml})
        [(source, _line, text)] = reasons(report)
        assert source == 'malo.xml' and text.startswith(reason), text


def test_a_pdf_that_is_not_a_pdf_or_claimed_twice(app):
    with nothing_changes(app):
        report = run(app, {'facturas.csv': invoices_csv(invoice_row('9001', pdf='x.pdf'),
                                                        invoice_row('9002', pdf='x.pdf')),
                           'x.pdf': pdf_bytes()})
        assert reasons(report)[0][:2] == ('facturas.csv', 3)
        assert 'corresponde a más de un documento' in reasons(report)[0][2]
        report = run(app, {'facturas.csv': invoices_csv(invoice_row('9001')),
                           'A-9001.pdf': b'<html>not a pdf</html>'})
        assert reasons(report) == [('A-9001.pdf', None, 'El archivo A-9001.pdf no es un PDF.')]


def test_a_pdf_nobody_claims_is_a_warning(app):
    report = run(app, {'facturas.csv': invoices_csv(invoice_row('9001')),
                       'suelto.pdf': pdf_bytes()})
    assert report.ok
    assert warnings_of(report) == [('suelto.pdf', None, (
        'El PDF suelto.pdf no corresponde a ningún documento del archivo; no se importó.'))]


def test_windows_1252_semicolons_and_spanish_aliases_are_read(app):
    header = ['R.F.C.', 'Cuenta', 'Serie', 'Folio', 'Folio fiscal', 'Fecha', 'Vencimiento',
              'Moneda', 'TC', 'Importe total', 'Saldo pendiente', 'MetodoPago', 'Observación']
    row = [CANON, '005301', 'Ñ', '77', '', '20/11/2026', '20/12/2026', 'Dólares', '18.8869',
           '$1,250.00', '', 'PPD', 'Crédito autorizado']
    data = csv_bytes(header, [row], encoding='cp1252', delimiter=';')
    report = run(app, {'facturas.csv': data})
    assert report.ok, report.lines
    assert warnings_of(report) == [
        ('facturas.csv', None, 'El archivo no está en UTF-8; se leyó como Windows-1252 (ANSI).'),
        ('facturas.csv', 1, 'Columnas que no se leen: «Observación».'),
    ]
    assert read(app, lambda root: (root.invoices_by_key['Ñ-77'].amount,
                                   root.invoices_by_key['Ñ-77'].currency)) == (
        Decimal('1250.00'), 'USD')


# --- balances ----------------------------------------------------------------------------

def test_the_erp_applies_payment_228_and_its_transit_leaves_saldos(app, canon):
    row = canon.get(f'/customers/{CANON}/saldos').html.find('tr', attrs={'data-key': '1233074'})
    assert row.find_all('td')[-1].get_text(strip=True) == '$1.00 USD'

    files = {'saldos.csv': balances_csv(
        {'RFC': CANON, 'Folio': '1233074', 'Saldo': '159.71', 'Referencia de pago': '228'},
        {'Folio': '6212976', 'Saldo': '27794.52'},
        {'Folio': '1233075', 'Saldo': '100.00'})}
    report = run(app, files)
    assert report.ok, report.lines
    assert report.kind == 'balances'
    # 1233074 and 1233075 change, 6212976 keeps its balance; payment 228 is applied.
    assert counts(report) == (0, 3, 1)
    assert report.kept['notes'] == ('Pagos aplicados: 1 (228).',)

    def check(root):
        payment = root.payments_by_reference['228']
        invoice = root.invoices_by_key['1233074']
        assert payment.state == APPLIED
        assert payment.history[-1][1:4] == ('approved', 'applied', 'erp')
        assert (invoice.balance, invoice.reservations, invoice.in_transit) == (
            Decimal('159.71'), (), Decimal('0.00'))
        assert invoice.applied == (('228', Decimal('1.00')),)
        transition = next(root.audit_log.search(action='payment.transition'))
        assert (transition.actor, transition.before, transition.after) == (
            ACTOR, 'approved', 'applied')
    read(app, check)

    row = canon.get(f'/customers/{CANON}/saldos').html.find('tr', attrs={'data-key': '1233074'})
    assert row.find_all('td')[-1].get_text(strip=True) == ''
    history = canon.get(f'/customers/{CANON}/historial-de-pagos')
    assert '228' in history.text

    again = run(app, files)
    assert again.ok and counts(again) == (0, 0, 4)


@pytest.mark.parametrize('row, reason', [
    ({'Folio': '1233074', 'Saldo': '1.00', 'Referencia de pago': '999'},
     'La referencia de pago 999 no existe en el portal.'),
    ({'Folio': '9999999', 'Saldo': '1.00'}, 'La factura 9999999 no existe en el portal.'),
    ({'Folio': '1233074', 'Saldo': '-3'}, '«Saldo» no puede ser negativo (-3).'),
    ({'Folio': '1233074', 'Saldo': '500.00'},
     'El saldo 500.00 es mayor que el total de la factura 1233074 (160.71).'),
    ({'Folio': '6212976', 'Saldo': '1.00', 'Referencia de pago': '228'},
     'El pago 228 no incluye la factura 6212976.'),
    ({'RFC': IXTAPA, 'Folio': '6212976', 'Saldo': '1.00'},
     'La factura 6212976 es del cliente CME930812PW3, no de DIS010203AB1.'),
    ({'Folio': '6212976'}, 'Falta «Saldo».'),
    ({'Saldo': '5.00'}, 'La fila no indica factura (Folio o UUID) ni referencia de pago.'),
])
def test_bad_balance_rows_refuse_the_file(app, row, reason):
    with nothing_changes(app):
        report = run(app, {'saldos.csv': balances_csv({'Folio': '1233075', 'Saldo': '100.00'}, row)})
        assert reason in [text for _, _, text in reasons(report)], reasons(report)
        assert all(line == 3 for _, line, _ in reasons(report))
    assert read(app, lambda root: root.payments_by_reference['228'].state) == 'approved'


def test_applying_a_payment_without_its_balance_warns(app):
    report = run(app, {'saldos.csv': balances_csv({'Referencia de pago': '228'})})
    assert report.ok and counts(report) == (0, 1, 0)
    assert warnings_of(report) == [('saldos.csv', 2, (
        'El pago 228 se aplica a la factura 1233074, pero el archivo no trae su saldo; el portal '
        'conserva el saldo 160.71.'))]


# --- statements ------------------------------------------------------------------------------

def test_statements_with_their_pdfs(app, canon):
    first, second = pdf_bytes('EC 171101'), pdf_bytes('EC 171102')
    files = {'estados.csv': statements_csv(
        {'Estado de cuenta': '171101', 'Cuenta': '005300', 'Fecha de emisión': '2017-11-01 13:03:01',
         'Periodo desde': '2017-10-01', 'Periodo hasta': '2017-10-31', 'Archivo PDF': 'ec1.pdf'},
        {'Estado de cuenta': '171102', 'Cuenta': '007100', 'Fecha de emisión': '01/11/2017 09:00'}),
        'ec1.pdf': first, '171102.pdf': second}
    report = run(app, files)
    assert report.ok, report.lines
    assert report.kind == 'statements' and counts(report) == (2, 0, 0)

    def check(root):
        statement = root.customers[CANON].statements['171101']
        assert statement.issued == datetime.datetime(2017, 11, 1, 19, 3, 1,
                                                      tzinfo=datetime.timezone.utc)
        assert statement.period_end == datetime.date(2017, 10, 31)
        assert root.customers[IXTAPA].statements['171102'].pdf is not None
    read(app, check)
    assert canon.get(f'/customers/{CANON}/statements/171101/@@pdf').body == first
    assert '171101' in canon.get(f'/customers/{CANON}/estados-de-cuenta').text

    assert counts(run(app, files)) == (0, 0, 2)
    files['ec1.pdf'] = pdf_bytes('EC 171101 corregido')
    report = run(app, files)
    assert counts(report) == (0, 1, 1)
    assert canon.get(f'/customers/{CANON}/statements/171101/@@pdf').body == files['ec1.pdf']


def test_bad_statement_rows(app):
    with nothing_changes(app):
        report = run(app, {'estados.csv': statements_csv(
            {'Estado de cuenta': '171101', 'Cuenta': '999999', 'Fecha de emisión': '2017-11-01'},
            {'Estado de cuenta': '171102', 'Cuenta': '005300', 'Fecha de emisión': 'noviembre'},
            {'Estado de cuenta': '171103', 'Cuenta': '005300', 'Fecha de emisión': '2017-11-01',
             'Archivo PDF': 'falta.pdf'})})
        assert [(line, text[:40]) for _, line, text in reasons(report)] == [
            (2, 'La cuenta 999999 no es de ningún cliente'),
            (3, '«Fecha de emisión»: la fecha y hora «nov'),
            (4, 'El PDF falta.pdf que indica la fila no e'),
        ]


# --- exchange rates ------------------------------------------------------------------------------

def test_exchange_rates_are_set_and_a_changed_one_is_audited(app):
    report = run(app, {'fix.csv': rates_csv(['2026-11-27', '18.1234'], ['2026-11-29', '18.9000'])})
    assert report.ok and report.kind == 'rates'
    assert counts(report) == (1, 1, 0)   # 29 November had the demo rate 18.8869

    def check(root):
        assert root.rates.latest_on_or_before(datetime.date(2026, 11, 28)) == (
            datetime.date(2026, 11, 27), Decimal('18.1234'))
        [entry] = root.audit_log.search(action='erp.rate.update')
        assert (entry.before, entry.after) == ('2026-11-29=18.8869', '2026-11-29=18.9000')
    read(app, check)
    assert counts(run(app, {'fix.csv': rates_csv(['2026-11-27', '18.1234'])})) == (0, 0, 1)


def test_bad_rates(app):
    with nothing_changes(app):
        report = run(app, {'fix.csv': rates_csv(['2026-11-27', '18.12345'], ['2026-11-28', '18.1'],
                                                ['2026-11-28', '18.2'], ['2026-11-31', '18.1'])})
        assert [(line, text[:45]) for _, line, text in reasons(report)] == [
            (2, 'El tipo de cambio «18.12345» tiene más de 4 d'),
            (4, 'El tipo de cambio del 2026-11-28 ya aparece e'),
            (5, '«Fecha»: la fecha «2026-11-31» no es válida; '),
        ]


# --- the record, the summary, dry runs, batches ------------------------------------------------

def test_a_successful_import_leaves_one_record_and_one_audit_entry(app):
    data = invoices_csv(invoice_row('9001'), invoice_row('9002'))
    report = run(app, {'facturas.csv': data})
    kept = report.kept
    assert re.fullmatch(r'20261130-071500-[0-9a-f]{4}', kept['name'])
    assert (kept['kind'], kept['actor'], kept['created'], kept['rows']) == (
        'invoices', ACTOR, NOW, 2)
    import hashlib
    assert kept['files'] == (('facturas.csv', len(data), hashlib.sha256(data).hexdigest()),)
    assert kept['counts'] == {'created': 2, 'updated': 0, 'unchanged': 0, 'warnings': 0}

    def check(root):
        record = root.imports[kept['name']]
        assert record.title == f'Importación {kept["name"]}'
        [entry] = root.audit_log.search(action='erp.import')
        assert entry.target == f'/imports/{kept["name"]}'
        assert entry.actor == ACTOR and entry.note == 'facturas.csv'
        assert entry.after == 'created=2; kind=invoices; unchanged=0; updated=0; warnings=0'
        # Creations get no audit entry of their own.
        assert len(root.audit_log) == 1
    read(app, check)
    assert report.summary_lines() == [
        'Importación de facturas: facturas.csv',
        'Creados: 2 · Actualizados: 0 · Sin cambios: 0 · Advertencias: 0',
        f'Registro de la importación: {kept["name"]}',
    ]


def test_a_dry_run_counts_and_writes_nothing(app):
    with nothing_changes(app):
        report = run(app, {'facturas.csv': invoices_csv(invoice_row('9001'), invoice_row('9002'))},
                     dry_run=True)
        assert report.ok and counts(report) == (2, 0, 0) and report.record is None
        assert 'Prueba sin cambios' in report.lines


def test_big_files_are_written_in_batches_with_progress(app, monkeypatch):
    monkeypatch.setattr(erp_job, 'BATCH_SIZE', 3)
    batches, progress = [], []
    rows = [invoice_row(str(9500 + n), uuid='') for n in range(10)]
    report = run(app, {'facturas.csv': invoices_csv(*rows)},
                 batch_done=lambda: batches.append(1),
                 progress=lambda done, total: progress.append((done, total)))
    assert report.ok and counts(report) == (10, 0, 0)
    assert len(batches) == 4   # after 3, 6 and 9 invoices, and the last one
    assert progress[-1][0] == progress[-1][1]
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_an_invoice_added_between_the_check_and_the_apply_is_never_overwritten(app, monkeypatch):
    # The apply creates what the check planned only while its serie-folio is still free.
    monkeypatch.setattr(erp_job, 'BATCH_SIZE', 1)

    def work(root):
        ixtapa = root.customers[IXTAPA]

        def meanwhile():   # another writer, once the first invoice is written
            if 'A-9702' not in root.invoices_by_key:
                ixtapa.add_invoice(Invoice('9702', ixtapa.accounts[0], datetime.date(2026, 11, 1),
                                           datetime.date(2026, 12, 1), 'MXN', Decimal('5.00'),
                                           serie='A'))
        files = named_files({'facturas.csv': invoices_csv(invoice_row('9701'),
                                                          invoice_row('9702'))})
        with pytest.raises(ApplyFailed):
            run_import(root, files, ACTOR, now=NOW, batch_done=meanwhile)
        kept = root.invoices_by_key['A-9702']
        canon_has_it = 'A-9702' in root.customers[CANON].invoices
        return kept.__parent__.__parent__.rfc, str(kept.amount), canon_has_it
    assert with_root(app, work) == (IXTAPA, '5.00', False)


def test_the_uuid_index_is_completed_when_an_import_stopped_half_way(app):
    run(app, {'facturas.csv': invoices_csv(invoice_row('9001'))})

    def lose_index(root):
        del root.invoices_by_uuid[a_uuid('A-9001')]
    read(app, lose_index)
    report = run(app, {'facturas.csv': invoices_csv(invoice_row('9001'))})
    assert counts(report) == (0, 1, 0)
    assert read(app, lambda root: root.invoices_by_uuid[a_uuid('A-9001')].key) == 'A-9001'


def test_detect_kind_reads_headers_and_rewinds():
    files = named_files({'x.csv': rates_csv(['2026-11-27', '18.1234'])})
    assert detect_kind(files) == 'rates'
    assert files[0][1].tell() == 0
    assert detect_kind(named_files({'a.xml': cfdi_xml('1'), 'a.pdf': pdf_bytes()})) == 'invoices'
    assert detect_kind(named_files({'a.pdf': pdf_bytes()})) is None
    assert set(KINDS) == set(erp_imports.IMPORTERS)


def test_unknown_kind_and_no_files(app):
    with nothing_changes(app):
        assert 'Tipo de importación desconocido' in run(app, {'a.csv': b'x'}, kind='nope').lines
        assert 'No se recibió ningún archivo.' in run(app, {}).lines


def test_a_non_seekable_upload_is_read_twice_all_the_same(app):
    class Stream:
        def __init__(self, data):
            import io
            self.inner = io.BytesIO(data)

        def read(self, size=-1):
            return self.inner.read(size)

        def seekable(self):
            return False

    data = invoices_csv(invoice_row('9001'))

    def work(root):
        return counts(run_import(root, [('f.csv', Stream(data), False)], ACTOR, now=NOW))
    assert with_root(app, work) == (1, 0, 0)


def test_clients_see_nothing_of_another_customers_import(app, canon):
    run(app, {'facturas.csv': invoices_csv(invoice_row('9900', rfc=IXTAPA, account='007100'))})
    assert 'A-9900' not in canon.get(f'/customers/{CANON}/facturas').text
    other = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert other.get(f'/customers/{IXTAPA}/invoices/A-9900', status='*').status_int in (302, 403)


def test_a_file_with_only_its_header_imports_nothing_and_says_so(app):
    report = run(app, {'fix.csv': rates_csv()})
    assert report.ok and counts(report) == (0, 0, 0)
    assert warnings_of(report) == [('fix.csv', None, 'El archivo no tiene filas de datos.')]
