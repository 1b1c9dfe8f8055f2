"""Bank statements with the transfers received: camt.053, MT940 and CSV.

Each parser turns a whole file into :class:`StatementRead`: the credits as
:class:`~.transfers.Transfer` objects, plus every problem found. A file with one
problem is refused whole by the caller (all or nothing, like the ERP imports).
Debits are not ours to match and are counted, not read. Files are bounded
before they are parsed; XML is parsed without entities or network access.

Mexican banks write the SPEI data in their own ways; what is read where:

* camt.053 (ISO 20022 ``BkToCstmrStmt``, any version): each ``Ntry`` with
  ``CdtDbtInd`` ``CRDT``; clave de rastreo from ``Refs/EndToEndId`` (else
  ``Refs/AcctSvcrRef``, else the entry's ``AcctSvcrRef``); the CLABE credited
  from ``RltdPties/CdtrAcct`` (else the statement's ``Acct``); the ordering party
  from ``Dbtr``, ``DbtrAcct`` and ``DbtrAgt``'s clearing member id; concept from
  ``RmtInf/Ustrd``, reference from ``RmtInf/Strd/CdtrRefInf/Ref``.
* MT940 (the ``mt940`` library): ``:61:`` lines marked ``C``; the ``:86:``
  text as ``RASTREO:<clave> REF:<referencia> ORD:<name> CTA:<account>
  BANCO:<participant> RFC:<rfc> CONCEPTO:<text>`` (any order, any subset), the
  clave de rastreo falling back to the ``:61:`` customer reference; the CLABE
  credited is the statement's ``:25:`` account.
* CSV (UTF-8, comma or semicolon): the header names of :data:`CSV_COLUMNS`; a line
  with a cell longer than :data:`MAX_CELL` characters is a problem of that line.

A problem is a :class:`Problem`: where (``'Ntry 3'``, ``':61: 2'``, a CSV line number, or
``''`` for the whole file), a code (the constants below) and its values; the words
staff read are the portal's (:mod:`canonportal.payments.transfers.statements`), this
package speaks no language.

The ``mt940`` library logs the lines it reads (and fails to read) at debug, info and
error level: its loggers are silenced while a statement is parsed, so an uploaded
file's content never reaches the portal's logs.
"""
import contextlib
import csv
import dataclasses
import datetime
import io
import logging
import re
import threading
import typing

from lxml import etree

