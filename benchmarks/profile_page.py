"""python -m benchmarks.profile_page: where one page's time goes, in process.

Loads the portal of ``benchmarks/bench.ini`` on a database that ``benchmarks.run``
generated (``--db``, default ``var/bench/large-100000``; no server may hold it),
signs in the customers the benchmark's page cycles through (the reference customer
for SALDOS, the manifest's first ``--pool`` customers for FACTURAS), requests the
page ``--warm`` times, then ``--requests`` times under cProfile (WebTest: no
server, no network), and prints the time per request and the share of the parts
that matter (template rendering, the view, the identity), then cProfile's top.
"""
import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from importlib import import_module
from importlib.util import find_spec

import lxml.html
import plaster
from webtest import TestApp

from canonportal.views import balances

from .servers import INI, REPO

#: (label, file suffix, function name) of the parts whose cumulative share is reported.
PARTS = (
    ('Chameleon: rendering templates', 'pyramid_chameleon/zpt.py', '__call__'),
    ('the SALDOS view', 'canonportal/views/balances.py', 'balances_page'),
    ('the FACTURAS view', 'canonportal/views/invoices.py', 'invoices_page'),
    ('rows kept rendered (rows_html)', 'canonportal/views/balances.py', 'rows_html'),
    ('pages kept rendered (kept_page)', 'canonportal/views/kept.py', 'kept_page'),
    ('the identity (session cookie, person)', 'canonportal/security.py', 'identity'),
    ('pyramid_tm (transaction, commit)', 'pyramid_tm/__init__.py', 'tm_tween'),
)


#: The answer each page must give.
STATUS = {'saldos-20': 200, 'facturas': 200, 'floor': 302}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.profile_page', description=__doc__)
    parser.add_argument('--db', default='var/bench/large-100000', help='folder of a generated database')
    parser.add_argument('--page', choices=('saldos-20', 'facturas', 'floor'), default='saldos-20',
                        help="floor: the reference customer's address without a page, which only "
                             'redirects: what any signed-in page costs before its own work')
    parser.add_argument('--requests', type=int, default=1000)
    parser.add_argument('--warm', type=int, default=200, help='requests before profiling')
    parser.add_argument('--pool', type=int, default=50, help='customers FACTURAS cycles through')
    parser.add_argument('--top', type=int, default=25, help='lines of cProfile output')
    parser.add_argument('--sort', default='cumulative', help='cProfile order (cumulative, tottime)')
    parser.add_argument('--plain', action='store_true',
                        help='only time the requests, without the profiler (in process: no server)')
    return parser.parse_args(argv)


def portal(folder):
    loader = plaster.get_loader(str(INI), protocols=['wsgi'])
    return loader.get_wsgi_app('main', defaults={'db': str(folder), 'http_port': '6543',
                                                 'bank_port': '6544'})


def signed_in(app, rfc, password):
    client = TestApp(app, extra_environ={'HTTP_HOST': '127.0.0.1'})
    form = client.get('/')
    token = lxml.html.fromstring(form.text).xpath('//input[@name="csrf_token"]/@value')[0]
    answer = client.post('/login', {'login': rfc, 'password': password, 'csrf_token': token})
    assert answer.status_int == 303, answer.status
    return client


def targets(args, app, manifest):
    password = manifest['password']
    if args.page in ('saldos-20', 'floor'):
        rfc = manifest['reference']
        page = 'saldos' if args.page == 'saldos-20' else ''
        return [(signed_in(app, rfc, password), f'/customers/{rfc}/{page}')]
    pool = [rfc for rfc in manifest['customers'][:args.pool]]
    return [(signed_in(app, rfc, password), f'/customers/{rfc}/facturas') for rfc in pool]


def shares(stats, total):
    """``[(label, seconds, share)]`` of :data:`PARTS` found in ``stats``."""
    found = []
    for label, suffix, name in PARTS:
        seconds = sum(row[3] for (filename, _line, function), row in stats.stats.items()
                      if filename.endswith(suffix) and function == name)
        if seconds:
            found.append((label, seconds, seconds / total))
    return found


def kept_sizes():
    """What the process keeps rendered after the run: pages and rows, and their bytes."""
    pages = getattr(import_module('canonportal.views.kept'), 'PAGE_CACHE', None) \
        if find_spec('canonportal.views.kept') else None
    if not hasattr(balances.ROW_CACHE, 'values'):
        return 'kept: (not measured in this version)'
    rows = balances.ROW_CACHE.values()
    text = f'kept: {len(rows)} rows, {sum(len(row) for row in rows):,} characters'
    if pages is not None:
        shells = pages.values()
        text += f'; {len(shells)} pages, {sum(shell.size for shell in shells):,} bytes'
    return text


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    folder = (REPO / args.db).resolve()
    manifest = json.loads((folder / 'manifest.json').read_text(encoding='utf-8'))
    app = portal(folder)
    clients = targets(args, app, manifest)
    for number in range(args.warm):
        client, path = clients[number % len(clients)]
        client.get(path, status=STATUS[args.page])
    if args.plain:
        started = time.perf_counter()
        for number in range(args.requests):
            client, path = clients[number % len(clients)]
            client.get(path, status=STATUS[args.page])
        seconds = time.perf_counter() - started
        print(f'{args.page}: {args.requests} requests, {seconds / args.requests * 1000:.2f} ms each '
              f'(WebTest in process, no profiler)')
        close(app)
        return 0
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for number in range(args.requests):
        client, path = clients[number % len(clients)]
        client.get(path, status=STATUS[args.page])
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f'{args.page}: {args.requests} requests, {wall / args.requests * 1000:.2f} ms each '
          f'under the profiler ({total / args.requests * 1000:.2f} ms profiled)')
    for label, seconds, share in shares(stats, total):
        print(f'  {share:6.1%}  {seconds / args.requests * 1000:6.2f} ms  {label}')
    print(kept_sizes())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    close(app)
    return 0


def close(app):
    """Close the databases, so FileStorage saves its index."""
    for db in getattr(app.registry, '_zodb_databases', {}).values():
        db.close()


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
