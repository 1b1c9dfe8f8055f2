"""The payment export for the ERP: what each CSV row says, which payments go out, the record.

Real payments go through the sandbox banks (payment_support); the rest uses the
demo data (payment 228 of the manual) and payments written straight into the
database where a test needs a state or a date the flow cannot give it.
"""
import csv
import datetime
import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import transaction
from ZODB.POSException import ConflictError

from canonportal import clock
from canonportal.bootstrap import demo_uuid, ensure_root, mexico_time
from canonportal.erp.exports import COLUMNS, export_payments, exportable_payments
from canonportal.money import to_money
from canonportal.resources import Allocation, Payment
from canonportal.resources.payment import APPLIED, APPROVED, DECLINED
from canonportal.scripts import erp_export
from portal_support import CANON, database_of, nothing_changes, with_root
from payment_support import MANUAL_SELECTION
from script_support import last_tid, read_root

HOST = {'HTTP_HOST': 'portal.example.mx'}
STAFF = 'staff:alice'


# -- helpers ---------------------------------------------------------------------------

def rows_of(data):
    """The CSV as a list of dicts; checks the BOM and the header on the way."""
    assert data.startswith(b'\xef\xbb\xbf')
    reader = csv.reader(io.StringIO(data.decode('utf-8-sig'), newline=''))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row)) for row in reader]


def export(app, actor=STAFF, **criteria):
    """Select and export in one transaction, as the console and the staff page do.

    Returns ``(record name, CSV bytes)`` or None when there was nothing to export.
    """
    def work(root):
        payments = exportable_payments(root, **criteria)
        record = export_payments(root, payments, actor, clock.utcnow())
        return None if record is None else (record.__name__, record.csv_bytes())
    return with_root(app, work)


def selected(app, **criteria):
    return with_root(app, lambda root: [p.reference for p in exportable_payments(root, **criteria)])


def add_payment(root, paid_at, state=APPROVED, folio='6212976', amount='100.00',
                bank='bbva', bank_reference='BBVA 123456'):
    """A payment of ``amount`` (MXN invoice) written straight into the tree."""
    canon = root.customers[CANON]
    invoice = canon.invoices[folio]
    reference = root.next_payment_reference()
    allocation = Allocation(folio, invoice.account, 'MXN', to_money(amount), to_money(amount),
                            None, invoice.left_to_pay, invoice.next_instalment())
    payment = Payment(reference, CANON, bank, [allocation], created=paid_at)
    invoice.reserve(reference, amount)
    if state == DECLINED:
        payment.transition(DECLINED, paid_at, 'test')
        invoice.release(reference)
    else:
        payment.transition(APPROVED, paid_at, 'test')
        payment.paid_at = paid_at
        payment.bank_reference = bank_reference
        if state == APPLIED:
            payment.transition(APPLIED, paid_at, 'test')
    canon.add_payment(payment)
    return reference


# -- fixtures: a portal with the sandbox banks ----------------------------------------

def pay(payer, bank, amounts):
    """Pay ``amounts`` ({folio: None for all, or ('mxn'|'usd', text)}) at ``bank`` with a good card."""
    form = payer.choose(*amounts)
    for folio, amount in amounts.items():
        if amount is not None:
            field, text = amount
            form[f'{field}-{folio}'] = text
    confirm = payer.post(f'/customers/{CANON}/pagar', form.submit_fields() + [('bank', bank)])
    assert confirm.html.find(id='confirm-title') is not None, confirm.text[:2000]
    answer = confirm.forms[len(confirm.forms) - 1].submit('confirmado')
    back = payer.at_bank(answer)
    payer.banks.wait_for_deliveries()
    assert back.status_int == 303, back.status
    reference = back.location.rstrip('/').rsplit('/', 1)[-1]
    assert with_root(payer.app, lambda root: root.payments_by_reference[reference].state) == APPROVED
    return reference


# -- contents ----------------------------------------------------------------------------

