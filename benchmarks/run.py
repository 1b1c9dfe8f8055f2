"""python -m benchmarks.run: the whole benchmark, in one command (see docs/benchmarks.md).

1. Builds two databases with canonportal-generate (unless ``--reuse``): a small one
   (``--small-invoices``, 1,000) and a large one (``--invoices``, 1,000,000), both
   holding the same reference customer with 20 open invoices; in the large one it also
   has ``--base-history`` (100) payments in its HISTORIAL. Then the crowded database
   (benchmarks/crowd.py): a copy of the large one with ``--crowd`` (10,000) payments in
   progress of other customers and ``--history`` (2,000) payments of the reference customer.
2. Serves the bare Pyramid "hello" view and measures it with wrk: the ceiling.
3. Serves the portal on the large database (and the sandbox banks on their own
   server) and measures, each after a warm-up, at ``--users`` connections: sign-in,
   SALDOS with 20 invoices, SALDOS with 5,000 (first page), FACTURAS, HISTORIAL
   DE PAGOS, a statement PDF; the reference customer's SALDOS and HISTORIAL are also
   requested one at a time, cold and warm, for the objects each loads (benchmarks/probe.py).
   Then ``--payers`` customers pay at once through the
   sandbox bank (locust); the server's RSS is read after this load run.
   Through deploy/'s nginx site in front of that portal: 30 customers signing in at
   once, and a flood of 600 sign-ins while a customer reloads SALDOS (signin_storm).
4. Serves the portal on the crowded database: the reference customer's SALDOS and
   HISTORIAL (``saldos-20-crowded``, ``historial-crowded``), measured as on the large one;
   then both databases at once, the same pages probed alternately (benchmarks.ab), which
   is what the crowded targets compare (a shared machine's load falls on both alike).
   Serves the portal on the small database: SALDOS of the same reference customer.
5. Measures "hello" again (the machine's drift shows as the difference).
6. Checks the payments in the large database: states, over-reservations.

Writes every figure to ``--out`` (JSON) and prints the markdown tables.
"""
import argparse
import datetime
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import ab, checks, crowd, loads, proxy, signin_storm
from .served_pages import banks_for, log_file, page_targets, portal_on, sessions
from .report import ab_table, markdown, evaluate
from .servers import INI, REPO, Served, free_port

#: (key, label, database, what the page is).
PAGES = (
    ('signin', 'Inicio de sesión (POST, argon2)', 'large'),
    ('saldos-20', 'SALDOS, 20 facturas abiertas', 'large'),
    ('saldos-5000', 'SALDOS, 5,000 facturas abiertas (primera página)', 'large'),
    ('facturas', 'FACTURAS', 'large'),
    ('historial', 'HISTORIAL DE PAGOS (cliente de referencia)', 'large'),
    ('statement-pdf', 'Estado de cuenta en PDF', 'large'),
)
#: The reference customer's pages in the crowded database (benchmarks/crowd.py), each beside
#: its page in the large one: (key, label, the large database's key).
CROWDED_PAGES = (
    ('saldos-20-crowded', 'SALDOS, 20 facturas abiertas, entre pagos en curso de otros', 'saldos-20'),
    ('historial-crowded', 'HISTORIAL DE PAGOS (cliente de referencia), entre pagos en curso de otros',
     'historial'),
)
#: The pages probed one request at a time, cold and warm (objects loaded, time in process).
PROBED = ('saldos-20', 'historial') + tuple(key for key, _label, _base in CROWDED_PAGES)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.run', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ini', default=str(INI), help='benchmark ini file (default benchmarks/bench.ini)')
    parser.add_argument('--out', default='var/bench/results.json', help='JSON results file')
    parser.add_argument('--work', default='var/bench', help='databases and logs go here')
    parser.add_argument('--invoices', type=int, default=1_000_000, help='invoices in the large database')
    parser.add_argument('--small-invoices', type=int, default=1000, help='invoices in the small database')
    parser.add_argument('--per-customer', type=int, default=20, help='invoices per regular customer')
    parser.add_argument('--large-invoices', type=int, default=5000,
                        help='open invoices of the very large customer')
    parser.add_argument('--reuse', action='store_true', help='use the databases of an earlier run')
    parser.add_argument('--duration', type=int, default=30, help='seconds measured per page')
    parser.add_argument('--warmup', type=int, default=5, help='seconds of warm-up per page')
    parser.add_argument('--users', type=int, default=8, help='concurrent connections (wrk -c)')
    parser.add_argument('--wrk-threads', type=int, default=2)
    parser.add_argument('--pool', type=int, default=50, help='customers whose pages are cycled through')
    parser.add_argument('--payers', type=int, default=50, help='customers paying at once')
    parser.add_argument('--tabs', type=int, default=1,
                        help='sessions per paying customer racing for the same invoices')
    parser.add_argument('--bank', choices=('banamex', 'bbva'), default='banamex')
    parser.add_argument('--picks', type=int, default=3, help='invoices per payment')
    parser.add_argument('--crowd', type=int, default=10_000,
                        help='payments in progress of other customers in the crowded database')
    parser.add_argument('--crowd-per-customer', type=int, default=4,
                        help='payments in progress of each of those customers')
    parser.add_argument('--history', type=int, default=2000,
                        help="payments in the reference customer's HISTORIAL, crowded database")
    parser.add_argument('--base-history', type=int, default=100,
                        help="payments in the reference customer's HISTORIAL, large database")
    parser.add_argument('--probes', type=int, default=15,
                        help='requests of each probed page, one at a time, cold and then warm')
    parser.add_argument('--ab-rounds', type=int, default=40,
                        help='rounds of benchmarks.ab: both databases served at once, probed alternately')
    parser.add_argument('--server-env', nargs='*', default=[], metavar='NAME=VALUE',
                        help='environment of every served app, e.g. MALLOC_ARENA_MAX=2')
    parser.add_argument('--skip', nargs='*', default=[], metavar='PART',
                        help='parts to leave out: hello, pages (all) or a page (saldos-20 ...), '
                             'signin-30, signin-flood-saldos, payments, small, crowded')
    args = parser.parse_args(argv)
    args.env = dict(item.split('=', 1) for item in args.server_env)
    return args


