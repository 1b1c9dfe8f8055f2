"""canonportal-export INI [--kind payments|fiscal] [--since D] [--until D]
[--all | --new-only | --missing-complements] [-o FILE]

Export payments (the default kind) or the companies' fiscal data to the ERP as CSV
(see canonportal.erp.exports and canonportal.erp.fiscal for the columns).
Without dates: the approved payments not exported yet. With --since/--until
(Mexico City days, inclusive): approved and applied payments paid in that
range, already exported ones included (--new-only leaves them out). --all adds
the approved payments already exported. --missing-complements: the received payments
still without their payment complement (REP), exported before or not (the last columns
say which REP documents each row, or that it is missing). Each export is recorded in the
database and the payments are marked as exported. The CSV goes to FILE or
standard output; a summary goes to standard error.

--kind fiscal: the fiscal data (razón social, régimen, código postal, uso de CFDI)
the companies changed since the last fiscal export, every company's with --all,
so the ERP stamps the next CFDI right; the companies are marked as exported.
"""
import argparse
import os
import sys

from zc.lockfile import LockError

from .. import clock
from ..complements import deadline_day, missing_complements
from ..erp.exports import export_payments, exportable_payments
from ..erp.fiscal import export_fiscal
from .. import dates
from .common import open_database, run_in_transaction

ACTOR = 'console:canonportal-export'


def _day(text):
    try:
        return dates.parse(text, ('%Y-%m-%d',))
    except dates.DateOutOfRange:
        raise argparse.ArgumentTypeError(
            f'{text!r} is outside {dates.EARLIEST} … {dates.LATEST}') from None
    except dates.BadDate:
        raise argparse.ArgumentTypeError(f'not a date YYYY-MM-DD: {text!r}') from None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='canonportal-export', description=__doc__.split('\n\n')[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', help='the ini file, e.g. development.ini')
    parser.add_argument('--kind', choices=('payments', 'fiscal'), default='payments',
                        help='what to export (default: payments)')
    parser.add_argument('--since', type=_day, help='first day (Mexico City), YYYY-MM-DD')
    parser.add_argument('--until', type=_day, help='last day (Mexico City), YYYY-MM-DD')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--all', action='store_true',
                       help='include payments already exported (a re-export on purpose)')
    which.add_argument('--new-only', action='store_true',
                       help='with a date range: leave out payments already exported')
    which.add_argument('--missing-complements', action='store_true',
                       help='the received payments still without their payment complement '
                            '(REP), exported before or not (column complemento_pendiente)')
    parser.add_argument('-o', '--output', metavar='FILE', help='write the CSV here (default: stdout)')
    args = parser.parse_args(argv)
    if args.since and args.until and args.since > args.until:
        parser.error('--since is after --until')
    if args.kind == 'fiscal' and (args.since or args.until or args.new_only
                                  or args.missing_complements):
        parser.error('--kind fiscal takes no dates: it exports the changes not exported yet '
                     '(--all: every company\'s fiscal data)')
    return args


def main(argv=None, stdout=None, stderr=None):
    args = parse_args(argv)
    stderr = stderr or sys.stderr
    ranged = args.since is not None or args.until is not None
    include = True if args.all else (False if args.new_only else None)
    # Open the output first, so a bad path fails before any payment is marked; in
    # append mode, so an existing file is replaced only when there is something to write.
    existed = bool(args.output) and os.path.exists(args.output)
    output = open(args.output, 'ab') if args.output else None  # noqa: SIM115
    written = False
    try:
        try:
            db, settings = open_database(args.config_uri)
        except LockError:
            print('the database is in use by the running portal: download the export from '
                  'the management pages (/manage) instead', file=stderr)
            return 1
        try:
            day = deadline_day(settings)
            result = run_in_transaction(db, lambda root: _export(root, args, include, ranged,
                                                                 day))
        finally:
            db.close()
        if result is None:
            print('no fiscal changes to export' if args.kind == 'fiscal'
                  else 'no payments to export', file=stderr)
            return 0
        name, filename, data, payments, rows, total, reexported = result
        if output is not None:
            output.truncate(0)
        target = output or stdout or sys.stdout.buffer
        target.write(data)
        target.flush()
        written = True
        what = (f'{payments} companies' if args.kind == 'fiscal'
                else f'{payments} payments, {rows} rows, {total} MXN')
        print(f'export {name}: {what}'
              + (f', {len(reexported)} exported before' if reexported else '')
              + (f' -> {args.output}' if args.output else f' ({filename})'), file=stderr)
        return 0
    finally:
        if output is not None:
            output.close()
            if not written and not existed:
                os.remove(args.output)


def _export(root, args, include, ranged, day):
    """Select and export in one transaction (a retry selects again)."""
    if args.kind == 'fiscal':
        record = export_fiscal(root, ACTOR, clock.utcnow(), pending_only=not args.all)
        return None if record is None else (
            record.__name__, record.filename, record.csv_bytes(), record.payment_count,
            record.row_count, None, ())
    if args.missing_complements:
        payments = [row.payment for row in missing_complements(root, clock.mexico_today(), day)
                    if _in_range(row.paid_on, args)]
        include = True
    else:
        payments = exportable_payments(root, args.since, args.until, include)
    record = export_payments(root, payments, ACTOR, clock.utcnow(), since=args.since,
                             until=args.until,
                             include_exported=ranged if include is None else include,
                             deadline_day=day)
    if record is None:
        return None
    return (record.__name__, record.filename, record.csv_bytes(), record.payment_count,
            record.row_count, record.total_mxn, record.reexported)


def _in_range(day, args):
    return (args.since is None or day >= args.since) and (args.until is None or day <= args.until)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