from ..csvdialect import sniff_delimiter
from .credit import (
    SOURCE_CAMT053, SOURCE_CSV, SOURCE_MT940, Transfer, TransferError, parse_amount,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_ENTRIES = 20000
#: The longest CSV cell read (a concept is 210 characters, a name 120).
MAX_CELL = 1000
#: How much of a library's error message a problem quotes.
MAX_MESSAGE = 200
CURRENCY = 'MXN'

CSV_COLUMNS = ('fecha_operacion', 'clave_rastreo', 'monto', 'cuenta_beneficiaria',
               'banco_ordenante', 'cuenta_ordenante', 'nombre_ordenante', 'rfc_ordenante',
               'concepto', 'referencia_numerica')
CSV_REQUIRED = ('fecha_operacion', 'clave_rastreo', 'monto', 'cuenta_beneficiaria')

FORMATS = ('camt053', 'mt940', 'csv')

# The problems' codes (their values in parentheses).
UNKNOWN_FORMAT = 'unknown-format'        # (format)
TOO_LARGE = 'too-large'                  # (megabytes)
NOT_XML = 'not-xml'                      # (detail: the parser's message)
NO_STATEMENT = 'no-statement'            # a camt.053 file without Stmt
TOO_MANY_ENTRIES = 'too-many-entries'    # (count)
NOT_MXN = 'not-mxn'                      # (currency, '' when missing)
INVALID_FIELD = 'invalid-field'          # (field: a Transfer field name)
UNREADABLE = 'unreadable'                # (detail: what the library or check said)
NOT_MT940 = 'not-mt940'                  # (detail)
NO_ACCOUNT = 'no-account'                # MT940 without :25:
NOT_UTF8 = 'not-utf8'
MISSING_COLUMNS = 'missing-columns'      # (columns)
MORE_CELLS = 'more-cells'                # a CSV row with more cells than the header
LONG_CELL = 'long-cell'                  # (count: MAX_CELL)
BAD_DATE = 'bad-date'                    # a CSV fecha_operacion in no known layout


class Problem(typing.NamedTuple):
    """One problem of a statement: where, its code, its values."""

    where: str
    code: str
    values: dict = {}


def _invalid(where, error):
    """The problem of a :class:`TransferError` (or a ValueError of a date) at ``where``."""
    field = getattr(error, 'field', None)
    if field:
        return Problem(where, INVALID_FIELD, {'field': field})
    if isinstance(error, TransferError) and error.args and error.args[0] == BAD_DATE:
        return Problem(where, BAD_DATE)
    if isinstance(error, ValueError) and not isinstance(error, TransferError):
        return Problem(where, INVALID_FIELD, {'field': 'operation_date'})   # no such day
    return Problem(where, UNREADABLE, {'detail': str(error)[:MAX_MESSAGE]})


@dataclasses.dataclass
class StatementRead:
    """What one file holds: the credits, and the :class:`Problem` list."""

    format: str
    transfers: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    debits: int = 0

    @property
    def ok(self):
        return not self.problems


def guess_format(data):
    """'camt053', 'mt940' or 'csv' from the file's first bytes."""
    head = data[:4096].lstrip(b'\xef\xbb\xbf \r\n\t')
    if head.startswith(b'<'):
        return 'camt053'
    if re.search(rb'(^|\n):20:', head):
        return 'mt940'
    return 'csv'


def read_statement(data, format=None):
    """Parse a statement file (bytes) of ``format`` (guessed when None)."""
    format = format or guess_format(data)
    if format not in FORMATS:
        return StatementRead(format, problems=[Problem('', UNKNOWN_FORMAT, {'format': str(format)[:20]})])
    if len(data) > MAX_BYTES:
        return StatementRead(format, problems=[
            Problem('', TOO_LARGE, {'megabytes': MAX_BYTES // 1048576})])
    return {'camt053': read_camt053, 'mt940': read_mt940, 'csv': read_csv}[format](data)


# -- camt.053 --------------------------------------------------------------------------------

def _local(element, path):
    """The first element at ``path`` (local names separated by '/'), namespace-blind."""
    xpath = './' + '/'.join(f"*[local-name()='{step}']" for step in path.split('/'))
    found = element.xpath(xpath)
    return found[0] if found else None


def _text(element, path):
    node = _local(element, path) if element is not None else None
    return (node.text or '').strip() if node is not None and node.text else ''


def _account(party_account):
    """An account's identifier: IBAN or ``Othr/Id`` (where CLABEs go)."""
    if party_account is None:
        return ''
    return _text(party_account, 'Id/Othr/Id') or _text(party_account, 'Id/IBAN')


def read_camt053(data):
    read = StatementRead('camt053')
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        read.problems.append(Problem('', NOT_XML, {'detail': str(error)[:MAX_MESSAGE]}))
        return read
    statements = root.xpath("//*[local-name()='Stmt']")
    if not statements:
        read.problems.append(Problem('', NO_STATEMENT))
        return read
    count = 0
    for statement in statements:
        own_account = _account(_local(statement, 'Acct'))
        for number, entry in enumerate(statement.xpath("./*[local-name()='Ntry']"), start=1):
            count += 1
            if count > MAX_ENTRIES:
                read.problems.append(Problem('', TOO_MANY_ENTRIES, {'count': MAX_ENTRIES}))
                return read
            where = f'Ntry {number}'
            if _text(entry, 'CdtDbtInd') != 'CRDT':
                read.debits += 1
                continue
            status = _text(entry, 'Sts/Cd') or _text(entry, 'Sts')
            if status and status != 'BOOK':
                continue    # pending entries come again, booked, in a later statement
            amount_node = _local(entry, 'Amt')
            currency = amount_node.get('Ccy') if amount_node is not None else ''
            if currency != CURRENCY:
                read.problems.append(Problem(where, NOT_MXN, {'currency': currency or ''}))
                continue
            details = _local(entry, 'NtryDtls/TxDtls')
            day = _text(entry, 'BookgDt/Dt') or _text(entry, 'BookgDt/DtTm')[:10] \
                or _text(entry, 'ValDt/Dt')
            tracking = (_text(details, 'Refs/EndToEndId') or _text(details, 'Refs/AcctSvcrRef')
                        or _text(entry, 'AcctSvcrRef'))
            if tracking.upper() == 'NOTPROVIDED':
                tracking = _text(details, 'Refs/AcctSvcrRef') or _text(entry, 'AcctSvcrRef')
            credited = _account(_local(details, 'RltdPties/CdtrAcct')) if details is not None else ''
            try:
                read.transfers.append(Transfer(
                    tracking_key=tracking,
                    operation_date=datetime.date.fromisoformat(day),
                    amount=parse_amount(amount_node.text),
                    beneficiary_account=credited or own_account,
                    ordering_bank=_text(details, 'RltdAgts/DbtrAgt/FinInstnId/ClrSysMmbId/MmbId'),
                    ordering_account=_account(_local(details, 'RltdPties/DbtrAcct'))
                    if details is not None else '',
                    ordering_name=_text(details, 'RltdPties/Dbtr/Nm')
                    or _text(details, 'RltdPties/Dbtr/Pty/Nm'),
                    concept=_text(details, 'RmtInf/Ustrd'),
                    numeric_reference=_text(details, 'RmtInf/Strd/CdtrRefInf/Ref'),
                    source=SOURCE_CAMT053))
            except (TransferError, ValueError) as error:
                read.problems.append(_invalid(where, error))
    return read


# -- MT940 ------------------------------------------------------------------------------------

_TAG_86 = re.compile(r'\b(RASTREO|REF|ORD|CTA|BANCO|RFC|CONCEPTO):')


def details_86(text):
    """``{'RASTREO': …, 'REF': …}`` from an ``:86:`` text in the layout documented above."""
    text = ' '.join((text or '').split())
    found, matches = {}, list(_TAG_86.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found[match.group(1)] = text[match.end():end].strip()
    return found


_quiet_lock = threading.Lock()
_quiet_parsers = 0
_mt940_levels = {}


def _mt940_loggers():
    """The library's logger and every one below it that exists (a deployer may have set a
    level on any of them)."""
    names = {'mt940'} | {name for name in logging.root.manager.loggerDict
                         if name.startswith('mt940.')}
    return [logging.getLogger(name) for name in sorted(names)]


@contextlib.contextmanager
def mt940_quiet():
    """The ``mt940`` loggers silenced while any thread parses a statement: they quote the
    lines they read. Their levels come back after the last parse ends."""
    global _quiet_parsers
    with _quiet_lock:
        if _quiet_parsers == 0:
            for logger in _mt940_loggers():
                _mt940_levels[logger.name] = logger.level
                logger.setLevel(logging.CRITICAL + 1)
        _quiet_parsers += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_parsers -= 1
            if _quiet_parsers == 0:
                for name, level in _mt940_levels.items():
                    logging.getLogger(name).setLevel(level)
                _mt940_levels.clear()


def read_mt940(data):
    import mt940
    read = StatementRead('mt940')
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        text = data.decode('latin-1')
    transactions = mt940.models.Transactions()
    try:
        with mt940_quiet():
            transactions.parse(text)
    except Exception as error:   # the library raises many kinds on malformed input
        message = str(error.args[0] if error.args else error)[:MAX_MESSAGE]
        read.problems.append(Problem('', NOT_MT940,
                                     {'detail': f'{type(error).__name__}: {message}'}))
        return read
    own_account = re.sub(r'[^0-9]', '', transactions.data.get('account_identification') or '')
    if not own_account:
        read.problems.append(Problem(':25:', NO_ACCOUNT))
    for number, transaction in enumerate(transactions, start=1):
        if number > MAX_ENTRIES:
            read.problems.append(Problem('', TOO_MANY_ENTRIES, {'count': MAX_ENTRIES}))
            break
        values = transaction.data
        where = f':61: {number}'
        if values.get('status') not in ('C', 'RD'):
            read.debits += 1
            continue
        amount = values.get('amount')
        currency = values.get('currency') or getattr(amount, 'currency', '')
        if currency != CURRENCY:
            read.problems.append(Problem(where, NOT_MXN, {'currency': currency or ''}))
            continue
        extra = details_86(values.get('transaction_details'))
        reference = values.get('customer_reference') or ''
        day = values.get('date')
        try:
            read.transfers.append(Transfer(
                tracking_key=extra.get('RASTREO') or ('' if reference == 'NONREF' else reference),
                operation_date=datetime.date(day.year, day.month, day.day),
                amount=parse_amount(f'{abs(amount.amount):.2f}'),
                beneficiary_account=own_account,
                ordering_bank=extra.get('BANCO', ''),
                ordering_account=extra.get('CTA', ''),
                ordering_name=extra.get('ORD', ''),
                ordering_rfc=extra.get('RFC', ''),
                concept=extra.get('CONCEPTO', ''),
                numeric_reference=extra.get('REF', ''),
                source=SOURCE_MT940))
        except (TransferError, ValueError, AttributeError) as error:
            read.problems.append(_invalid(where, error))
    return read


# -- CSV --------------------------------------------------------------------------------------

def read_csv(data):
    read = StatementRead('csv')
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        read.problems.append(Problem('', NOT_UTF8))
        return read
    delimiter = sniff_delimiter(text.split('\n', 1)[0])
    rows = _bounded_rows(csv.reader(io.StringIO(text, newline=''), delimiter=delimiter))
    _line, header, problem = next(rows, (1, [], None))
    if problem:
        read.problems.append(Problem('1', *problem))
        return read
    header = [name.strip().lower() for name in header]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        read.problems.append(Problem('1', MISSING_COLUMNS, {'columns': ', '.join(missing)}))
        return read
    for count, (line, row, problem) in enumerate(rows, start=1):
        if count > MAX_ENTRIES:
            read.problems.append(Problem('', TOO_MANY_ENTRIES, {'count': MAX_ENTRIES}))
            break
        if problem:
            read.problems.append(Problem(str(line), *problem))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            read.problems.append(Problem(str(line), MORE_CELLS))
            continue
        values = {name: (row[i].strip() if i < len(row) else '') for i, name in enumerate(header)}
        try:
            read.transfers.append(Transfer(
                tracking_key=values['clave_rastreo'],
                operation_date=_csv_day(values['fecha_operacion']),
                amount=parse_amount(values['monto']),
                beneficiary_account=values['cuenta_beneficiaria'],
                ordering_bank=values.get('banco_ordenante', ''),
                ordering_account=values.get('cuenta_ordenante', ''),
                ordering_name=values.get('nombre_ordenante', ''),
                ordering_rfc=values.get('rfc_ordenante', ''),
                concept=values.get('concepto', ''),
                numeric_reference=values.get('referencia_numerica', ''),
                source=SOURCE_CSV))
        except (TransferError, ValueError) as error:
            read.problems.append(_invalid(str(line), error))
    return read


def _bounded_rows(reader):
    """``(line, cells, problem)`` for each row of a csv ``reader``: a row with a cell
    longer than :data:`MAX_CELL` (or one past the csv module's own field limit) comes
    as its problem (``(code, values)``), and the rows after it are read on."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, [], (UNREADABLE, {'detail': str(error)[:MAX_MESSAGE]})
            continue
        if any(len(cell) > MAX_CELL for cell in row):
            yield reader.line_num, [], (LONG_CELL, {'count': MAX_CELL})
            continue
        yield reader.line_num, row, None


def _csv_day(text):
    for pattern in ('%Y-%m-%d', '%d/%m/%Y', '%d-%m-%Y'):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise TransferError(BAD_DATE)
