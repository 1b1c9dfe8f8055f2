"""What every kind of import shares: reading its CSV tables row by row in both phases."""
from ..i18n import _
from . import fields
from .fields import FieldError
from .files import Table


class Importer:
    """One kind of import. Subclasses set ``kind`` and ``columns`` and write
    :meth:`check_row` / :meth:`apply_row` (or override :meth:`check` / :meth:`apply`)."""

    kind = None
    columns = ()
    #: Whether PDFs may come with the CSV (invoices, statements).
    takes_pdfs = False

    def __init__(self, job):
        self.job = job
        self.tables = []

    # --- preparation -----------------------------------------------------------------

    def prepare(self):
        """Read the headers; missing columns are errors of line 1."""
        for source in self.job.csvs:
            if source.encoding_warning is not None:
                self.job.warning(source, None, source.encoding_warning)
            table = Table(source, self.columns)
            if not table.header:
                self.job.error(source, 1, _('El archivo está vacío: falta el encabezado.'))
                continue
            for problem in table.problems + self.table_problems(table):
                self.job.error(source, 1, problem)
            if table.unknown:
                self.job.warning(source, 1, _(
                    'Columnas que no se leen: ${columns}.',
                    mapping={'columns': ', '.join(f'«{c}»' for c in table.unknown[:20])}))
            if not table.problems:
                self.tables.append(table)
        if self.job.pdfs and not self.takes_pdfs:
            for pdf in self.job.pdfs:
                self.job.warning(pdf, None, _(
                    'Los PDF solo acompañan facturas o estados de cuenta; ${name} no se '
                    'importó.', mapping={'name': pdf.name}))

    def table_problems(self, table):
        """Problems of a whole header beyond missing columns (override when needed)."""
        return []

    def progress_units(self):
        """How much work one pass is, in the units :meth:`Job.advance` receives (bytes)."""
        return sum(t.source.size for t in self.tables)

    # --- the passes ------------------------------------------------------------------

    def rows(self, table):
        """``(line, cells)`` of a table; a row wider than the header is an error."""
        job = self.job
        count = 0
        for line, cells in table.rows(progress=job.advance):
            job.row_read()
            count += 1
            if cells is None:
                job.error(table.source, line, _(
                    'La fila tiene más columnas que el encabezado (${count}).',
                    mapping={'count': table.width}))
                continue
            yield line, cells
        if not count:
            job.warning(table.source, None, _('El archivo no tiene filas de datos.'))

    def check(self):
        for table in self.tables:
            for line, cells in self.rows(table):
                self.check_row(table, line, cells)
        self.check_done()

    def apply(self):
        for table in self.tables:
            for line, cells in self.rows(table):
                self.apply_row(table, line, cells)
        self.apply_done()

    def check_row(self, table, line, cells):  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_row(self, table, line, cells):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self):
        """Let go of temporary files (called once the import is over, whatever happened)."""

    def check_done(self):
        """After the check of every row: checks that need the whole file."""

    def apply_done(self):
        """After the apply of every row."""


class Cells:
    """Read a row's cells with field parsers, collecting every problem of the row."""

    __slots__ = ('problems', 'warnings')

    def __init__(self):
        self.problems = []
        self.warnings = []

    def read(self, parser, *args):
        try:
            return parser(*args)
        except FieldError as error:
            self.problems.append(error.reason)
            return None

    def read_rfc(self, text):
        """The RFC in ``text`` (None if refused); a failed check digit becomes a warning."""
        rfc = self.read(fields.rfc, text)
        if rfc is None:
            return None
        rfc, warning = rfc
        if warning is not None:
            self.warnings.append(warning)
        return rfc

    def report(self, job, source, line):
        """Send the row's problems and warnings to the job; true when the row is good."""
        for reason in self.problems:
            job.error(source, line, reason)
        for reason in self.warnings:
            job.warning(source, line, reason)
        return not self.problems
