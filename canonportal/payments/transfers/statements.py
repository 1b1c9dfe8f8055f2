"""Bank statements imported by staff (the page, or ``canonportal-import --kind
estado-bancario``): every credit in the file received like a deposit notification.

All or nothing: a file with a problem changes nothing. A transfer already received (by
notification or an earlier import) is counted as known and left alone, so importing the
same statement twice changes nothing; another transfer under a known key (two rows with
one clave de rastreo and different amounts) is recorded for staff, never counted as known.

The report speaks the staff's language: :mod:`canonportal.spei.statements` gives each
problem as a code and values, :data:`PROBLEMS` words them (``text(translate)``: the page
passes its localizer's, the console reads Spanish).
"""
import dataclasses

from ... import audit
from ...i18n import _, spanish
from ...resources.incoming_transfer import MATCHED, REVIEW as TRANSFER_REVIEW, SAME_KEY, UNMATCHED
from ...spei import statements as formats
from ...spei.statements import read_statement
from .matching import receive

#: The largest statement file read (bytes).
MAX_STATEMENT_BYTES = 10 * 1024 * 1024
#: Problems listed in the report at most.
PROBLEMS_SHOWN = 50

PROBLEMS = {
    formats.UNKNOWN_FORMAT: _('Formato desconocido «${format}».'),
    formats.TOO_LARGE: _('El archivo pesa más de ${megabytes} MB.'),
    formats.NOT_XML: _('No es un XML válido (${detail}).'),
    formats.NO_STATEMENT: _('El XML no contiene un estado de cuenta camt.053 (Stmt).'),
    formats.TOO_MANY_ENTRIES: _('Tiene más de ${count} movimientos.'),
    formats.NOT_MXN: _('Moneda «${currency}»: solo se leen abonos en MXN.'),
    formats.INVALID_FIELD: _('El campo ${field} no es válido.'),
    formats.UNREADABLE: _('No se puede leer (${detail}).'),
    formats.NOT_MT940: _('No es un MT940 válido (${detail}).'),
    formats.NO_ACCOUNT: _('Falta la cuenta del estado de cuenta (:25:).'),
    formats.NOT_UTF8: _('El CSV no está en UTF-8: guárdelo como «CSV UTF-8» e impórtelo de nuevo.'),
    formats.MISSING_COLUMNS: _('Faltan las columnas: ${columns}.'),
    formats.MORE_CELLS: _('La línea tiene más celdas que columnas el encabezado.'),
    formats.LONG_CELL: _('Una celda tiene más de ${count} caracteres.'),
    formats.BAD_DATE: _('fecha_operacion no es una fecha AAAA-MM-DD ni DD/MM/AAAA.'),
}
#: What each of a transfer's fields must be, when a line's is not.
FIELDS = {
    'tracking_key': _('La clave de rastreo debe tener de 1 a 30 letras y dígitos.'),
    'operation_date': _('La fecha de operación debe ser una fecha entre 2000 y 2100.'),
    'amount': _('El monto debe ser positivo, con hasta dos decimales.'),
    'beneficiary_account': _('La cuenta beneficiaria debe tener de 10 a 18 dígitos.'),
    'ordering_account': _('La cuenta ordenante debe tener de 10 a 18 dígitos.'),
}
MISSING_CURRENCY = _('sin moneda')


def problem_text(problem, translate=spanish):
    """One problem of a statement in the reader's words ('Línea 4: Una celda …')."""
    values = {str(k): str(v) for k, v in problem.values.items()}
    if problem.code == formats.NOT_MXN and not values.get('currency'):
        values['currency'] = translate(MISSING_CURRENCY)
    message = PROBLEMS.get(problem.code)
    if problem.code == formats.INVALID_FIELD:
        message = FIELDS.get(values.get('field'), message)
    text = translate(_(message, mapping=values)) if message else problem.code
    if not problem.where:
        return text
    where = (translate(_('Línea ${line}', mapping={'line': problem.where}))
             if problem.where.isdigit() else problem.where)
    return f'{where}: {text}'


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

    def text(self, translate=spanish):
        """The report staff read, in ``translate``'s language (Spanish by default)."""
        if self.problems:
            lines = [translate(_('Estado de cuenta (${format}) rechazado: no se aplicó nada.',
                                 mapping={'format': self.format}))]
            lines += ['  ' + problem_text(problem, translate)
                      for problem in self.problems[:PROBLEMS_SHOWN]]
            if len(self.problems) > PROBLEMS_SHOWN:
                lines.append('  ' + translate(_('… y ${count} problemas más.', mapping={
                    'count': len(self.problems) - PROBLEMS_SHOWN})))
            return '\n'.join(lines)
        counts = {'format': self.format, 'new': len(self.received),
                  'matched': self.count(MATCHED), 'review': self.count(TRANSFER_REVIEW),
                  'unmatched': self.count(UNMATCHED), 'same_key': self.count(SAME_KEY),
                  'known': self.duplicates, 'debits': self.debits}
        if counts['same_key']:
            return translate(_(
                'Estado de cuenta (${format}): ${new} transferencias nuevas (${matched} '
                'aplicadas, ${review} en revisión, ${unmatched} sin aplicar; ${same_key} con la '
                'fecha, clave de rastreo y banco de otra distinta, para revisar), ${known} ya '
                'recibidas, ${debits} cargos no considerados.', mapping=counts))
        return translate(_(
            'Estado de cuenta (${format}): ${new} transferencias nuevas (${matched} aplicadas, '
            '${review} en revisión, ${unmatched} sin aplicar), ${known} ya recibidas, '
            '${debits} cargos no considerados.', mapping=counts))


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