@pytest.mark.parametrize('bank, card', [('bbva', 'credito'), ('banamex', 'credito')])
def test_a_sandbox_payment_of_three_invoices_gives_one_row_per_invoice(payer, portal, bank, card):
    reference = pay(payer, bank, dict.fromkeys(MANUAL_SELECTION))
    assert reference == '229'
    bank_reference, authorization = with_root(portal, lambda root: (
        root.payments_by_reference['229'].bank_reference,
        root.payments_by_reference['229'].bank_data.get(
            'mp_authorization' if bank == 'bbva' else 'authorization_code')))
    assert re.fullmatch(r'(BBVA|BC-Banamex) \w{6}', bank_reference)

    name, data = export(portal)
    rows = sorted((row for row in rows_of(data) if row['referencia_pago'] == '229'),
                  key=lambda row: row['folio'], reverse=True)
    # The frozen clock: 2026-11-29 18:00 UTC is noon in Mexico City; the REP is due 5 December.
    common = {
        'referencia_pago': '229', 'fecha_pago': '2026-11-29T12:00:00',
        'fecha_pago_utc': '2026-11-29T18:00:00Z', 'fecha_limite_complemento': '2026-12-05',
        'banco': bank, 'referencia_bancaria': bank_reference, 'num_operacion': authorization,
        'forma_pago': '04', 'tipo_tarjeta': card, 'estado': 'approved', 'rfc': CANON,
        'razon_social': 'Canon Mexicana SA de CV', 'cuenta': '005300', 'serie': '',
        'metodo_pago': '', 'monto_pago_mxn': '36870.80', 'exportaciones_previas': '',
        # A card payment has none of the transfer's columns.
        'rfc_emisor_cta_ord': '', 'cta_ordenante': '', 'rfc_emisor_cta_ben': '',
        'cta_beneficiario': '', 'tipo_cad_pago': '', 'cert_pago': '', 'cad_pago': '',
        'sello_pago': '',
        # No REP yet, and the method of payment unknown: the REP is still missing.
        'complemento_uuid': '', 'complemento_pendiente': 'si',
    }
    assert rows == [
        dict(common, folio='6212976', uuid=demo_uuid('6212976'), moneda_factura='MXN',
             importe_mxn='27794.52', importe_moneda_factura='27794.52', tipo_cambio='1',
             num_parcialidad='1', saldo_anterior='27794.52', saldo_insoluto='0.00'),
        dict(common, folio='1233080', uuid=demo_uuid('1233080'), moneda_factura='USD',
             importe_mxn='5904.42', importe_moneda_factura='312.62', tipo_cambio='18.8869',
             num_parcialidad='1', saldo_anterior='312.62', saldo_insoluto='0.00'),
        # 167.94 USD × 18.8869 = 3,171.86 MXN (truncated to the cent, as the ERP does).
        dict(common, folio='1233076', uuid=demo_uuid('1233076'), moneda_factura='USD',
             importe_mxn='3171.86', importe_moneda_factura='167.94', tipo_cambio='18.8869',
             num_parcialidad='1', saldo_anterior='167.94', saldo_insoluto='0.00'),
    ]
    assert sum(Decimal(r['importe_mxn']) for r in rows) == Decimal('36870.80')


