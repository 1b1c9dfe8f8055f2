"""canonportal-generate: synthetic customers and invoices for the benchmarks.

A small run must create exactly what it reports, keep the root's indexes in
step with the customers' folders, produce data the ERP import would accept,
and give customers that can sign in with the known password and pay.
"""
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import plaster
import pytest
import webtest
from stdnum.mx import rfc as stdnum_rfc

from canonportal.erp import fields
from canonportal.money import ZERO
from canonportal.resources import ACTIVE, MXN, USD
from canonportal.resources.invoice import OPEN, OVERDUE, PAID
from canonportal.resources.payment import APPLIED
from canonportal.scripts import generate
from canonportal.clock import mexico_today
from canonportal.payments.selection import payable_invoices
from portal_support import Client, file_storage_uri, last_form, make_app, with_root

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:   # benchmarks/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))
from benchmarks.report import evaluate, markdown  # noqa: E402

TODAY = mexico_today()


@pytest.fixture
def generate_ini(tmp_path):
    """An generate_ini file whose database folder is the ``db`` option, as pserve's name=value."""
    path = tmp_path / 'generate.ini'
    path.write_text(
        '[app:main]\nuse = egg:canonportal\n'
        f'zodbconn.uri = file://{tmp_path}/%(db)s/Data.fs?blobstorage_dir={tmp_path}/%(db)s/blobs\n',
        encoding='utf-8')
    return path


def run(generate_ini, db, *options):
    """Run the console script's main; return its JSON summary (the last line printed)."""
    (generate_ini.parent / db / 'blobs').mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    assert generate.main([str(generate_ini), f'db={db}', '--today', TODAY.isoformat(), '--progress', '0',
                          *options], out=out) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1]), out.getvalue()


def read(generate_ini, db, work):
    app = make_app(**{'zodbconn.uri': file_storage_uri(generate_ini.parent / db)})
    try:
        return with_root(app, work)
    finally:
        app.registry._zodb_databases[''].close()


SMALL = ('--customers', '6', '--invoices-per-customer', '10', '--large', '1', '--large-invoices', '30',
         '--statements', '2', '--payments-per-customer', '1', '--batch', '7')


def test_a_small_run_creates_what_it_reports_with_consistent_indexes(generate_ini, tmp_path):
    summary, _ = run(generate_ini, 'db', *SMALL, '--manifest', str(tmp_path / 'manifest.json'))
    assert summary['customers'] == 6 + 1 + 1           # regular, large, reference
    assert summary['invoices'] == 6 * 10 + 30 + 20
    assert summary['statements'] == 8 * 2
    assert summary['payments'] == 6                    # one per regular customer (each has a paid invoice)
    assert summary['commits'] > 10                     # committed in batches of 7 objects
    assert summary['invoices_per_second'] > 0 and summary['peak_rss_mb'] > 0

    manifest = json.loads((tmp_path / 'manifest.json').read_text(encoding='utf-8'))
    assert manifest['password'] == generate.PASSWORD
    assert manifest['reference'] == generate.REFERENCE_RFC
    assert manifest['large'] == [generate.large_rfc(0)]
    assert manifest['customers'] == [generate.regular_rfc(i) for i in range(6)]
    assert len(manifest['statements']) == 2

    def check(root):
        customers = list(root.customers.values())
        assert len(root.customers) == len(customers) == 8
        invoices = [inv for c in customers for inv in c.invoices.values()]
        assert sum(len(c.invoices) for c in customers) == len(invoices) == summary['invoices']
        assert len(root.invoices_by_key) == len(root.invoices_by_uuid) == len(invoices)
        for invoice in invoices:
            assert root.invoices_by_key[invoice.key] is invoice
            assert root.invoices_by_uuid[invoice.uuid] is invoice
        payments = [p for c in customers for p in c.payments.values()]
        assert len(payments) == len(root.payments_by_reference) == summary['payments']
        for payment in payments:
            assert root.payments_by_reference[payment.reference] is payment
            assert payment.state == APPLIED and payment.paid_at is not None
            (allocation,) = payment.allocations
            invoice = root.customers[payment.customer_rfc].invoices[allocation.invoice_key]
            assert invoice.balance == ZERO and invoice.applied == ((payment.reference, invoice.amount),)
        assert not root.pending_payments
        for customer in customers:
            assert customer.state == ACTIVE
            assert root.customers.find_by_email(customer.email) is customer
            assert sorted(customer.statements) == sorted(manifest['statements'])
        assert len(root.customers.by_email) == 8
        # Every status and both currencies, with the exchange rate a USD invoice needs.
        assert {inv.status(TODAY) for inv in invoices} == {OPEN, OVERDUE, PAID}
        assert {inv.currency for inv in invoices} == {MXN, USD}
        assert all(inv.exchange_rate for inv in invoices if inv.currency == USD)
        assert any(ZERO < inv.balance < inv.amount for inv in invoices)   # partly paid
        assert root.rates.latest_on_or_before(TODAY)[0] == TODAY
        reference = root.customers[generate.REFERENCE_RFC]
        large = root.customers[generate.large_rfc(0)]
        assert len(payable_invoices(reference)) == len(reference.invoices) == 20
        assert len(payable_invoices(large)) == len(large.invoices) == 30

    read(generate_ini, 'db', check)


