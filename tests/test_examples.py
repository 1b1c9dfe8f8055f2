"""The ERP files shipped in examples/erp/ (the ones the README tells staff to try) import as described."""
import io
from pathlib import Path

import transaction
from pyramid_zodbconn import db_from_uri

from canonportal.resources import get_root_from_connection
from canonportal.resources.payment import APPLIED
from canonportal.scripts import erp_import
from script_support import last_tid, uri_of

EXAMPLES = Path(__file__).resolve().parent.parent / 'examples' / 'erp'


def run(ini_path, *names):
    out, err = io.StringIO(), io.StringIO()
    status = erp_import.main([ini_path] + [str(EXAMPLES / n) for n in names], stdout=out, stderr=err)
    return status, out.getvalue() + err.getvalue()


def read(ini_path, work):
    db = db_from_uri(uri_of(ini_path), 'unnamed', {})
    try:
        manager = transaction.TransactionManager()
        with manager:
            return work(get_root_from_connection(db.open(transaction_manager=manager)))
    finally:
        db.close()


def test_the_example_invoices_csv_and_cfdi_are_imported(demo_ini):
    status, text = run(demo_ini, 'facturas.csv', 'A-9201.xml', 'A-9201.pdf')
    assert status == 0, text

    def check(root):
        canon = root.customers['CME930812PW3']
        assert {'A-9101', 'A-9102', 'A-9201'} <= set(canon.invoices)
        return canon.invoices['A-9201'].pdf is not None, canon.invoices['A-9102'].currency
    assert read(demo_ini, check) == (True, "USD")


def test_the_example_with_bad_rows_changes_nothing_and_names_the_lines(demo_ini):
    tid = last_tid(demo_ini)
    status, text = run(demo_ini, 'facturas-con-error.csv')
    assert status == 1
    for line in ('línea 3', 'línea 4', 'línea 5'):
        assert line in text, text
    assert 'línea 2' not in text
    assert last_tid(demo_ini) == tid


def test_the_example_balances_apply_payment_228_and_clear_its_transit(demo_ini):
    status, text = run(demo_ini, 'saldos.csv')
    assert status == 0, text

    def check(root):
        invoice = root.customers['CME930812PW3'].invoices['1233074']
        return root.payments_by_reference['228'].state, invoice.in_transit, str(invoice.balance)
    assert read(demo_ini, check) == (APPLIED, 0, '159.71')


def test_the_example_customers_and_rates_are_imported(demo_ini):
    assert run(demo_ini, 'clientes.csv')[0] == 0
    assert run(demo_ini, 'tipos-de-cambio.csv')[0] == 0

    def check(root):
        import datetime
        return ('AAA010101AAA' in root.customers,
                str(root.rates.latest_on_or_before(datetime.date(2026, 11, 27))[1]))
    assert read(demo_ini, check) == (True, '18.3562')


def test_the_example_rep_documents_payment_228_and_is_what_its_generator_writes(demo_ini):
    from canonportal.demo_complements import EXAMPLE_UUID, example_228, example_228_pdf
    assert (EXAMPLES / 'REP-228.xml').read_bytes() == example_228()
    assert (EXAMPLES / 'REP-228.pdf').read_bytes() == example_228_pdf()
    status, text = run(demo_ini, 'REP-228.xml', 'REP-228.pdf')
    assert status == 0, text

    def check(root):
        complement = root.complements_by_uuid[EXAMPLE_UUID]
        return (complement.references, complement.pdf is not None,
                root.payments_by_reference['228'].complements)
    assert read(demo_ini, check) == (('228',), True, (EXAMPLE_UUID,))
    status, text = run(demo_ini, 'REP-228.xml')
    assert status == 0 and 'ya estaba importado' in text