def test_demo_payment_228_row(app, frozen_clock):
    name, data = export(app)
    assert rows_of(data) == [{
        'referencia_pago': '228', 'fecha_pago': '2017-10-10T08:34:00',
        'fecha_pago_utc': '2017-10-10T13:34:00Z', 'fecha_limite_complemento': '2017-11-05',
        'banco': 'banamex', 'referencia_bancaria': 'BC-Banamex 063197',
        'num_operacion': 'BC-Banamex 063197', 'forma_pago': '04', 'tipo_tarjeta': '',
        'estado': 'approved', 'rfc': CANON, 'razon_social': 'Canon Mexicana SA de CV',
        'cuenta': '005300', 'serie': '', 'folio': '1233074', 'uuid': demo_uuid('1233074'),
        'metodo_pago': '', 'moneda_factura': 'USD', 'importe_mxn': '18.31',
        'importe_moneda_factura': '1.00', 'tipo_cambio': '18.3100', 'num_parcialidad': '1',
        'saldo_anterior': '160.71', 'saldo_insoluto': '159.71', 'monto_pago_mxn': '18.31',
        'exportaciones_previas': '',
        'rfc_emisor_cta_ord': '', 'cta_ordenante': '', 'rfc_emisor_cta_ben': '',
        'cta_beneficiario': '', 'tipo_cad_pago': '', 'cert_pago': '', 'cad_pago': '',
        'sello_pago': '', 'complemento_uuid': '', 'complemento_pendiente': 'si',
    }]


def test_the_export_says_which_rep_documents_a_payment_and_which_is_missing(app, frozen_clock):
    from canonportal.demo_complements import EXAMPLE_UUID, example_228
    from erp_samples import import_committed
    import_committed(app, {'REP-228.xml': example_228()})
    [row] = rows_of(export(app)[1])
    assert (row['complemento_uuid'], row['complemento_pendiente']) == (EXAMPLE_UUID, '')


def test_the_rep_deadline_follows_the_setting(app):
    from canonportal.erp.exports import render_csv
    data, _count = with_root(app, lambda root: render_csv(
        root, [root.payments_by_reference['228']], deadline_day=10))
    assert rows_of(data)[0]['fecha_limite_complemento'] == '2017-11-10'


def test_partial_payments_number_the_instalments_and_carry_the_balances(payer, portal):
    first = pay(payer, 'bbva', {'6212976': ('mxn', '1000.00'), '1233080': ('usd', '100')})
    second = pay(payer, 'banamex', {'6212976': ('mxn', '500.00'), '1233074': ('usd', '50')})
    rows = rows_of(export(portal)[1])
    figures = sorted((r['referencia_pago'], r['folio'], r['moneda_factura'], r['importe_moneda_factura'],
                r['importe_mxn'], r['tipo_cambio'], r['num_parcialidad'], r['saldo_anterior'],
                r['saldo_insoluto'], r['monto_pago_mxn']) for r in rows)
    assert figures == sorted([
        # The demo's payment 228: 1.00 USD of 1233074.
        ('228', '1233074', 'USD', '1.00', '18.31', '18.3100', '1', '160.71', '159.71', '18.31'),
        # 1,000.00 + 100 USD × 18.8869 = 1,888.69 → 2,888.69 MXN.
        (first, '6212976', 'MXN', '1000.00', '1000.00', '1', '1', '27794.52', '26794.52', '2888.69'),
        (first, '1233080', 'USD', '100.00', '1888.69', '18.8869', '1', '312.62', '212.62', '2888.69'),
        # The second payment of 6212976 starts where the first left it; 1233074 after 228.
        (second, '6212976', 'MXN', '500.00', '500.00', '1', '2', '26794.52', '26294.52', '1444.34'),
        (second, '1233074', 'USD', '50.00', '944.34', '18.8869', '2', '159.71', '109.71', '1444.34'),
    ])


def test_cells_that_start_like_formulas_are_escaped_and_numbers_are_not(app, frozen_clock):
    def poison(root):
        payment = root.payments_by_reference['228']
        payment.bank_reference = '=HYPERLINK("http://evil.example","x")'
        payment.bank_data = {'authorization_code': '@SUM(1+1)*cmd|" /C calc"!A0'}
        root.customers[CANON].name = '+Canon Mexicana'
        root.customers[CANON].invoices['1233074'].serie = '-A'
    with_root(app, poison)
    data = export(app)[1]
    text = data.decode('utf-8-sig')
    assert '\'=HYPERLINK(""http://evil.example"",""x"")' in text
    row = rows_of(data)[0]
    assert row['referencia_bancaria'] == '\'=HYPERLINK("http://evil.example","x")'
    assert row['num_operacion'] == '\'@SUM(1+1)*cmd|" /C calc"!A0'
    assert row['razon_social'] == "'+Canon Mexicana"
    assert row['serie'] == "'-A"
    # Nothing else was touched: numbers stay numbers a spreadsheet can add up.
    for column in ('importe_mxn', 'importe_moneda_factura', 'tipo_cambio', 'num_parcialidad',
                   'saldo_anterior', 'saldo_insoluto', 'monto_pago_mxn'):
        Decimal(row[column])
    assert not any(value.startswith(('=', '+', '-', '@')) for value in row.values())