def test_generated_data_passes_the_erp_import_validation(generate_ini):
    run(generate_ini, 'db', *SMALL)

    def check(root):
        for customer in root.customers.values():
            assert fields.rfc(customer.rfc) == (customer.rfc, None)     # valid, check digit too
            stdnum_rfc.validate(customer.rfc, validate_check_digits=True)
            assert tuple(fields.accounts(' '.join(customer.accounts))) == customer.accounts
            for invoice in customer.invoices.values():
                assert fields.uuid(invoice.uuid) == invoice.uuid
                assert fields.serie_folio(invoice.serie, invoice.folio) == (invoice.serie, invoice.folio)
                assert invoice.account in customer.accounts
                assert invoice.amount > ZERO and ZERO <= invoice.balance <= invoice.amount

    read(generate_ini, 'db', check)


def test_a_generated_customer_signs_in_and_sees_saldos(generate_ini):
    run(generate_ini, 'db', *SMALL)
    app = make_app(**{'zodbconn.uri': file_storage_uri(generate_ini.parent / 'db')})
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    answer = client.login(generate.REFERENCE_RFC, generate.PASSWORD)
    assert answer.status_int == 303
    saldos = client.get(f'/customers/{generate.REFERENCE_RFC}/saldos')
    assert len(saldos.html.select('tr.invoice-row')) == 20
    assert len(saldos.html.select('tr.invoice-row input[name=pick]:not([disabled])')) == 20

    other = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    rfc = generate.regular_rfc(0)
    assert other.login(rfc, 'not the password').status_int == 400
    assert other.login(rfc, generate.PASSWORD).status_int == 303
    history = other.get(f'/customers/{rfc}/historial-de-pagos')
    assert len(history.html.select('table.history-table tbody tr')) == 1


def test_a_second_run_appends_after_the_first(generate_ini):
    first, _ = run(generate_ini, 'db', '--customers', '3', '--invoices-per-customer', '4')
    second, out = run(generate_ini, 'db', '--customers', '2', '--invoices-per-customer', '4', '--seed', '7')
    assert first['customers'] == 3 + 1 and first['invoices'] == 3 * 4 + 20
    assert second['customers'] == 2 and second['invoices'] == 2 * 4   # the reference exists already
    assert f'{generate.REFERENCE_RFC} already exists' in out

    def check(root):
        assert sorted(root.customers) == sorted([generate.REFERENCE_RFC] +
                                                [generate.regular_rfc(i) for i in range(5)])
        assert len(root.invoices_by_key) == len(root.invoices_by_uuid) == 3 * 4 + 20 + 2 * 4
        assert root.invoices_by_key.maxKey() == f'GEN-{3 * 4 + 20 + 2 * 4:08d}'

    read(generate_ini, 'db', check)


def test_the_reference_customer_is_the_same_in_databases_of_any_size(generate_ini):
    run(generate_ini, 'small', '--customers', '1', '--invoices-per-customer', '5')
    run(generate_ini, 'large', '--customers', '30', '--invoices-per-customer', '5', '--large', '1',
        '--large-invoices', '40')

    def reference_invoices(root):
        return [(i.key, i.currency, i.amount, i.balance, i.due, i.exchange_rate)
                for i in root.customers[generate.REFERENCE_RFC].invoices.values()]

    small, large = read(generate_ini, 'small', reference_invoices), read(generate_ini, 'large', reference_invoices)
    assert small == large and len(small) == 20


def test_rfcs_grow_with_their_index_and_carry_the_check_digit():
    rfcs = [generate.regular_rfc(i) for i in (0, 1, 365, 9000, 9131, 60000)]
    assert rfcs == sorted(rfcs) and len(set(rfcs)) == len(rfcs)
    assert rfcs[0] == 'AAA000101GN9'
    for rfc in rfcs + [generate.REFERENCE_RFC, generate.large_rfc(3)]:
        assert stdnum_rfc.is_valid(rfc, validate_check_digits=True), rfc
    assert generate.cents(12345) == Decimal('123.45')


