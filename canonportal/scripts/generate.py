"""canonportal-generate INI [name=value ...] --customers N --invoices-per-customer M:
fill a database with synthetic data for benchmarks and load tests.

What it writes, all through the resources API (so the root's indexes stay right):

* ``N`` regular customers, each with ``M`` invoices (MXN and USD; open, overdue,
  partly paid and paid), applied portal payments for some of the paid ones
  (HISTORIAL DE PAGOS has rows) and a few monthly statements without PDF (the
  portal renders them);
* one *reference* customer (:data:`REFERENCE_RFC`) with exactly
  ``--reference-invoices`` (20) open invoices. Its invoices come from their own
  random stream, so it is the same customer in a database of any size: the
  "page times flat in database size" benchmark compares it across databases;
* ``--large K`` very large customers with ``--large-invoices L`` open invoices each;
* the FIX exchange rate for every day of the last ``--rate-days`` days.

Every customer is active, has a confirmed email and the password
:data:`PASSWORD`, hashed once (argon2 is slow on purpose) and the same hash
stored on each. RFCs are valid persona-moral RFCs with the SAT check digit.

Keys grow monotonically (RFCs, folios ``GEN-00000001``, CFDI UUIDs), so the
BTree inserts of one run land at the right end of each tree and a commit
rewrites few buckets. A second run appends after the first. Objects are
committed every ``--batch`` invoices and the connection's cache is emptied
after each commit, so memory stays flat however large the run.

``--manifest FILE`` writes what the load tests need (password, RFCs, statement
ids) as JSON. The last line printed is a JSON summary (counts, seconds,
invoices per second, peak RSS).
"""
import argparse
import datetime
import json
import random
import resource
import sys
import time
import uuid
from decimal import Decimal

import transaction
from stdnum.mx import rfc as stdnum_rfc

from .. import clock, passwords
from ..bootstrap import ensure_root, mexico_time
from ..resources import ACTIVE, Allocation, Customer, Invoice, Payment, Statement
from ..resources.payment import APPLIED, APPROVED
from .common import add_ini_variables, open_database, parse_command_line

#: The password of every generated customer (they sign in with RFC + this).
PASSWORD = 'carga de prueba del portal 2026'
SERIE = 'GEN'
BANKS = ('banamex', 'bbva')

_BASE_DAY = datetime.date(2000, 1, 1)
_DAYS = (datetime.date(2024, 12, 31) - _BASE_DAY).days + 1   # RFC dates 000101..241231
_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
_HOMOCLAVE = 'GN'   # first char [1-9A-V], second [1-9A-Z]: what SAT's rules allow

_NAME_WORDS = ('Comercializadora', 'Distribuidora', 'Papelería', 'Soluciones', 'Grupo',
               'Servicios', 'Impresiones', 'Oficinas', 'Tecnología', 'Suministros')
_PLACES = ('del Bajío', 'del Norte', 'de Occidente', 'Peninsular', 'del Pacífico', 'Central',
           'del Golfo', 'Metropolitana', 'de la Sierra', 'del Sureste')


def company_rfc(letters_index, day_index, homoclave=_HOMOCLAVE):
    """A valid 12-character RFC (persona moral), increasing with its arguments.

    Three letters from ``letters_index`` (base 26), the date ``day_index`` days
    after 2000-01-01 (YYMMDD), the homoclave and SAT's check digit.
    """
    if not 0 <= day_index < _DAYS:
        raise ValueError('day_index out of range')
    a, rest = divmod(letters_index, 26 * 26)
    b, c = divmod(rest, 26)
    letters = _LETTERS[a] + _LETTERS[b] + _LETTERS[c]
    day = _BASE_DAY + datetime.timedelta(days=day_index)
    body = f'{letters}{day:%y%m%d}{homoclave}'
    return body + stdnum_rfc.calc_check_digit(body)


def regular_rfc(index):
    """The RFC of the ``index``-th generated regular customer (AAA000101GN…, AAA000102GN…)."""
    letters, day = divmod(index, _DAYS)
    return company_rfc(letters, day)


#: The customer with exactly ``--reference-invoices`` open invoices.
REFERENCE_RFC = company_rfc(_LETTERS.index('R') * 676 + _LETTERS.index('E') * 26 + _LETTERS.index('F'), 0)