# -- which payments ----------------------------------------------------------------------

def test_only_payments_not_yet_exported_go_out_and_an_empty_export_records_nothing(
        payer, portal, frozen_clock):
    first_name, first = export(portal)
    assert [r['referencia_pago'] for r in rows_of(first)] == ['228']
    assert selected(portal) == []
    frozen_clock.advance(minutes=5)
    reference = pay(payer, 'bbva', {'6212976': ('mxn', '10.00')})
    assert selected(portal) == [reference]
    frozen_clock.advance(minutes=5)
    second_name, second = export(portal)
    assert [r['referencia_pago'] for r in rows_of(second)] == [reference]
    # Nothing new: no record, no audit entry, nothing marked.
    frozen_clock.advance(minutes=5)
    with nothing_changes(portal):
        assert export(portal) is None
    assert with_root(portal, lambda root: sorted(root.exports)) == sorted([first_name, second_name])
    assert with_root(portal, lambda root: root.payments_by_reference['228'].exported) == (first_name,)


def test_re_exporting_on_purpose_is_allowed_and_recorded(app, frozen_clock):
    first_name, _ = export(app)
    frozen_clock.advance(hours=1)
    assert export(app) is None
    second_name, data = export(app, include_exported=True)
    assert second_name != first_name
    row, = rows_of(data)
    assert row['referencia_pago'] == '228'
    assert row['exportaciones_previas'] == first_name

    def read(root):
        record = root.exports[second_name]
        return (record.references, record.reexported,
                root.payments_by_reference['228'].exported)
    assert with_root(app, read) == (('228',), ('228',), (first_name, second_name))
    entry = with_root(app, lambda root: next(root.audit_log.search(action='erp.export')))
    assert entry.target == f'/exports/{second_name}' and 'reexportados: 228' in entry.note


def test_a_date_range_takes_approved_and_applied_payments_paid_those_mexico_city_days(
        app, frozen_clock):
    def setup(root):
        late = add_payment(root, mexico_time(2017, 10, 10, 23, 30))       # 05:30 UTC on the 11th
        applied = add_payment(root, mexico_time(2017, 10, 11, 0, 10), state=APPLIED)
        declined = add_payment(root, mexico_time(2017, 10, 10, 12, 0), state=DECLINED)
        return late, applied, declined
    late, applied, declined = with_root(app, setup)
    day = datetime.date
    assert selected(app, since=day(2017, 10, 10), until=day(2017, 10, 10)) == ['228', late]
    assert selected(app, since=day(2017, 10, 11)) == [applied]
    assert selected(app, until=day(2017, 10, 9)) == []
    assert selected(app, since=day(2017, 10, 1), until=day(2017, 10, 31)) == ['228', late, applied]
    # Without a range: approved and not exported; neither applied nor declined ones.
    assert selected(app) == ['228', late]
    assert declined not in selected(app, include_exported=True)

    name, data = export(app, since=day(2017, 10, 10), until=day(2017, 10, 10))
    assert [r['fecha_pago'] for r in rows_of(data)] == ['2017-10-10T08:34:00', '2017-10-10T23:30:00']
    # A range is a re-export on purpose: exported payments are in it, unless asked otherwise.
    assert selected(app) == []
    assert selected(app, since=day(2017, 10, 10), until=day(2017, 10, 10)) == ['228', late]
    assert selected(app, since=day(2017, 10, 1), include_exported=False) == [applied]
    applied_row, = rows_of(export(app, since=day(2017, 10, 11))[1])
    assert applied_row['estado'] == 'applied' and applied_row['num_parcialidad'] == '2'