@pytest.mark.parametrize('option', [('--customers', '-1'), ('--batch', '0'), ('--statements', '25')])
def test_bad_arguments_are_refused(generate_ini, option):
    with pytest.raises(SystemExit):
        generate.main([str(generate_ini), 'db=x', '--customers', '1', '--invoices-per-customer', '1', *option])


# -- the benchmark harness's own pieces (benchmarks/) --------------------------------------
# The load tools (wrk, locust) are not needed here: these check that bench.ini's three
# apps still load and answer as settings evolve, and how a run's figures are judged.

def _bench_app(name, **options):
    loader = plaster.get_loader(str(REPO / 'benchmarks' / 'bench.ini'), protocols=['wsgi'])
    return loader.get_wsgi_app(name, defaults={k: str(v) for k, v in options.items()})


def test_bench_ini_serves_the_portal_on_a_generated_database_hello_and_the_banks(tmp_path):
    db = tmp_path / 'db'
    (db / 'blobs').mkdir(parents=True)
    out = io.StringIO()
    generate.main([str(REPO / 'benchmarks' / 'bench.ini'), f'db={db}', 'http_port=0', 'bank_port=0',
                   '--customers', '2', '--invoices-per-customer', '3', '--progress', '0'], out=out)
    portal = webtest.TestApp(_bench_app('main', db=db, http_port=8080, bank_port=8081))
    try:
        form = last_form(portal.get('/'))
        form['login'], form['password'] = generate.REFERENCE_RFC, generate.PASSWORD
        assert form.submit().status_int == 303
        saldos = portal.get(f'/customers/{generate.REFERENCE_RFC}/saldos')
        assert len(saldos.html.select('tr.invoice-row')) == 20
        assert {b['value'] for b in saldos.html.select('button[name=bank]')} == {'banamex', 'bbva'}
        settings = portal.app.registry.settings
        assert settings['pyramid.reload_templates'] is False and not settings['pyramid.debug_notfound']
        assert settings['banamex.base_url'] == 'http://127.0.0.1:8081/sandbox/banamex'
    finally:
        portal.app.registry._zodb_databases[''].close()
    assert webtest.TestApp(_bench_app('hello')).get('/').text == 'Hello'
    banks = webtest.TestApp(_bench_app('banks', http_port=8080))
    assert 'Sandbox BBVA' in banks.get('/sandbox/bbva/').text
    assert banks.get('/elsewhere', status=404)


def test_a_run_is_judged_against_the_hello_view_of_the_same_run():
    def figures(rps, p50, p95, **extra):
        return dict(rps=rps, p50_ms=p50, p95_ms=p95, p99_ms=p95 * 2, errors=0, unexpected=0,
                    connections=8, peak_rss_mb=100, **extra)

    results = {
        'hello': [figures(1000, 2, 5), figures(800, 3, 6)],
        'pages': [figures(400, 10, 40, key='saldos-20', label='SALDOS', database='large-1000000'),
                  figures(380, 10.5, 42, key='saldos-20', label='SALDOS', database='small-1000'),
                  figures(20, 300, 400, key='saldos-5000', label='SALDOS 5000', database='large-1000000')],
        'databases': {'small': {'invoices': 1000}, 'large': {'invoices': 1_000_000, 'seconds': 200,
                                                             'invoices_per_second': 5000, 'peak_rss_mb': 80}},
        'memory_after_load': {'rss_mb': 310, 'peak_rss_mb': 350},
        'payments': {'users': 50, 'bank': 'banamex', 'seconds': 10.0, 'failures': 1,
                     'outcomes': {'approved': 49, 'error': 1}, 'steps': {},
                     'database': {'over_reserved': []}},
    }
    met = {t['target'].split(':')[0]: t['met'] for t in evaluate(results)}
    # 400 req/s against the mean of both hello runs (900): 44 %.
    assert met['SALDOS with 20 invoices'] is True
    assert met['Page times flat in database size'] is True        # 10.0 vs 10.5 ms: -5 %
    assert met['Customer with 5,000 open invoices'] is False      # p95 400 ms
    assert met['Serving process under 300 MB RSS after the load run (1,000,000 invoices)'] is False
    assert met['50 payment sessions at once through the sandbox banamex'] is False   # one failed
    results['pages'][1]['p50_ms'] = 12.0
    assert {t['target'].split(':')[0]: t['met'] for t in evaluate(results)}[
        'Page times flat in database size'] is False              # 10 vs 12 ms: -17 %
    results['targets'] = evaluate(results)
    table = markdown(results)
    assert '| SALDOS | large-1000000 | 400 | 0.44 |' in table
    assert '4.90 payments/s' in table


