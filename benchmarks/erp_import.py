"""python -m benchmarks.erp_import: time the ERP import of 1,000,000 invoices (CSV).

1. Builds a database holding only customers (``canonportal-generate`` with no
   invoices) and writes an invoices CSV for them in the ERP's format
   (docs/erp-files.md): ``--invoices`` rows, a quarter of them USD with their
   rate, some partly paid, each with its CFDI UUID.
2. Runs ``canonportal-import INI FILE`` (validation of every row first, then the
   writing in batches) as its own process, and reports its wall-clock time, its CPU
   time and peak memory (the kernel's figures for the finished child) and the load
   average before and after (other work on the machine inflates the wall-clock time).
3. Runs it again: a re-import of the same file must change nothing, and shows
   what the validation alone costs.

Prints one JSON object, and adds it to ``--out`` under ``"erp_import"``.
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .servers import INI, REPO

BIN = Path(sys.executable).parent


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.erp_import', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--invoices', type=int, default=1_000_000)
    parser.add_argument('--per-customer', type=int, default=20)
    parser.add_argument('--work', default='var/bench/import', help='database and CSV go here')
    parser.add_argument('--out', default=None, help='JSON results file to add the figures to')
    parser.add_argument('--seed', type=int, default=2026)
    parser.add_argument('--no-reimport', action='store_true',
                        help='leave out step 3 (importing the same file again)')
    return parser.parse_args(argv)


def write_invoices_csv(path, rfcs, per_customer, total, seed):
    """``total`` invoice rows for ``rfcs`` (the generator's customers, in its order)."""
    rng = random.Random(seed)
    with open(path, 'w', newline='', encoding='utf-8') as out:
        writer = csv.writer(out)
        writer.writerow(['RFC', 'Cuenta', 'Serie', 'Folio', 'UUID', 'Fecha de emisión',
                         'Fecha de vencimiento', 'Moneda', 'Tipo de cambio', 'Total', 'Saldo',
                         'Método de pago'])
        number = 0
        for index, rfc in enumerate(rfcs):
            account = f'{100000 + index:06d}'   # the generator's first account of customer index
            for _ in range(per_customer):
                if number == total:
                    return number
                number += 1
                month = 1 + number % 12
                usd = number % 4 == 0
                amount = rng.randint(10_000, 5_000_000) / 100
                balance = amount if number % 3 else round(amount / 2, 2)
                writer.writerow([
                    rfc, account, 'B', str(number), str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
                    f'2026-{month:02d}-01', f'2026-{month:02d}-28', 'USD' if usd else 'MXN',
                    '18.2500' if usd else '', f'{amount:.2f}', f'{balance:.2f}', 'PPD'])
    return number


def import_ini(work, db):
    """bench.ini with the database's folder filled in (canonportal-import takes no name=value)."""
    text = INI.read_text(encoding='utf-8').replace(
        '[DEFAULT]\n', f'[DEFAULT]\ndb = {db}\nhttp_port = 0\nbank_port = 0\nlisten_port = 0\n', 1)
    path = work / 'import.ini'
    path.write_text(text, encoding='utf-8')
    return path


def timed_import(ini, csv_path):
    """``(seconds, peak RSS MB, last output lines, CPU seconds)`` of one canonportal-import run.

    The CPU time (user + system of the child) tells what the import itself cost when other
    work shares the machine, which the wall-clock time alone does not."""
    command = [str(BIN / 'canonportal-import'), str(ini), str(csv_path)]
    start = time.perf_counter()
    with tempfile.TemporaryFile('w+') as output:
        child = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT,
                                 text=True)
        # wait4 gives this child's own peak RSS (not the maximum over all children).
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if child.returncode != 0:
        raise SystemExit(f'canonportal-import failed:\n{text[-3000:]}')
    lines = [line for line in text.splitlines() if line.strip() and '\r' not in line]
    return seconds, usage.ru_maxrss / 1024, lines[-3:], usage.ru_utime + usage.ru_stime


def main(argv=None):
    args = parse_args(argv)
    work = (REPO / args.work).resolve()
    db = work / 'db'
    if db.exists():
        raise SystemExit(f'{db} exists: remove it (each run starts from an empty database)')
    db.mkdir(parents=True)
    customers = -(-args.invoices // args.per_customer)
    options = [f'db={db}', 'http_port=0', 'bank_port=0']
    manifest = work / 'manifest.json'
    subprocess.run([str(BIN / 'canonportal-generate'), str(INI), *options,
                    '--customers', str(customers), '--invoices-per-customer', '0',
                    '--reference-invoices', '0', '--statements', '0',
                    '--payments-per-customer', '0', '--manifest', str(manifest),
                    '--manifest-customers', str(customers)],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    rfcs = json.loads(manifest.read_text())['customers']
    csv_path = work / 'facturas.csv'
    rows = write_invoices_csv(csv_path, rfcs, args.per_customer, args.invoices, args.seed)

    ini = import_ini(work, db)
    load_before = os.getloadavg()
    seconds, peak_mb, tail, cpu = timed_import(ini, csv_path)
    result = {
        'rows': rows, 'customers': len(rfcs), 'csv_mb': round(csv_path.stat().st_size / 2**20, 1),
        'seconds': round(seconds, 1), 'cpu_seconds': round(cpu, 1),
        'rows_per_second': round(rows / seconds), 'peak_rss_mb': round(peak_mb),
        'load_before': [round(value, 2) for value in load_before],
        'load_after': [round(value, 2) for value in os.getloadavg()], 'output': tail,
    }
    if not args.no_reimport:
        again_seconds, again_peak_mb, again_tail, again_cpu = timed_import(ini, csv_path)
        result.update(reimport_seconds=round(again_seconds, 1),
                      reimport_cpu_seconds=round(again_cpu, 1), reimport_output=again_tail,
                      peak_rss_mb_any_run=round(max(peak_mb, again_peak_mb)))
    print(json.dumps(result, indent=1))
    if args.out:
        out = Path(args.out)
        data = json.loads(out.read_text()) if out.exists() else {}
        data['erp_import'] = result
        out.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