# -- the record and the audit log ----------------------------------------------------------

def test_the_record_says_who_when_and_which_payments_and_keeps_the_file(app, frozen_clock):
    name, data = export(app, actor='staff:alice')
    frozen_clock.advance(days=1)   # later downloads give the file as it was

    def read(root):
        record = root.exports[name]
        entries = list(root.audit_log.search(action='erp.export'))
        return record, record.csv_bytes(), entries
    record, stored, entries = with_root(app, read)
    assert name == '20261129-180000'
    assert record.filename == 'pagos-erp-20261129-120000.csv'
    assert record.actor == 'staff:alice'
    assert record.created == datetime.datetime(2026, 11, 29, 18, 0, tzinfo=datetime.timezone.utc)
    assert record.references == ('228',) and record.reexported == ()
    assert record.row_count == 1 and record.total_mxn == Decimal('18.31')
    assert stored == data
    entry, = entries
    assert (entry.actor, entry.action, entry.target, entry.after) == (
        'staff:alice', 'erp.export', f'/exports/{name}', '228')
    assert entry.when == record.created
    assert '1 pagos, 1 filas, 18.31 MXN' in entry.note


def test_two_exports_in_the_same_second_get_two_records(app, frozen_clock):
    first, _ = export(app)
    second, _ = export(app, include_exported=True)
    assert (first, second) == ('20261129-180000', '20261129-180000-2')
    assert with_root(app, lambda root: root.exports[second].filename) == 'pagos-erp-20261129-120000-2.csv'


def test_two_exports_racing_for_one_payment_export_it_once(app, frozen_clock):
    db = database_of(app)
    managers = [transaction.TransactionManager(explicit=True) for _ in range(2)]
    connections = [db.open(transaction_manager=tm) for tm in managers]
    try:
        for tm in managers:
            tm.begin()
        roots = [ensure_root(c.root()) for c in connections]
        chosen = [exportable_payments(root) for root in roots]
        assert [[p.reference for p in c] for c in chosen] == [['228'], ['228']]
        first = export_payments(roots[0], chosen[0], 'staff:alice', clock.utcnow())
        managers[0].commit()
        frozen_clock.advance(seconds=1)
        export_payments(roots[1], chosen[1], 'staff:bob', clock.utcnow())
        with pytest.raises(ConflictError):
            managers[1].commit()
        managers[1].abort()
        # The retry (pyramid_retry, run_in_transaction) selects again and sees the first's marks.
        managers[1].begin()
        root = ensure_root(connections[1].root())
        assert exportable_payments(root) == []
        assert export_payments(root, exportable_payments(root), 'staff:bob', clock.utcnow()) is None
        managers[1].commit()
        first_name = first.__name__
    finally:
        for c in connections:
            c.close()

    def read(root):
        return (list(root.exports), root.payments_by_reference['228'].exported,
                [e.actor for e in root.audit_log.search(action='erp.export')])
    assert with_root(app, read) == ([first_name], (first_name,), ['staff:alice'])


# -- the console script ----------------------------------------------------------------------



