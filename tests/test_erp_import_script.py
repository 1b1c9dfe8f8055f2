"""canonportal-import end to end: an demo_ini file, a FileStorage in a temporary folder, real files."""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyramid_zodbconn import db_from_uri

from canonportal.scripts import erp_import
from erp_samples import cfdi_xml, invoice_row, invoices_csv, pdf_bytes, write_invoices_csv
from script_support import last_tid, read_root, uri_of


def write(folder, name, data):
    path = Path(folder) / name
    path.write_bytes(data)
    return str(path)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    status = erp_import.main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_invoices_csv_xml_and_pdfs_are_imported_and_summarised(demo_ini, tmp_path):
    csv_path = write(tmp_path, 'facturas.csv', invoices_csv(invoice_row('9001'),
                                                          invoice_row('9002')))
    pdf_path = write(tmp_path, 'A-9001.pdf', pdf_bytes('A-9001'))
    xml_path = write(tmp_path, 'A-9003.xml', cfdi_xml('9003', account='005301'))
    status, out, err = run(demo_ini, csv_path, pdf_path, xml_path)
    assert status == 0, out + err
    assert 'Importación de facturas: facturas.csv, A-9001.pdf, A-9003.xml' in out
    assert 'Creados: 3 · Actualizados: 0 · Sin cambios: 0 · Advertencias: 0' in out
    assert '100%' in err   # not a terminal: whole tens of percent

    def check(root):
        invoices = root.customers['CME930812PW3'].invoices
        [record] = root.imports.values()
        [entry] = root.audit_log.search(action='erp.import')
        return (sorted(k for k in invoices if k.startswith('A-')),
                invoices['A-9001'].pdf is not None, invoices['A-9003'].account,
                record.actor, entry.actor)
    assert read_root(demo_ini, check) == (['A-9001', 'A-9002', 'A-9003'], True, '005301',
                                     'console:canonportal-import', 'console:canonportal-import')

    status, out, _ = run(demo_ini, csv_path, pdf_path, xml_path)
    assert status == 0 and 'Creados: 0 · Actualizados: 0 · Sin cambios: 3' in out


def test_a_bad_file_exits_1_with_the_lines_and_writes_nothing(demo_ini, tmp_path):
    tid = last_tid(demo_ini)
    bad = invoice_row('9002', total='doce')
    csv_path = write(tmp_path, 'facturas.csv', invoices_csv(invoice_row('9001'), bad))
    status, out, _ = run(demo_ini, csv_path)
    assert status == 1
    assert 'no se importó nada' in out
    assert 'facturas.csv, línea 3: «Total»: «doce» no es un importe válido' in out
    assert last_tid(demo_ini) == tid


def test_dry_run_and_kind(demo_ini, tmp_path):
    tid = last_tid(demo_ini)
    csv_path = write(tmp_path, 'facturas.csv', invoices_csv(invoice_row('9001')))
    status, out, _ = run(demo_ini, csv_path, '--dry-run', '--kind', 'invoices')
    assert status == 0 and 'Prueba sin cambios' in out and 'Creados: 1' in out
    assert last_tid(demo_ini) == tid
    status, out, _ = run(demo_ini, csv_path, '--kind', 'balances')
    assert status == 1 and 'El archivo parece de facturas, no de saldos.' in out
    assert last_tid(demo_ini) == tid


def transactions(ini_path):
    db = db_from_uri(uri_of(ini_path), 'unnamed', {})
    try:
        return len(db.undoLog(0, 1000))
    finally:
        db.close()


def test_a_big_file_is_committed_in_batches(demo_ini, tmp_path):
    path = tmp_path / 'grande.csv'
    write_invoices_csv(path, 12000)
    before = transactions(demo_ini)
    status, out, _ = run(demo_ini, str(path))
    assert status == 0, out
    assert 'Creados: 12000' in out

    def check(root):
        invoices = root.customers['CME930812PW3'].invoices
        return len(invoices), len(root.invoices_by_uuid), str(invoices['B-0011999'].amount)
    assert read_root(demo_ini, check) == (12000 + 11, 12000 + 13, '12099.99')
    # 24000 writes (12000 invoices, then their UUIDs in the index) committed every 5000,
    # then the record of the import.
    assert transactions(demo_ini) - before == 5 + 1


