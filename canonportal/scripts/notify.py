"""canonportal-notify INI [--dry-run] [--today YYYY-MM-DD]: mail the due-date reminders and
the monthly statements (canonportal.notify).

Meant for a daily timer (deploy/systemd/canonportal-notify.timer) or cron. Safe to run twice
or on two app servers at once: one lease in the database, and every mail recorded so it is
never sent again. With the embedded FileStorage held by the running portal (``make run``),
the portal does the work when asked (``POST /notificar``, loopback only, with the script's
token), as for canonportal-reconcile.
"""
import argparse
import sys

from pyramid_mailer.mailer import Mailer
from zc.lockfile import LockError

from .. import dates
from ..localonly import NOTIFY
from ..notify.run import notify
from .common import (
    add_ini_variables, ask_the_portal, ini_settings, open_database, parse_command_line,
    waitress_url,
)


def read_day(text):
    """The ``--today`` option: an ISO date of the portal's range."""
    try:
        return dates.parse(text, ('%Y-%m-%d',))
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a date YYYY-MM-DD from 2000 to 2100: {text!r}')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-notify', description=__doc__)
    parser.add_argument('config_uri')
    parser.add_argument('--dry-run', action='store_true',
                        help='say what would be sent; send and record nothing')
    parser.add_argument('--today', type=read_day, default=None,
                        help='the day to run for (default: today in Mexico City)')
    add_ini_variables(parser)
    args, options = parse_command_line(parser, argv)
    try:
        db, settings = open_database(args.config_uri, options=options)
    except LockError:
        data = {'today': args.today.isoformat() if args.today else '',
                'dry_run': '1' if args.dry_run else ''}
        return ask_the_portal(waitress_url(args.config_uri, options),
                              ini_settings(args.config_uri, options), 'notificar', NOTIFY, data)
    try:
        counts = notify(db, settings, Mailer.from_settings(settings), today=args.today,
                        dry_run=args.dry_run, progress=True)
    finally:
        db.close()
    return 1 if counts.get('lease held') or counts.get('lease lost') else 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
