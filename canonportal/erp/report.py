"""What an import tells its caller: errors and warnings with file and line, and the counts.

Reasons are translation strings (Spanish source text); the web page passes
``request.localizer.translate``, the console reads them in Spanish.
"""
from ..i18n import _, spanish

#: Messages kept per list; ``error_count`` / ``warning_count`` count them all.
MAX_MESSAGES = 1000

KIND_LABELS = {
    'customers': _('clientes'),
    'invoices': _('facturas'),
    'balances': _('saldos'),
    'statements': _('estados de cuenta'),
    'rates': _('tipos de cambio'),
    'complements': _('complementos de pago'),
}


class ImportReport:
    """The outcome of :func:`canonportal.erp.imports.run_import`.

    ``ok`` is true when no file had an error; then ``created``, ``updated``,
    ``unchanged`` count what was written (or, with ``dry_run``, what would
    be) and ``record`` is the :class:`~canonportal.resources.imports.ImportRecord`
    added to ``root.imports`` (None for a dry run). ``errors`` and
    ``warnings`` are ``(file name, line or None, reason)``. ``applied``: the references
    of the payments a balances import applied (their payers are mailed by the caller,
    :func:`canonportal.payments.applied.send_applied`).
    """

    def __init__(self, kind=None, files=(), dry_run=False):
        self.kind = kind
        self.files = list(files)
        self.dry_run = dry_run
        self.errors = []
        self.warnings = []
        self.error_count = 0
        self.warning_count = 0
        self.created = 0
        self.updated = 0
        self.unchanged = 0
        self.rows = 0
        self.notes = []
        self.applied = []
        self.record = None
        self.seconds = None

    @property
    def ok(self):
        return self.error_count == 0

    @property
    def name(self):
        return self.record.__name__ if self.record is not None else None

    def error(self, source, line, reason):
        self.error_count += 1
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append((source, line, reason))

    def warning(self, source, line, reason):
        self.warning_count += 1
        if len(self.warnings) < MAX_MESSAGES:
            self.warnings.append((source, line, reason))

    @property
    def counts(self):
        return {'created': self.created, 'updated': self.updated,
                'unchanged': self.unchanged, 'warnings': self.warning_count}

    # --- text ------------------------------------------------------------------------

    @staticmethod
    def message_line(message, translate=spanish):
        """'facturas.csv, línea 4: El RFC … no tiene un formato válido.'"""
        source, line, reason = message
        where = source or translate(_('(importación)'))
        if line:
            where = translate(_('${file}, línea ${line}', mapping={'file': where, 'line': line}))
        return f'{where}: {translate(reason)}'

    def error_lines(self, translate=spanish):
        lines = [self.message_line(m, translate) for m in self.errors]
        if self.error_count > len(self.errors):
            lines.append(translate(_('… y ${count} errores más.',
                                     mapping={'count': self.error_count - len(self.errors)})))
        return lines

    def warning_lines(self, translate=spanish):
        lines = [self.message_line(m, translate) for m in self.warnings]
        if self.warning_count > len(self.warnings):
            lines.append(translate(_('… y ${count} advertencias más.',
                                     mapping={'count': self.warning_count - len(self.warnings)})))
        return lines

    def summary_lines(self, translate=spanish):
        """The summary a person reads at the end: kind, files, counts, outcome."""
        files = ', '.join(self.files) or '-'
        if self.kind in KIND_LABELS:
            lines = [translate(_('Importación de ${kind}: ${files}', mapping={
                'kind': translate(KIND_LABELS[self.kind]), 'files': files}))]
        else:
            lines = [translate(_('Importación: ${files}', mapping={'files': files}))]
        if not self.ok:
            lines.append(translate(_(
                'Errores encontrados: ${count}; no se importó nada. Corrija el archivo y vuelva '
                'a importarlo completo.', mapping={'count': self.error_count})))
            return lines
        if self.dry_run:
            lines.append(translate(_('Prueba sin cambios: no se escribió nada.')))
        lines.append(translate(_(
            'Creados: ${created} · Actualizados: ${updated} · Sin cambios: ${unchanged} · '
            'Advertencias: ${warnings}', mapping=self.counts)))
        lines.extend(translate(note) for note in self.notes)
        if self.record is not None:
            lines.append(translate(_('Registro de la importación: ${name}',
                                     mapping={'name': self.record.__name__})))
        return lines

    def text(self, translate=spanish):
        """Summary, errors and warnings as one text (the console prints this)."""
        parts = self.summary_lines(translate)
        if self.errors:
            parts += [''] + [translate(_('Errores:'))] + ['  ' + l for l in self.error_lines(translate)]
        if self.warnings:
            parts += [''] + [translate(_('Advertencias:'))] + [
                '  ' + l for l in self.warning_lines(translate)]
        return '\n'.join(parts)