def large_rfc(index):
    """The RFC of the ``index``-th very large customer (GRA000101GN…, GRA000102GN…)."""
    return company_rfc(_LETTERS.index('G') * 676 + _LETTERS.index('R') * 26 + _LETTERS.index('A'), index)


def cents(value):
    """An integer number of cents as a two-decimal Decimal."""
    return Decimal(value).scaleb(-2)


class Generator:
    """Writes the objects, committing every ``--batch`` objects."""

    def __init__(self, connection, manager, args, out=sys.stdout):
        self.connection = connection
        self.manager = manager
        self.args = args
        self.out = out
        self.today = args.today or clock.mexico_today()
        self.rng = random.Random(args.seed)
        self.run_id = self.rng.getrandbits(32)
        self.pending = 0              # objects written since the last commit
        self.counts = dict(customers=0, invoices=0, payments=0, statements=0, rates=0, commits=0)
        self.started = time.monotonic()
        self.last_report = self.started
        self.password_hash = passwords.hash_password(PASSWORD)
        self.rate = Decimal('18.8869')
        self.statement_ids = self._statement_ids()

    # -- the run ---------------------------------------------------------------

    def run(self):
        root = self.root
        self.next_folio = self._first_free_folio(root)
        self._add_rates(root)
        manifest = {'password': PASSWORD, 'today': self.today.isoformat(),
                    'reference': None, 'large': [], 'customers': [],
                    'statements': self.statement_ids}
        reference_rng = random.Random(f'reference-{self.args.seed}')
        if self.args.reference_invoices:
            manifest['reference'] = REFERENCE_RFC
            self._special_customer(REFERENCE_RFC, 'Cliente de Referencia SA de CV', '900000',
                                   self.args.reference_invoices, reference_rng)
        for k in range(self.args.large):
            rfc = large_rfc(k)
            manifest['large'].append(rfc)
            self._special_customer(rfc, f'Gran Distribuidor {k + 1} SA de CV', f'{900001 + k:06d}',
                                   self.args.large_invoices, random.Random(f'large-{k}-{self.args.seed}'))
        first = self._first_free_customer(self.root)
        for index in range(first, first + self.args.customers):
            rfc = self._regular_customer(index)
            if len(manifest['customers']) < self.args.manifest_customers:
                manifest['customers'].append(rfc)
        self.commit()
        return manifest

    @property
    def root(self):
        return ensure_root(self.connection.root())

    def commit(self):
        self.manager.commit()
        self.connection.cacheMinimize()
        self.counts['commits'] += 1
        self.pending = 0
        now = time.monotonic()
        if now - self.last_report >= self.args.progress:
            self.last_report = now
            elapsed = now - self.started
            print(f'{self.counts["invoices"]:,} invoices, {self.counts["customers"]:,} customers '
                  f'in {elapsed:.0f} s ({self.counts["invoices"] / elapsed:,.0f} invoices/s), '
                  f'peak RSS {peak_rss_mb():.0f} MB', file=self.out, flush=True)
        self.manager.begin()

    def wrote(self, count=1):
        self.pending += count
        if self.pending >= self.args.batch:
            self.commit()

    # -- numbering (a second run appends) -------------------------------------

    def _first_free_folio(self, root):
        try:
            last = root.invoices_by_key.maxKey(f'{SERIE}-9')
        except ValueError:
            return 1
        return int(last[len(SERIE) + 1:]) + 1 if last.startswith(f'{SERIE}-') else 1

    def _first_free_customer(self, root):
        """The first index whose RFC is free: generated RFCs are taken in order."""
        customers = root.customers
        if regular_rfc(0) not in customers:
            return 0
        low, high = 0, 1
        while regular_rfc(high) in customers:
            low, high = high, high * 2
        while high - low > 1:   # regular_rfc(low) is taken, regular_rfc(high) is free
            middle = (low + high) // 2
            if regular_rfc(middle) in customers:
                low = middle
            else:
                high = middle
        return high

    def _statement_ids(self):
        """Monthly statement ids (YYMM01) of the last ``--statements`` months, newest first."""
        ids, day = [], self.today.replace(day=1)
        for _ in range(self.args.statements):
            ids.append(f'{day:%y%m}01')
            day = (day - datetime.timedelta(days=1)).replace(day=1)
        return ids

    # -- objects ---------------------------------------------------------------

    def _add_rates(self, root):
        rng = random.Random(f'rates-{self.args.seed}')
        rate = 18.0
        for back in range(self.args.rate_days - 1, -1, -1):
            rate = min(max(rate + rng.uniform(-0.08, 0.08), 16.5), 21.0)
            root.rates.set(self.today - datetime.timedelta(days=back), Decimal(f'{rate:.4f}'))
        self.rate = root.rates.latest_on_or_before(self.today)[1]
        self.counts['rates'] = self.args.rate_days

    def _customer(self, rfc, name, accounts):
        customers = self.root.customers
        if rfc in customers:
            return None
        customer = customers.add_customer(Customer(rfc, name, accounts=accounts,
                                                   email=f'{rfc.lower()}@clientes.example.com'))
        customer.password_hash = self.password_hash
        customer.state = ACTIVE
        customer.set_email(f'{rfc.lower()}@clientes.example.com')
        self.counts['customers'] += 1
        for statement_id in self.statement_ids:
            issued = mexico_time(2000 + int(statement_id[:2]), int(statement_id[2:4]), 1, 13, 0, 0)
            customer.add_statement(Statement(statement_id, accounts[0], issued))
            self.counts['statements'] += 1
        self.wrote(1 + len(self.statement_ids))
        return customer

    def _special_customer(self, rfc, name, account, count, rng):
        """A customer whose invoices are all unpaid (open or overdue)."""
        customer = self._customer(rfc, name, (account,))
        if customer is None:
            print(f'{rfc} already exists: left as it is', file=self.out)
            return
        for _ in range(count):
            self._invoice(customer, account, rng, 'open' if rng.random() < 0.7 else 'overdue')

    def _regular_customer(self, index):
        rng = self.rng
        rfc = regular_rfc(index)
        accounts = (f'{100000 + index:06d}',) if rng.random() < 0.8 else (
            f'{100000 + index:06d}', f'{5000000 + index:07d}')
        name = f'{rng.choice(_NAME_WORDS)} {rng.choice(_PLACES)} {index + 1} SA de CV'
        customer = self._customer(rfc, name, accounts)
        if customer is None:
            return rfc
        payments = 0
        for _ in range(self.args.invoices_per_customer):
            roll = rng.random()
            kind = 'paid' if roll < 0.3 else 'overdue' if roll < 0.55 else 'partial' if roll < 0.65 else 'open'
            invoice = self._invoice(customer, rng.choice(accounts), rng, kind)
            if kind == 'paid' and payments < self.args.payments_per_customer:
                self._applied_payment(customer, invoice, rng)
                payments += 1
        return rfc

    def _invoice(self, customer, account, rng, kind):
        """One invoice of ``kind``: open, overdue, partial (open, part paid) or paid."""
        usd = rng.random() < 0.25
        amount = cents(rng.randint(5_000, 800_000) if usd else rng.randint(50_000, 15_000_000))
        if kind == 'open' or kind == 'partial':
            issued = self.today - datetime.timedelta(days=rng.randint(0, 29))
        else:
            issued = self.today - datetime.timedelta(days=rng.randint(31, 365))
        balance = amount
        if kind == 'paid':
            balance = 0
        elif kind == 'partial':
            balance = cents(rng.randint(1, int(amount * 100) - 1))
        folio = f'{self.next_folio:08d}'
        self.next_folio += 1
        invoice = Invoice(folio, account, issued, issued + datetime.timedelta(days=30),
                          'USD' if usd else 'MXN', amount,
                          exchange_rate=self.rate if usd else None, serie=SERIE,
                          uuid=self._uuid(), balance=balance)
        invoice.metodo_pago = 'PPD' if kind == 'partial' else 'PUE'
        customer.add_invoice(invoice)
        self.counts['invoices'] += 1
        self.wrote()
        return invoice

    def _uuid(self):
        # Increasing, so the root's UUID index grows at its end (see the module docstring).
        return str(uuid.UUID(int=(self.run_id << 96) | (4 << 76) | (8 << 60) | self.next_folio)).upper()

    def _applied_payment(self, customer, invoice, rng):
        """A portal payment of the whole invoice, approved by the bank and applied by the ERP."""
        root = self.root
        reference = root.next_payment_reference()
        amount_mxn = invoice.amount_mxn
        allocation = Allocation(invoice.key, invoice.account, invoice.currency, amount_mxn,
                                invoice.amount, invoice.exchange_rate, invoice.amount, 1)
        paid_on = invoice.issued + datetime.timedelta(days=rng.randint(1, 29))
        paid_at = mexico_time(paid_on.year, paid_on.month, paid_on.day, rng.randint(8, 19), rng.randint(0, 59))
        bank = rng.choice(BANKS)
        payment = Payment(reference, customer.rfc, bank, [allocation], created=paid_at)
        payment.transition(APPROVED, paid_at, 'notification', 'generated')
        payment.transition(APPLIED, paid_at + datetime.timedelta(days=1), 'erp', 'generated')
        payment.paid_at = paid_at
        payment.bank_reference = (f'BC-Banamex {rng.randint(0, 999999):06d}' if bank == 'banamex'
                                  else f'BBVA {rng.randint(0, 999999):06d}')
        customer.add_payment(payment)
        invoice.applied = ((reference, invoice.amount),)
        self.counts['payments'] += 1
        self.wrote()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='canonportal-generate', description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', help='the ini file, e.g. development.ini')
    add_ini_variables(parser)
    parser.add_argument('--customers', type=int, required=True, help='regular customers to add')
    parser.add_argument('--invoices-per-customer', type=int, required=True)
    parser.add_argument('--large', type=int, default=0, help='very large customers to add')
    parser.add_argument('--large-invoices', type=int, default=5000,
                        help='open invoices of each very large customer (default 5000)')
    parser.add_argument('--reference-invoices', type=int, default=20,
                        help=f'open invoices of the reference customer {REFERENCE_RFC} (default 20; 0: none)')
    parser.add_argument('--statements', type=int, default=3, help='monthly statements per customer')
    parser.add_argument('--payments-per-customer', type=int, default=2,
                        help='applied portal payments per regular customer, of its paid invoices')
    parser.add_argument('--rate-days', type=int, default=400, help='days of exchange rates up to today')
    parser.add_argument('--seed', type=int, default=2026)
    parser.add_argument('--today', type=datetime.date.fromisoformat, default=None,
                        help='the day the data is generated for (default: today in Mexico City)')
    parser.add_argument('--batch', type=int, default=5000, help='objects per transaction')
    parser.add_argument('--manifest', help='write RFCs, password and statement ids as JSON here')
    parser.add_argument('--manifest-customers', type=int, default=500,
                        help='how many regular RFCs the manifest lists')
    parser.add_argument('--progress', type=float, default=10.0, help='seconds between progress lines')
    args, options = parse_command_line(parser, argv)
    args.options = options
    for name in ('customers', 'invoices_per_customer', 'large', 'large_invoices', 'reference_invoices',
                 'statements', 'payments_per_customer'):
        if getattr(args, name) < 0:
            parser.error(f'--{name.replace("_", "-")} must not be negative')
    if args.batch < 1 or args.rate_days < 1:
        parser.error('--batch and --rate-days must be at least 1')
    if args.statements > 24:
        parser.error('--statements: at most 24')
    return args


def main(argv=None, out=sys.stdout):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    db, _ = open_database(args.config_uri, options=args.options)
    manager = transaction.TransactionManager(explicit=True)
    connection = db.open(transaction_manager=manager)
    try:
        manager.begin()
        generator = Generator(connection, manager, args, out=out)
        manifest = generator.run()
    except BaseException:
        manager.abort()
        raise
    finally:
        connection.close()
        db.close()
    elapsed = time.monotonic() - generator.started
    summary = dict(generator.counts, seconds=round(elapsed, 1),
                   invoices_per_second=round(generator.counts['invoices'] / elapsed) if elapsed else None,
                   peak_rss_mb=round(peak_rss_mb()))
    if args.manifest:
        manifest['counts'] = summary
        with open(args.manifest, 'w', encoding='utf-8') as handle:
            json.dump(manifest, handle, indent=1)
    print(json.dumps(summary), file=out)
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