def test_a_database_held_by_the_running_portal_gets_a_clear_message(demo_ini, tmp_path):
    csv_path = write(tmp_path, 'facturas.csv', invoices_csv(invoice_row('9001')))
    tid = last_tid(demo_ini)
    held = db_from_uri(uri_of(demo_ini), 'unnamed', {})   # what `make run` does
    try:
        status, out, err = run(demo_ini, csv_path)
    finally:
        held.close()
    assert last_tid(demo_ini) == tid
    assert status == 2
    assert 'abierta por el portal en ejecución' in err and out == ''


def test_missing_files_are_refused_by_the_command_line(demo_ini, tmp_path):
    tid = last_tid(demo_ini)
    with pytest.raises(SystemExit) as refused:
        run(demo_ini, str(tmp_path / 'no-existe.csv'))
    assert refused.value.code == 2
    assert last_tid(demo_ini) == tid


def test_the_console_script_is_installed(demo_ini, tmp_path):
    csv_path = write(tmp_path, 'facturas.csv', invoices_csv(invoice_row('9001')))
    script = Path(sys.executable).parent / 'canonportal-import'
    result = subprocess.run([str(script), demo_ini, csv_path], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONIOENCODING='utf-8'), timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'Creados: 1' in result.stdout


def test_the_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = erp_import.ProgressBar(screen)
    for done in (0, 250, 250, 500, 1000):
        bar(done, 1000)
    bar.close()
    frames = screen.getvalue().split('\r')[1:]
    assert len(frames) == 4   # the repeated 25% is not drawn again
    assert frames[1].startswith('[#######.......................]  25%')
    assert frames[-1].startswith('[##############################] 100%') and frames[-1].endswith('\n')

    log = io.StringIO()
    bar = erp_import.ProgressBar(log)
    for done in range(0, 1001, 50):
        bar(done, 1000)
    assert log.getvalue().split() == [f'{n}%' for n in range(0, 101, 10)]


SPEI_SETTINGS = """
canonportal.banks = spei
spei.clabe_prefix = 6461801570
spei.notification_secret = scripts-test-spei-secret
spei.cep_url = http://127.0.0.1:9/cep
"""


def test_a_bank_statement_of_spei_transfers_from_the_console(demo_ini, tmp_path):
    from canonportal.spei.clabes import ClabeRange
    from spei_samples import camt053, camt_entry
    text = Path(demo_ini).read_text()      # SPEI in the [app:main] section
    Path(demo_ini).write_text(text.replace('[pshell]', SPEI_SETTINGS + '\n[pshell]', 1))
    clabe = read_root(demo_ini, lambda root: ClabeRange('6461801570').clabe_for(
        root.customers['CME930812PW3'].number))
    statement = write(tmp_path, 'estado.xml', camt053(
        camt_entry('27794.52', 'BNET0100261130000021', clabe),           # invoice 6212976 exactly
        camt_entry('12.34', 'BNET0100261130000022', clabe)))             # nothing adds up to it
    status, out, err = run(demo_ini, statement, '--kind', 'estado-bancario')
    assert status == 0, out + err
    assert '2 transferencias nuevas (1 aplicadas, 0 en revisión, 1 sin aplicar)' in out

    def state(root):
        payment = root.payments_by_reference['229']
        return (payment.state, [a.invoice_key for a in payment.allocations], payment.cep_state,
                len(root.transfers), list(root.transfers.unmatched))
    assert read_root(demo_ini, state) == (
        'approved', ['6212976'], 'pending', 2, ['20261130-BNET0100261130000022-40012'])
    again = run(demo_ini, statement, '--kind', 'estado-bancario')
    assert again[0] == 0 and '0 transferencias nuevas' in again[1] and '2 ya recibidas' in again[1]
    bad = write(tmp_path, 'malo.xml', camt053(camt_entry('1.00', 'X1', clabe, currency='EUR')))
    tid = last_tid(demo_ini)
    status, out, _err = run(demo_ini, bad, '--kind', 'estado-bancario')
    assert status == 1 and 'rechazado' in out
    assert last_tid(demo_ini) == tid


