"""canonportal-import INI FILE… [--kind K] [--dry-run]: import files exported by the ERP,
or the bank's statements of SPEI transfers received (--kind estado-bancario).

Customers, invoices (CSV and CFDI 4.0 XML, with their PDFs), balances,
statements (CSV with PDFs) and exchange rates; the formats are in
docs/erp-files.md. Every file is checked completely first: one bad row and
nothing is written; the errors are listed with file and line, and the exit
status is 1. Otherwise the changes are committed in batches of a few
thousand rows, with a progress bar on stderr, and a summary is printed.
--dry-run checks and counts without writing anything.
"""
import argparse
import os
import sys
import time

import transaction
from pyramid_mailer.mailer import Mailer
from zc.lockfile import LockError

from .. import mail
from ..erp.imports import KINDS, run_import
from ..banking import configured_gateways
from ..payments import receipts
from ..payments.applied import send_applied
from ..payments import transfers as spei_payments
from ..resources import get_root_from_connection
from .common import open_database

ACTOR = 'console:canonportal-import'
STATEMENT_KIND = 'estado-bancario'

LOCKED = (
    'La base de datos está abierta por el portal en ejecución (make run / pserve): un '
    'FileStorage solo admite un proceso a la vez.\n'
    'Detenga el servidor y vuelva a ejecutar canonportal-import, o suba los archivos en la '
    'página de importaciones del personal (/manage). Con ZEO o RelStorage (zodbconn.uri '
    'zeo:// o postgres://) ambos pueden trabajar a la vez.')


class ProgressBar:
    """A bar redrawn in place on a terminal; whole tens of percent otherwise."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.tty = hasattr(stream, 'isatty') and stream.isatty()
        self.shown = -1
        self.started = time.monotonic()

    def __call__(self, done, total):
        percent = min(100, int(done * 100 / total)) if total else 100
        if self.tty:
            if percent != self.shown:
                filled = self.WIDTH * percent // 100
                elapsed = int(time.monotonic() - self.started)
                self.stream.write(f'\r[{"#" * filled}{"." * (self.WIDTH - filled)}] '
                                  f'{percent:3d}%  {elapsed // 60:d}:{elapsed % 60:02d}')
                self.stream.flush()
                self.shown = percent
        elif percent // 10 > self.shown // 10 or (percent == 100 and self.shown < 100):
            self.stream.write(f'{percent}%\n')
            self.stream.flush()
            self.shown = percent

    def close(self):
        if self.tty and self.shown >= 0:
            self.stream.write('\n')
            self.stream.flush()


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = argparse.ArgumentParser(prog='canonportal-import', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', metavar='INI')
    parser.add_argument('files', nargs='+', metavar='FILE',
                        help='CSV, XML and PDF files (PDFs go with their CSV or XML)')
    parser.add_argument('--kind', choices=KINDS + (STATEMENT_KIND,),
                        help='what the files are (default: from the CSV header; .xml = invoices); '
                             f'{STATEMENT_KIND}: bank statements (camt.053, MT940 or CSV) of SPEI '
                             'transfers received')
    parser.add_argument('--dry-run', action='store_true',
                        help='check the files and count the changes without writing anything')
    args = parser.parse_args(argv)
    missing = [path for path in args.files if not os.path.isfile(path)]
    if missing:
        parser.error('no such file: ' + ', '.join(missing))

    try:
        db, settings = open_database(args.config_uri)
    except LockError:
        print(LOCKED, file=stderr)
        return 2
    if args.kind == STATEMENT_KIND:
        return import_bank_statements(db, settings, args.files, args.dry_run, stdout, stderr)
    manager = transaction.TransactionManager(explicit=True)
    connection = db.open(transaction_manager=manager)
    handles = [open(path, 'rb') for path in args.files]
    committed = [0]
    bar = ProgressBar(stderr)

    def batch_done():
        manager.commit()
        committed[0] += 1
        connection.cacheMinimize()
        manager.begin()

    try:
        manager.begin()
        root = get_root_from_connection(connection)
        if root is None:
            manager.abort()
            print('La base de datos está vacía: ejecute primero canonportal-init.', file=stderr)
            return 2
        files = [(os.path.basename(path), handle, True) for path, handle in zip(args.files, handles)]
        try:
            report = run_import(root, files, ACTOR, kind=args.kind,
                                batch_done=None if args.dry_run else batch_done,
                                progress=bar, dry_run=args.dry_run, settings=settings)
            bar.close()
            if report.ok and not args.dry_run:
                # The payers of the payments it applied: one mail each, with the last commit.
                bound = Mailer.from_settings(settings).bind(transaction_manager=manager)
                send_applied(root, report.applied,
                             lambda *parts: mail.deliver(bound, settings, *parts),
                             settings.get('canonportal.company_name', 'Canon Mexicana'),
                             settings.get('canonportal.public_url', ''))
                manager.commit()
            else:
                manager.abort()
            text = report.text()
        except Exception:
            bar.close()
            manager.abort()
            if committed[0]:
                print(f'La importación se interrumpió después de guardar {committed[0]} lotes. '
                      'Vuelva a ejecutarla con los mismos archivos: lo ya importado quedará '
                      'sin cambios.', file=stderr)
            raise
    finally:
        for handle in handles:
            handle.close()
        connection.close()
        db.close()

    print(text, file=stdout)
    if report.seconds and report.rows:
        print(f'{report.rows} filas en {report.seconds:.1f} s '
              f'({report.rows / max(report.seconds, 0.001):,.0f} filas/s)', file=stdout)
    return 0 if report.ok else 1


def import_bank_statements(db, settings, paths, dry_run, stdout, stderr):
    """Each statement in its own transaction, all or nothing; receipts mailed on commit and
    the CEPs of the matched transfers asked for afterwards."""
    gateway = configured_gateways(settings).get(spei_payments.SPEI)
    if gateway is None:
        print('SPEI no está configurado: agregue spei a canonportal.banks y sus ajustes spei.*',
              file=stderr)
        return 2
    manager = transaction.TransactionManager(explicit=True)
    bound = Mailer.from_settings(settings).bind(transaction_manager=manager)
    company = settings.get('canonportal.company_name', 'Canon Mexicana')
    public_url = settings.get('canonportal.public_url', '')
    connection = db.open(transaction_manager=manager)
    send = (lambda payment: receipts.send_receipt(
        payment, lambda *parts: mail.deliver(bound, settings, *parts), company, public_url,
        lambda message: message.interpolate()))
    status = 0
    try:
        for path in paths:
            with open(path, 'rb') as handle:
                data = handle.read(spei_payments.MAX_STATEMENT_BYTES + 1)
            report = spei_payments.take_statement(
                manager, lambda: get_root_from_connection(connection), gateway, data, ACTOR,
                send, dry_run=dry_run, reopen=False)
            print(f'{os.path.basename(path)}: {report.text()}', file=stdout)
            status = status or (0 if report.ok else 1)
    finally:
        connection.close()
        db.close()
    return status


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
