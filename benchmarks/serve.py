"""python -m benchmarks.serve INI [name=value ...] [--app NAME]: serve one app of INI.

The app section ``NAME`` (main: the portal, hello: the bare Pyramid view,
banks: the sandbox banks) is served by the server of INI's ``[server:main]``
(waitress, same threads and settings for all three), as ``pserve`` would,
from the repository root so that ``call:benchmarks....`` resolves.

The portal is built with one addition, here only (never by bench.ini nor production.ini):
``benchmarks.probe``, whose tween says in the headers of an answer to a probed request
(``X-Bench-Probe: 1``) how many persistent objects it loaded and how long it took in the
process, and empties the ZODB caches first when asked (``X-Bench-Cold: 1``); wrk's
requests do not ask and pass through it.
"""
import argparse
import logging
import os
import signal
import sys

import plaster
from pyramid.paster import setup_logging

import canonportal
from canonportal.sandbox.mount import Mount, sandboxes


def _not_found(environ, start_response):
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'not a sandbox bank page']


def sandbox_banks(global_conf, **conf):
    """paste.app_factory: both sandbox banks on their own server (``[app:banks]``).

    Served apart from the portal so that the portal's calls to the bank never
    wait for one of the portal's own waitress threads, as with a real bank.
    """
    return Mount(_not_found, sandboxes(conf))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.serve', description=__doc__)
    parser.add_argument('config_uri')
    parser.add_argument('options', nargs='*', metavar='name=value')
    parser.add_argument('--app', default='main', help='the app section to serve (default main)')
    args = parser.parse_intermixed_args(argv)
    options = dict(option.split('=', 1) for option in args.options)
    setup_logging(args.config_uri)
    # Every conflict in the log, even one retried away: the sign-in cases count them; and
    # every sign-in the gate refused, with why.
    for name in ('canonportal.payments.transactions', 'canonportal.views.errors',
                 'canonportal.passwords'):
        logging.getLogger(name).setLevel(logging.INFO)
    loader = plaster.get_loader(args.config_uri, protocols=['wsgi'])
    app = probed_portal(loader, options) if args.app == 'main' else \
        loader.get_wsgi_app(args.app, defaults=options)
    server = loader.get_wsgi_server('main', defaults=options)
    signal.signal(signal.SIGTERM, lambda *_: _close_and_exit(app))
    print(f'serving [app:{args.app}] of {args.config_uri}', file=sys.stderr, flush=True)
    server(app)
    return 0


def probed_portal(loader, options):
    """The portal as ``[app:main]`` (``use = egg:canonportal``) makes it, with
    ``benchmarks.probe`` added to its ``pyramid.includes``."""
    settings = dict(loader.get_settings('app:main', defaults=options))
    settings['pyramid.includes'] = f'{settings.get("pyramid.includes", "")}\nbenchmarks.probe'.strip()
    global_conf = getattr(loader.get_settings('app:main', defaults=options), 'global_conf', {})
    return canonportal.main(global_conf, **settings)


def _close_and_exit(app):
    """SIGTERM (the runner is done): close the databases, so FileStorage saves its index."""
    registry = getattr(app, 'registry', None)
    for db in getattr(registry, '_zodb_databases', {}).values():
        try:
            db.close()
        except Exception as error:  # noqa: BLE001 - exiting anyway
            print(f'closing the database: {error}', file=sys.stderr)
    os._exit(0)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
