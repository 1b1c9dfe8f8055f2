"""Issue 24's benchmark pieces: the crowded database, the probe's headers and the judgement.

The load tools are not needed: a tiny generated database is crowded as the benchmark crowds
the large one, served as benchmarks.serve serves it, and read back.
"""
import io
import sys
from pathlib import Path

import plaster
import webtest

from canonportal.resources.payment import IN_PROGRESS_STATES, PENDING, REQUESTED
from canonportal.scripts import generate
from portal_support import last_form

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:   # benchmarks/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))
from benchmarks import crowd  # noqa: E402
from benchmarks.report import crowded_targets  # noqa: E402
from benchmarks.serve import probed_portal  # noqa: E402

REFERENCE = generate.REFERENCE_RFC


def crowded_database(tmp_path):
    db = tmp_path / 'db'
    (db / 'blobs').mkdir(parents=True)
    generate.main([str(REPO / 'benchmarks' / 'bench.ini'), f'db={db}', 'http_port=0', 'bank_port=0',
                   '--customers', '12', '--invoices-per-customer', '12', '--progress', '0'],
                  out=io.StringIO())
    added = crowd.crowd(db, REFERENCE, first_index=2, pending=15, per_customer=2, history=130,
                        batch=40)
    return db, added


def test_the_crowd_is_other_customers_payments_in_progress_in_both_indexes(tmp_path):
    db, added = crowded_database(tmp_path)
    assert added['pending'] == 15 and added['pending_in_root'] == 15 and added['history_added'] == 130
    writer = crowd.Writer(db)
    try:
        root = writer.root
        pending = dict(root.pending_payments.items())
        assert {p.customer_rfc for p in pending.values()} & {REFERENCE, generate.regular_rfc(0),
                                                             generate.regular_rfc(1)} == set()
        assert {(p.bank, p.state) for p in pending.values()} == {
            ('banamex', PENDING), ('spei', PENDING), ('bbva', REQUESTED)}
        for payment in pending.values():
            customer = root.customers[payment.customer_rfc]
            assert customer.in_progress[payment.reference] is payment
            assert payment.state in IN_PROGRESS_STATES
            invoice = customer.invoices[payment.allocations[0].invoice_key]
            assert (payment.reference, payment.total_mxn) in invoice.reservations
            assert len([p for p in customer.in_progress.values()]) <= 2
        reference = root.customers[REFERENCE]
        assert len(reference.history) == 130 and not list(reference.in_progress)
        assert reference.history.tally.by_state['applied'][:2] == (130, 130)
    finally:
        writer.close()
    # A second call adds only what is missing.
    assert crowd.ensure_history(db, REFERENCE, 130) == 0


def test_the_served_portal_says_what_each_request_loaded_and_empties_caches_when_asked(tmp_path):
    db, _ = crowded_database(tmp_path)
    loader = plaster.get_loader(str(REPO / 'benchmarks' / 'bench.ini'), protocols=['wsgi'])
    app = probed_portal(loader, {'db': str(db), 'http_port': '8080', 'bank_port': '8081'})
    portal = webtest.TestApp(app, extra_environ={'HTTP_HOST': '127.0.0.1'})
    try:
        form = last_form(portal.get('/'))
        form['login'], form['password'] = REFERENCE, generate.PASSWORD
        assert form.submit().status_int == 303
        path = f'/customers/{REFERENCE}/historial-de-pagos'
        probed, cold_probe = {'X-Bench-Probe': '1'}, {'X-Bench-Probe': '1', 'X-Bench-Cold': '1'}
        cold = portal.get(path, headers=cold_probe)
        warm = portal.get(path, headers=probed)
        again = portal.get(path, headers=cold_probe)
        # A request that does not ask (the load's) is served without the probe's work.
        unprobed = portal.get(path, headers={'X-Bench-Cold': '1'})
        assert 'X-Bench-Loads' not in unprobed.headers and 'X-Bench-Ms' not in unprobed.headers
        assert int(portal.get(path, headers=probed).headers['X-Bench-Loads']) < 5   # not emptied
        assert 'Registros: 130' in ' '.join(cold.html.get_text(' ').split())
        # The first page's 100 payments and the index around them, loaded again when asked.
        assert int(cold.headers['X-Bench-Loads']) > 100
        assert int(again.headers['X-Bench-Loads']) == int(cold.headers['X-Bench-Loads'])
        assert int(warm.headers['X-Bench-Loads']) < 5 and float(warm.headers['X-Bench-Ms']) > 0
        saldos = portal.get(f'/customers/{REFERENCE}/saldos')
        assert len(saldos.html.select('tr.invoice-row')) == 20
        assert not saldos.html.select('.in-progress-item')   # others' payments are not its banner
    finally:
        app.registry._zodb_databases[''].close()


def test_crowded_pages_are_judged_against_the_same_pages_uncrowded():
    def figures(key, database, rps, p50, cold_ms, cold_loads):
        return dict(key=key, database=database, label=key, rps=rps, p50_ms=p50, p95_ms=p50 * 2,
                    cold_ms=cold_ms, cold_server_ms=cold_ms, cold_loads=cold_loads,
                    warm_ms=p50 / 4, warm_server_ms=p50 / 5, warm_loads=0)
    results = {'databases': {'crowded': {'pending': 10000}}, 'pages': [
        figures('saldos-20', 'large-100000', 300, 20.0, 10.0, 59),
        figures('saldos-20-crowded', 'crowded-100000', 290, 21.0, 10.5, 59),
        figures('historial', 'large-100000', 100, 50.0, 30.0, 120),
        figures('historial-crowded', 'crowded-100000', 100, 50.0, 40.0, 246)]}

    def alternated(page, database, cold, server_ms):
        return dict(page=page, database=database, cold=cold, requests=40, ms=server_ms + 3,
                    server_ms=server_ms, loads=0)
    results['ab'] = [alternated('saldos-20', 'large-100000', True, 8.0),
                     alternated('saldos-20', 'crowded-100000', True, 8.6),
                     alternated('saldos-20', 'large-100000', False, 2.0),
                     alternated('saldos-20', 'crowded-100000', False, 1.9),
                     alternated('historial', 'large-100000', True, 30.0),
                     alternated('historial', 'crowded-100000', True, 50.0)]
    met = {t['target']: t['met'] for t in crowded_targets(results)}
    # SALDOS: throughput, cold and warm alternately, objects; HISTORIAL: throughput, cold
    # (+67 %: missed), no warm pair, objects (246 for 120: missed).
    assert [v for k, v in met.items() if k.startswith('SALDOS')] == [True, True, True, True]
    assert [v for k, v in met.items() if k.startswith('HISTORIAL')] == [True, False, False]
    assert all('10,000 payments in progress of others' in k for k in met)
