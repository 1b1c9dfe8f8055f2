"""canonportal-reconcile INI: settle payments whose bank notification never came.

Meant for cron (e.g. every 5 minutes). For each payment pending longer than
``canonportal.reconcile_after_minutes`` it asks the bank (Citibanamex: retrieve
the order); a bank without a query API (BBVA) lets the payment expire after
``canonportal.payment_expire_minutes``, releasing its invoices. Receipts of
payments found approved are mailed, once, when the transaction commits.
"""
import argparse
import sys

from pyramid_mailer.mailer import Mailer
from zc.lockfile import LockError

from ..banking import configured_gateways
from ..localonly import RECONCILE
from ..payments.reconciliation import reconcile
from .common import (
    add_ini_variables, ask_the_portal, ini_settings, open_database, parse_command_line,
    waitress_url,
)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-reconcile', description=__doc__)
    parser.add_argument('config_uri')
    add_ini_variables(parser)
    args, options = parse_command_line(parser, argv)
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
    """The embedded FileStorage is held by the running server: let it reconcile (straight
    to waitress: the proxy in front does not pass /reconciliar on)."""
    return ask_the_portal(waitress_url(config_uri, options), ini_settings(config_uri, options),
                          'reconciliar', RECONCILE)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