def test_sign_ins_through_nginx_are_judged_by_issue_20s_targets_and_their_median():
    """benchmarks.signin_storm's figures: all 30 let in within 5 s without a conflict; the
    other customer's SALDOS p95 under 200 ms during the flood; a refused sign-in in the
    payment burst is a miss, not a hang."""
    from benchmarks.median import median_results

    def run(signed_in, p95, gave_up, saldos_p95):
        return {'hello': [], 'pages': [], 'databases': {}, 'machine': {}, 'settings': {},
                'payments': {'users': 50, 'bank': 'banamex', 'seconds': 10.0, 'failures': 0,
                             'outcomes': {'approved': 50 - (30 - signed_in), 'sign-in refused': 30 - signed_in},
                             'steps': {}, 'database': {'over_reserved': []}},
                'signins': {
                    'signin-30': {'customers': 30, 'signed_in': signed_in, 'p50_ms': p95 / 2,
                                  'p95_ms': p95, 'max_ms': p95,
                                  'answers': {'303': signed_in, '503': 30 - signed_in},
                                  'conflicts': {'gave_up': gave_up, 'writes_retried': 1,
                                                'requests_retried': 0}},
                    'signin-flood-saldos': {'sign_ins': 600, 'parallel': 100, 'addresses': 200,
                                            'seconds': 30.0, 'answers': {'400': 500, '429': 100},
                                            'saldos_requests': 900, 'saldos_not_200': {},
                                            'saldos_p50_ms': 20.0, 'saldos_p95_ms': saldos_p95,
                                            'saldos_max_ms': 300.0, 'conflicts': {}}}}

    def met(results):
        return {t['target'].split(':')[0]: t['met'] for t in evaluate(results)}
    good, bad = run(30, 1800.0, 0, 80.0), run(27, 6000.0, 3, 900.0)
    assert met(good) == {
        '50 payment sessions at once through the sandbox banamex': True,
        '30 customers signing in at once through nginx': True,
        '600 sign-ins, 100 at once from 200 addresses, through nginx': True}
    assert set(met(bad).values()) == {False}
    assert '1 writes and 0 requests retried' in evaluate(good)[1]['measured']
    merged = median_results([good, good, bad])
    assert merged['signins']['signin-30']['p95_ms'] == 1800.0
    assert merged['signins']['signin-30']['answers_total'] == {'303': 87, '503': 3}
    assert merged['signins']['signin-flood-saldos']['saldos_p95_ms'] == 80.0
    judged = {t['target'].split(':')[0]: t['met'] for t in merged['targets']}
    assert judged['30 customers signing in at once through nginx'] is True
    assert judged['50 payment sessions at once through the sandbox banamex'] is False  # a refusal shows


def test_bench_ini_is_production_ini_but_for_what_a_loopback_benchmark_must_change():
    """The benchmark measures production's settings: the same app settings, ZODB cache
    and waitress threads; only addresses, secrets, mail and HTTPS-only flags differ."""
    import configparser
    from urllib.parse import parse_qsl, urlsplit

    def sections(name):
        parser = configparser.RawConfigParser()
        parser.read(REPO / name, encoding='utf-8')
        return parser

    bench, production = sections('benchmarks/bench.ini'), sections('production.ini')
    may_differ = ('mail.', 'banamex.', 'bbva.', 'canonportal.public_url', 'canonportal.session_secret',
                  'canonportal.session_secure', 'canonportal.hsts', 'canonportal.allowed_hosts', 'zodbconn.uri', 'pyramid.debug_routematch')
    mine = {k: v for k, v in bench.items('app:main') if k not in bench.defaults()}
    theirs = {k: v for k, v in production.items('app:main') if k not in production.defaults()}
    compared = {key for key in set(mine) | set(theirs) if not key.startswith(may_differ)}
    assert {k: mine.get(k) for k in compared} == {k: theirs.get(k) for k in compared}

    def storage_options(uri):
        return {k: v for k, v in parse_qsl(urlsplit(uri).query) if k != 'blobstorage_dir'}
    assert storage_options(mine['zodbconn.uri']) == storage_options(theirs['zodbconn.uri'])
    assert bench.get('server:main', 'threads') == production.get('server:main', 'threads')
    assert bench.get('server:main', 'use') == production.get('server:main', 'use')
    assert bench.get('server:main', 'signin_threads') == production.get('server:main', 'signin_threads')