# -- databases ------------------------------------------------------------------------

def build_database(args, name, invoices, large):
    """Generate (or reuse) a database of about ``invoices`` invoices; return its manifest."""
    folder = (REPO / args.work / name).resolve()
    manifest_path = folder / 'manifest.json'
    if args.reuse and manifest_path.exists():
        print(f'reusing {folder}', flush=True)
        evolve(args, folder)
        return folder, json.loads(manifest_path.read_text(encoding='utf-8'))
    if folder.exists():
        for child in sorted(folder.rglob('*'), reverse=True):
            child.unlink() if child.is_file() or child.is_symlink() else child.rmdir()
    (folder / 'blobs').mkdir(parents=True)
    reference = 20
    fixed = reference + (args.large_invoices if large else 0)
    customers = max((invoices - fixed) // args.per_customer, args.pool + args.payers if large else 1)
    command = [str(Path(sys.executable).parent / 'canonportal-generate'), args.ini, f'db={folder}',
               'http_port=0', 'bank_port=0',
               '--customers', str(customers), '--invoices-per-customer', str(args.per_customer),
               '--large', '1' if large else '0', '--large-invoices', str(args.large_invoices),
               '--reference-invoices', str(reference), '--manifest', str(manifest_path),
               '--manifest-customers', str(args.pool + args.payers), '--progress', '30']
    print(f'generating {name}: {customers:,} customers × {args.per_customer} invoices '
          f'+ {fixed:,} ({" ".join(command[3:])})', flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    print(done.stdout.strip().splitlines()[-1], flush=True)
    manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
    manifest['counts']['wall_seconds'] = round(time.monotonic() - started, 1)
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding='utf-8')
    return folder, manifest


def evolve(args, folder):
    """Run the evolve steps an earlier run's database misses (the portal refuses it otherwise)."""
    command = [str(Path(sys.executable).parent / 'canonportal-evolve'), args.ini, f'db={folder}',
               'http_port=0', 'bank_port=0']
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    print(f'  {done.stdout.strip()}', flush=True)


def build_crowded(args, large_folder, manifest):
    """The crowded copy of the large database (benchmarks/crowd.py), or the earlier run's."""
    folder = (REPO / args.work / f'crowded-{args.invoices}').resolve()
    record = folder / 'crowd.json'
    if args.reuse and record.exists():
        print(f'reusing {folder}', flush=True)
        evolve(args, folder)
        return folder, json.loads(record.read_text(encoding='utf-8'))
    print(f'crowded database: a copy of {large_folder.name}, {args.crowd:,} payments in progress '
          f'of other customers ({args.crowd_per_customer} each), the reference customer with '
          f'{args.history:,} payments', flush=True)
    started = time.monotonic()
    crowd.copy_database(large_folder, folder)
    added = crowd.crowd(folder, manifest['reference'], len(manifest['customers']), args.crowd,
                        args.crowd_per_customer, args.history)
    added['seconds'] = round(time.monotonic() - started, 1)
    record.write_text(json.dumps(added, indent=1), encoding='utf-8')
    print(f'  {added}', flush=True)
    return folder, added


# -- measuring ------------------------------------------------------------------------

def measure(args, server, key, targets, expected_status=200):
    """Warm up, then measure ``targets`` with wrk; add the server's peak RSS meanwhile."""
    print(f'  {key}: warm-up {args.warmup} s, then {args.duration} s at {args.users} connections',
          flush=True)
    loads.first_hits(server.base_url, targets)
    if args.warmup:
        loads.wrk(server.base_url, targets, args.warmup, args.users, args.wrk_threads, expected_status)
        # wrk left requests in flight: let the server's threads finish them before measuring.
        loads.drain(server.base_url, args.users)
    started = time.monotonic()
    figures = loads.wrk(server.base_url, targets, args.duration, args.users, args.wrk_threads,
                        expected_status)
    figures['peak_rss_mb'] = server.peak_between(started, time.monotonic())
    figures['rss_after_mb'] = server.memory()['rss_mb']
    loads.drain(server.base_url, args.users)
    print(f'    {figures["rps"]:,.1f} req/s, p50 {figures["p50_ms"]:.1f} ms, '
          f'p95 {figures["p95_ms"]:.1f} ms, p99 {figures["p99_ms"]:.1f} ms, '
          f'errors {figures["errors"]}, unexpected {figures["unexpected"]} {figures["first_unexpected"]}, '
          f'RSS {figures["rss_after_mb"]} MB', flush=True)
    return figures


def measure_probed(args, server, key, targets):
    """:func:`measure`, with the page requested one at a time before (cold) and after (warm)."""
    cold = loads.probe(server.base_url, targets[0], args.probes, cold=True)
    figures = measure(args, server, key, targets)
    figures.update(cold, **loads.probe(server.base_url, targets[0], args.probes, cold=False))
    print(f'    cold {figures["cold_ms"]:.1f} ms ({figures["cold_server_ms"]:.1f} in process), '
          f'{figures["cold_loads"]} objects loaded; warm {figures["warm_ms"]:.1f} ms '
          f'({figures["warm_server_ms"]:.1f}), {figures["warm_loads"]} objects', flush=True)
    return figures


def measure_hello(args, results, label):
    with Served('hello', free_port(), {}, ini=args.ini, log_path=log_file(args, 'hello'),
                env=args.env) as hello:
        hello.wait_ready()
        print(f'hello ({label})', flush=True)
        figures = measure(args, hello, 'hello', [('GET', '/', '', '')])
        figures.update(hello.memory())
        results['hello'].append(figures)


def run_large(args, results, folder, manifest):
    password = manifest['password']
    pool = manifest['customers'][:args.pool]
    payers = manifest['customers'][args.pool:args.pool + args.payers]
    http_port, bank_port = free_port(), free_port()
    with banks_for(args, http_port, bank_port) as banks, \
            portal_on(args, 'large', folder, bank_port, http_port) as portal:
        banks.wait_ready()
        portal.wait_ready()
        print(f'portal on {folder.name} at {portal.base_url}', flush=True)
        for key, label, _db in PAGES:
            if key in args.skip or 'pages' in args.skip:
                continue
            if key == 'signin':
                targets = loads.login_targets(portal.base_url, pool, password)
                figures = measure(args, portal, key, targets, expected_status=303)
            else:
                who = pool + [manifest['reference']] + manifest['large'][:1]
                targets = page_targets(key, manifest, sessions(portal, who, password))
                figures = (measure_probed if key in PROBED else measure)(args, portal, key, targets)
            results['pages'].append(dict(figures, key=key, label=label, database=folder.name))
        if any(case not in args.skip for case in signin_storm.CASES):
            results['signins'] = signin_storm.run_cases(portal, log_file(args, 'portal-large'),
                                                        REPO / args.work, manifest, args.skip)
        if 'payments' not in args.skip:
            since = datetime.datetime.now(datetime.timezone.utc)
            print(f'  payments: {len(payers)} customers × {args.tabs} tab(s) paying at once '
                  f'through the sandbox {args.bank}', flush=True)
            started = time.monotonic()
            burst = loads.payment_burst(portal.base_url, payers, password, args.bank,
                                        REPO / args.work, tabs=args.tabs, picks=args.picks)
            burst['peak_rss_mb'] = portal.peak_between(started, time.monotonic())
            burst['since'] = since.isoformat()
            results['payments'] = burst
            print(f'    outcomes {burst["outcomes"]} in {burst["seconds"] or 0:.1f} s, '
                  f'failures {burst["failures"]}', flush=True)
            time.sleep(3)   # let the sandbox's webhooks land before reading memory and the database
        time.sleep(2)
        results['memory_after_load'] = dict(portal.memory(), database=folder.name)
        print(f'  server memory after the load run: {results["memory_after_load"]}', flush=True)
    if 'payments' not in args.skip:
        results['payments']['database'] = checks.payment_outcome(
            folder, payers, datetime.datetime.fromisoformat(results['payments']['since']))


def run_crowded(args, results, folder, manifest):
    """The reference customer's pages in the crowded database, in a server process of its own."""
    keys = [key for key, _label, _base in CROWDED_PAGES if key not in args.skip]
    if not keys or 'pages' in args.skip:
        return
    with portal_on(args, 'crowded', folder, free_port()) as portal:
        portal.wait_ready()
        print(f'portal on {folder.name} at {portal.base_url}', flush=True)
        cookies = sessions(portal, [manifest['reference']], manifest['password'])
        for key, label, _base in CROWDED_PAGES:
            if key in keys:
                figures = measure_probed(args, portal, key, page_targets(key, manifest, cookies))
                results['pages'].append(dict(figures, key=key, label=label, database=folder.name))


def run_small(args, results, folder, manifest):
    with portal_on(args, 'small', folder, free_port()) as portal:
        portal.wait_ready()
        print(f'portal on {folder.name} at {portal.base_url}', flush=True)
        cookies = sessions(portal, [manifest['reference']], manifest['password'])
        figures = measure(args, portal, 'saldos-20', page_targets('saldos-20', manifest, cookies))
        results['pages'].append(dict(figures, key='saldos-20', label='SALDOS, 20 facturas abiertas',
                                     database=folder.name))


def machine():
    with open('/proc/loadavg', encoding='ascii') as handle:
        load = handle.read().split()[:3]
    return {'python': platform.python_version(), 'platform': platform.platform(),
            'cpus': len(__import__('os').sched_getaffinity(0)), 'load_average_at_start': load,
            'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds')}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    missing = loads.require_tools(args.skip)
    if any(case not in args.skip for case in signin_storm.CASES):
        missing += proxy.missing()
    if missing:
        print('missing tools:\n  ' + '\n  '.join(missing), file=sys.stderr)
        return 2
    args.ini = str(Path(args.ini).resolve())
    results = {'machine': machine(), 'settings': {k: v for k, v in vars(args).items()},
               'hello': [], 'pages': [], 'databases': {}}
    large_folder, large = build_database(args, f'large-{args.invoices}', args.invoices, large=True)
    results['databases']['large'] = dict(large['counts'], name=large_folder.name)
    if args.base_history:
        crowd.ensure_history(large_folder, large['reference'], args.base_history)
    if 'crowded' not in args.skip:
        crowded_folder, crowded = build_crowded(args, large_folder, large)
        results['databases']['crowded'] = dict(crowded, name=crowded_folder.name)
    if 'small' not in args.skip:
        small_folder, small = build_database(args, f'small-{args.small_invoices}', args.small_invoices,
                                             large=False)
        results['databases']['small'] = dict(small['counts'], name=small_folder.name)
    if 'hello' not in args.skip:
        measure_hello(args, results, 'first')
    run_large(args, results, large_folder, large)
    if 'crowded' not in args.skip:
        run_crowded(args, results, crowded_folder, large)
        if args.ab_rounds and 'pages' not in args.skip:
            print(f'the reference customer\'s pages, both databases served at once, '
                  f'{args.ab_rounds} rounds (benchmarks.ab)', flush=True)
            results['ab'] = ab.compare(args, large_folder.parent, large, args.ab_rounds)
            print('\n'.join(ab_table(results['ab'])), flush=True)
    if 'small' not in args.skip:
        run_small(args, results, small_folder, small)
    if 'hello' not in args.skip:
        measure_hello(args, results, 'last')
    results['targets'] = evaluate(results)
    out = REPO / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str), encoding='utf-8')
    print()
    print(markdown(results))
    print(f'\nresults: {out}')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
