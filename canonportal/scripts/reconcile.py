"""canonportal-reconcile INI: settle payments whose bank notification never came.

Meant for cron (e.g. every 5 minutes). For each payment pending longer than
``canonportal.reconcile_after_minutes`` it asks the bank (Citibanamex: retrieve
the order); a bank without a query API (BBVA) lets the payment expire after
``canonportal.payment_expire_minutes``, releasing its invoices. Receipts of
payments found approved are mailed, once, when the transaction commits.
"""
import argparse
import sys

import httpx
from pyramid_mailer.mailer import Mailer
from zc.lockfile import LockError

from ..banking import configured_gateways
from ..payments.reconciliation import TOKEN_HEADER, reconcile, reconcile_token
from .common import open_database


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-reconcile', description=__doc__)
    parser.add_argument('config_uri')
    parser.add_argument('vars', nargs='*', metavar='NAME=VALUE',
                        help='ini variables, as for pserve (e.g. http_port=8080)')
    args = parser.parse_args(argv)
    options = dict(item.split('=', 1) for item in args.vars if '=' in item)
    try:
        db, settings = open_database(args.config_uri, options=options)
    except LockError:
        return ask_the_server(args.config_uri, options)
    try:
        counts = reconcile(db, settings, configured_gateways(settings),
                           Mailer.from_settings(settings))
    finally:
        db.close()
    summary = ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) or 'nothing pending'
    print(f'reconciled: {summary}')
    return 0


def ask_the_server(config_uri, options=None):
    """The embedded FileStorage is held by the running server: let it reconcile."""
    from pyramid.paster import get_appsettings
    from .common import SCRIPT_DEFAULTS, public_host_headers, waitress_url
    settings = get_appsettings(config_uri, name='main', options=dict(SCRIPT_DEFAULTS, **(options or {})))
    # Straight to waitress: the proxy in front does not pass /reconciliar on.
    url = waitress_url(config_uri, options) + '/reconciliar'
    print(f'the database is in use by the running portal; asking it: {url}')
    try:
        response = httpx.post(url, headers={TOKEN_HEADER: reconcile_token(settings),
                                            **public_host_headers(settings)}, timeout=120)
    except httpx.HTTPError as error:
        print(f'could not reach the portal: {error}', file=sys.stderr)
        return 1
    print(response.text.strip())
    return 0 if response.status_code == 200 else 1


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
