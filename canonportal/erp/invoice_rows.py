"""An invoice as an import file describes it, and the compact form it is kept in
between the check and the apply.

The check reads the CSV; each row it accepted is kept, compact, in a temporary
file with the outcome it planned (marshalled chunks of plain tuples), so the
apply neither parses a million rows again nor loads the invoices that stay
unchanged. A row planned as a new invoice is kept with the values its plan
decided (:meth:`InvoiceData.settle`), so the apply creates it without planning
it again.
"""
import datetime
import marshal
import tempfile
from decimal import Decimal

from ..i18n import _
from ..resources.invoice import USD
from . import fields
from .base import Cells
from .files import Column

#: Rows per record of the temporary file between the check and the apply.
SPOOL_CHUNK = 1000


COLUMNS = (
    Column('rfc', 'RFC', ('RFC receptor', 'RFC cliente'), required=True),
    Column('account', 'Cuenta', ('Cuenta ERP', 'Cuenta cliente', 'No. cuenta')),
    Column('serie', 'Serie'),
    Column('folio', 'Folio', required=True),
    Column('uuid', 'UUID', ('Folio fiscal',)),
    Column('issued', 'Fecha de emisión', ('Fecha', 'Fecha emision', 'Fecha factura'),
           required=True),
    Column('due', 'Fecha de vencimiento', ('Vencimiento', 'Fecha vencimiento')),
    Column('currency', 'Moneda', required=True),
    Column('rate', 'Tipo de cambio', ('TipoCambio', 'TC')),
    Column('amount', 'Total', ('Importe', 'Importe total'), required=True),
    Column('balance', 'Saldo', ('Saldo pendiente',)),
    Column('method', 'Método de pago', ('MetodoPago',)),
    Column('pdf', 'Archivo PDF', ('PDF',)),
)


class InvoiceData:
    """One invoice as a file describes it (a CSV row, a CFDI, or both)."""

    __slots__ = ('source', 'line', 'rfc', 'account', 'serie', 'folio', 'uuid', 'issued', 'due',
                 'currency', 'rate', 'amount', 'balance', 'method', 'pdf_name', 'cfdi', 'xml')

    def __init__(self, source, line, rfc, account, serie, folio, uuid, issued, due, currency,
                 rate, amount, balance, method, pdf_name=None, cfdi=None, xml=None):
        self.source, self.line = source, line
        self.rfc, self.account, self.serie, self.folio, self.uuid = rfc, account, serie, folio, uuid
        self.issued, self.due, self.currency, self.rate = issued, due, currency, rate
        self.amount, self.balance, self.method, self.pdf_name = amount, balance, method, pdf_name
        self.cfdi, self.xml = cfdi, xml

    @property
    def key(self):
        return f'{self.serie}-{self.folio}' if self.serie else self.folio

    def record(self, file_index, action, pdf=None):
        """The row as a tuple of plain values (``file_index``: input file id → its number),
        with its planned ``action`` and the PDF file the plan gave it (or None)."""
        return (file_index[id(self.source)], self.line, self.rfc, self.account, self.serie,
                self.folio, self.uuid, self.issued.toordinal(),
                self.due.toordinal() if self.due is not None else None, self.currency,
                str(self.rate) if self.rate is not None else None, str(self.amount),
                str(self.balance) if self.balance is not None else None, self.method,
                self.pdf_name, file_index[id(self.xml)] if self.xml is not None else None,
                action, file_index[id(pdf)] if pdf is not None else None)

    def settle(self, values):
        """Take the values a plan decided (account, due date, balance, rate, method), so that
        :meth:`record` keeps what the check decided rather than what the file left open."""
        self.account, self.due, self.balance = values['account'], values['due'], values['balance']
        self.rate, self.method = values['exchange_rate'], values['metodo_pago']

    @classmethod
    def from_record(cls, record, inputs):
        """``(data, xml file or None, action, PDF file or None)`` from :meth:`record`'s tuple."""
        (source, line, rfc, account, serie, folio, uuid, issued, due, currency, rate, amount,
         balance, method, pdf_name, xml, action, pdf) = record
        fromordinal = datetime.date.fromordinal
        data = cls(inputs[source], line, rfc, account, serie, folio, uuid, fromordinal(issued),
                   fromordinal(due) if due is not None else None, currency,
                   Decimal(rate) if rate is not None else None, Decimal(amount),
                   Decimal(balance) if balance is not None else None, method, pdf_name)
        return (data, inputs[xml] if xml is not None else None, action,
                inputs[pdf] if pdf is not None else None)


class Spool:
    """Records written in chunks to a temporary file, read back in order."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.count = 0
        self._chunk = []

    def add(self, record):
        self._chunk.append(record)
        self.count += 1
        if len(self._chunk) == SPOOL_CHUNK:
            self.flush()

    def flush(self):
        if self._chunk:
            marshal.dump(self._chunk, self.file)
            self._chunk = []

    def __iter__(self):
        self.flush()
        self.file.seek(0)
        left = self.count
        while left > 0:
            chunk = marshal.load(self.file)
            left -= len(chunk)
            yield from chunk

    def close(self):
        self.file.close()


def read_csv_row(job, source, line, cells):
    """A CSV row as :class:`InvoiceData`, or None after reporting its problems to ``job``."""
    (rfc_text, account_text, serie_text, folio_text, uuid_text, issued_text, due_text,
     currency_text, rate_text, amount_text, balance_text, method_text, pdf_text) = cells
    row = Cells()
    rfc = row.read_rfc(rfc_text)
    account = row.read(fields.account, account_text) if account_text.strip() else None
    serie_folio = row.read(fields.serie_folio, serie_text, folio_text)
    uuid = row.read(fields.uuid, uuid_text) if uuid_text.strip() else None
    issued = row.read(fields.day, issued_text, 'Fecha de emisión')
    due = row.read(fields.day, due_text, 'Fecha de vencimiento') if due_text.strip() else None
    currency = row.read(fields.currency, currency_text)
    amount = row.read(fields.amount, amount_text, 'Total')
    balance = row.read(fields.amount, balance_text, 'Saldo') if balance_text.strip() else None
    method = row.read(fields.payment_method, method_text)
    rate = None
    if currency == USD:
        if not rate_text.strip():
            row.problems.append(_('La factura está en USD y no trae tipo de cambio.'))
        else:
            read = row.read(fields.rate, rate_text, False)
            if read is not None:
                rate, rounded = read
                if rounded:
                    row.warnings.append(_('El tipo de cambio ${given} se redondeó a 4 '
                                          'decimales: ${rate}.',
                                          mapping={'given': rate_text.strip(), 'rate': rate}))
    if issued is not None and due is not None and due < issued:
        row.problems.append(_('La fecha de vencimiento es anterior a la de emisión.'))
    if amount is not None and balance is not None and balance > amount:
        row.problems.append(_('El saldo (${balance}) es mayor que el total (${amount}).',
                              mapping={'balance': balance, 'amount': amount}))
    if not row.report(job, source, line):
        return None
    serie, folio = serie_folio
    return InvoiceData(source, line, rfc, account, serie, folio, uuid, issued, due, currency,
                       rate, amount, balance, method, pdf_text.strip() or None)