def test_two_rows_with_one_clave_from_the_console_are_two_transfers(demo_ini, tmp_path):
    """Two rows with one clave de rastreo and different amounts: both recorded (one for
    staff to look at), never "1 ya recibidas"; the same file again changes nothing."""
    from spei_samples import COMPANY_ACCOUNT, camt053, camt_entry
    text = Path(demo_ini).read_text()
    Path(demo_ini).write_text(text.replace('[pshell]', SPEI_SETTINGS + '\n[pshell]', 1))
    statement = write(tmp_path, 'estado.xml', camt053(
        camt_entry('1.00', 'BNET0100261130000051', COMPANY_ACCOUNT),
        camt_entry('999.00', 'BNET0100261130000051', COMPANY_ACCOUNT)))
    status, out, err = run(demo_ini, statement, '--kind', 'estado-bancario')
    assert status == 0, out + err
    assert '2 transferencias nuevas' in out and '0 ya recibidas' in out
    key = '20261130-BNET0100261130000051-40012'

    def transfers(root):
        return {k: (t.state, str(t.amount), t.related) for k, t in root.transfers.items()}
    assert read_root(demo_ini, transfers) == {
        key: ('unmatched', '1.00', (f'{key}-2',)), f'{key}-2': ('same-key', '999.00', (key,))}
    assert read_root(demo_ini, lambda root: list(root.transfers.unmatched)) == [key, f'{key}-2']
    status, out, _err = run(demo_ini, statement, '--kind', 'estado-bancario')
    assert status == 0 and '0 transferencias nuevas' in out and '2 ya recibidas' in out
    assert len(read_root(demo_ini, transfers)) == 2


def test_a_balances_file_applying_a_payment_mails_its_payer_once(demo_ini, tmp_path):
    import email
    import email.policy

    import transaction
    from canonportal.resources import get_root_from_connection
    from erp_samples import balances_csv

    maildir = tmp_path / 'mail'
    text = Path(demo_ini).read_text().replace('[pshell]', f'mail.queue_path = {maildir}\n\n[pshell]')
    Path(demo_ini).write_text(text)
    db = db_from_uri(uri_of(demo_ini), 'unnamed', {})
    try:
        manager = transaction.TransactionManager()
        with manager:
            conn = db.open(transaction_manager=manager)
            get_root_from_connection(conn).customers['CME930812PW3'].email = 'pagos@example.mx'
        conn.close()
    finally:
        db.close()
    # The demo's payment 228 paid 1233074: two rows name it.
    data = balances_csv({'RFC': 'CME930812PW3', 'Folio': '1233074', 'Saldo': '159.71',
                         'Referencia de pago': '228'},
                        {'RFC': 'CME930812PW3', 'Referencia de pago': '228'})
    path = write(tmp_path, 'saldos.csv', data)
    status, out, err = run(demo_ini, path)
    assert status == 0, out + err
    assert read_root(demo_ini, lambda root: root.payments_by_reference['228'].state) == 'applied'
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted((maildir / 'new').iterdir())]
    assert [(m['To'], m['Subject']) for m in mails] == [
        ('pagos@example.mx', 'Su pago 228 ya está aplicado a sus facturas')]
    assert 'Aplicado por Canon Mexicana el ' in mails[0].get_body(('plain',)).get_content()
    # Again: nothing to apply, nothing mailed.
    assert run(demo_ini, path)[0] == 0
    assert len(list((maildir / 'new').iterdir())) == 1
