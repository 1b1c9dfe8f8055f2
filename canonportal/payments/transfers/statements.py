"""Bank statements imported by staff (the page, or ``canonportal-import --kind
estado-bancario``): every credit in the file received like a deposit notification.

All or nothing: a file with a problem changes nothing. A transfer already received (by
notification or an earlier import) is counted as known and left alone, so importing the
same statement twice changes nothing; another transfer under a known key (two rows with
one clave de rastreo and different amounts) is recorded for staff, never counted as known.
"""
import dataclasses

from ... import audit
from ...resources.incoming_transfer import MATCHED, REVIEW as TRANSFER_REVIEW, SAME_KEY, UNMATCHED
from ...spei.statements import read_statement
from .matching import receive

#: The largest statement file read (bytes).
MAX_STATEMENT_BYTES = 10 * 1024 * 1024
#: Problems listed in the report at most.
PROBLEMS_SHOWN = 50


@dataclasses.dataclass
class StatementReport:
    """What importing one statement did (or why nothing was done)."""

    format: str
    problems: list = dataclasses.field(default_factory=list)
    received: list = dataclasses.field(default_factory=list)    # Received, new transfers only
    duplicates: int = 0
    debits: int = 0

    @property
    def ok(self):
        return not self.problems

    def count(self, state):
        return sum(1 for item in self.received if item.state == state)

    def text(self):
        """The report staff read, in Spanish like the ERP imports'."""
        if self.problems:
            lines = [f'Estado de cuenta ({self.format}) rechazado: no se aplicó nada.']
            lines += [f'  {where}: {message}' if where else f'  {message}'
                      for where, message in self.problems[:PROBLEMS_SHOWN]]
            if len(self.problems) > PROBLEMS_SHOWN:
                lines.append(f'  … y {len(self.problems) - PROBLEMS_SHOWN} problemas más.')
            return '\n'.join(lines)
        same_key = self.count(SAME_KEY)
        return (f'Estado de cuenta ({self.format}): {len(self.received)} transferencias nuevas '
                f'({self.count(MATCHED)} aplicadas, {self.count(TRANSFER_REVIEW)} en revisión, '
                f'{self.count(UNMATCHED)} sin aplicar'
                + (f'; {same_key} con la fecha, clave de rastreo y banco de otra distinta, '
                   'para revisar' if same_key else '')
                + f'), {self.duplicates} ya recibidas, {self.debits} cargos no considerados.')


def import_statement(root, gateway, data, now, actor, format=None):
    """Read a statement file and receive every credit in it, in the caller's transaction.

    Returns :class:`StatementReport`; the caller mails the receipts of ``received``
    items with ``receipt_due``, and asks for the CEPs once committed.
    """
    read = read_statement(data, format)
    report = StatementReport(read.format, problems=list(read.problems), debits=read.debits)
    if not read.ok:
        return report
    for transfer in read.transfers:
        received = receive(root, gateway, transfer, now, actor)
        if received.duplicate:
            report.duplicates += 1
        else:
            report.received.append(received)
    audit.record(root, actor, 'spei.statement', root.transfers, '', '',
                 f'{read.format}: {len(report.received)} new, {report.duplicates} known', when=now)
    return report