def test_console_export_writes_the_file_records_it_and_then_finds_nothing_new(
        demo_ini, tmp_path, capsys, frozen_clock):
    out = tmp_path / 'pagos.csv'
    assert erp_export.main([demo_ini, '-o', str(out)]) == 0
    assert [r['referencia_pago'] for r in rows_of(out.read_bytes())] == ['228']
    err = capsys.readouterr().err
    assert 'export 20261129-180000: 1 payments, 1 rows, 18.31 MXN' in err and str(out) in err

    def read(root):
        record = root.exports['20261129-180000']
        return record.actor, record.references, record.csv_bytes()
    actor, references, stored = read_root(demo_ini, read)
    assert (actor, references) == ('console:canonportal-export', ('228',))
    assert stored == out.read_bytes()      # kept in a blob, as written

    # Nothing new: no file, no record, the old file untouched.
    tid = last_tid(demo_ini)
    again = tmp_path / 'nada.csv'
    assert erp_export.main([demo_ini, '-o', str(again)]) == 0
    assert 'no payments to export' in capsys.readouterr().err
    assert not again.exists()
    assert erp_export.main([demo_ini, '-o', str(out)]) == 0
    assert out.read_bytes() == stored
    assert last_tid(demo_ini) == tid


def test_console_exports_the_payments_still_missing_their_rep(demo_ini, tmp_path, capsys,
                                                              frozen_clock):
    erp_export.main([demo_ini, '-o', str(tmp_path / 'first.csv')])
    frozen_clock.advance(minutes=1)
    stdout = io.BytesIO()
    assert erp_export.main([demo_ini, '--missing-complements'], stdout=stdout) == 0
    [row] = rows_of(stdout.getvalue())
    assert (row['referencia_pago'], row['complemento_pendiente'], row['exportaciones_previas']) \
        == ('228', 'si', '20261129-180000')
    tid = last_tid(demo_ini)
    assert erp_export.main([demo_ini, '--missing-complements', '--since', '2017-11-01'],
                           stdout=io.BytesIO()) == 0
    assert 'no payments to export' in capsys.readouterr().err and last_tid(demo_ini) == tid


def test_console_all_and_date_range_re_export_to_stdout(demo_ini, tmp_path, capsys, frozen_clock):
    erp_export.main([demo_ini, '-o', str(tmp_path / 'first.csv')])
    stdout = io.BytesIO()
    frozen_clock.advance(minutes=1)
    assert erp_export.main([demo_ini, '--all'], stdout=stdout) == 0
    assert [r['exportaciones_previas'] for r in rows_of(stdout.getvalue())] == ['20261129-180000']
    assert '1 exported before' in capsys.readouterr().err
    stdout = io.BytesIO()
    frozen_clock.advance(minutes=1)
    assert erp_export.main([demo_ini, '--since', '2017-10-10', '--until', '2017-10-10'], stdout=stdout) == 0
    assert [r['referencia_pago'] for r in rows_of(stdout.getvalue())] == ['228']
    assert erp_export.main([demo_ini, '--since', '2017-10-11'], stdout=io.BytesIO()) == 0
    assert 'no payments to export' in capsys.readouterr().err
    assert erp_export.main([demo_ini, '--since', '2017-10-01', '--new-only'], stdout=io.BytesIO()) == 0
    assert 'no payments to export' in capsys.readouterr().err
    assert read_root(demo_ini, lambda root: [r.since for r in root.exports.values()]) == [
        None, None, datetime.date(2017, 10, 10)]


@pytest.mark.parametrize('arguments', [
    ['--since', '10/10/2017'], ['--until', '2017-13-01'],
    ['--since', '2017-10-11', '--until', '2017-10-10'], ['--all', '--new-only']])
def test_console_refuses_bad_arguments_and_changes_nothing(demo_ini, tmp_path, capsys, arguments):
    tid = last_tid(demo_ini)
    with pytest.raises(SystemExit) as refused:
        erp_export.main([demo_ini, *arguments])
    assert refused.value.code == 2
    assert last_tid(demo_ini) == tid


def test_the_installed_console_script(demo_ini, tmp_path):
    script = Path(sys.executable).parent / 'canonportal-export'
    done = subprocess.run([str(script), demo_ini], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [r['referencia_pago'] for r in rows_of(done.stdout)] == ['228']
    assert b'1 payments, 1 rows, 18.31 MXN' in done.stderr
