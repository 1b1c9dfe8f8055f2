"""ERP imports: one code path for ``canonportal-import`` and the staff upload page.

::

    from canonportal.erp.imports import run_import, detect_kind, KINDS
    report = run_import(root, [(name, binary_file, seekable), ...], actor,
                        kind=None, now=None, batch_done=None, progress=None, dry_run=False)

Kinds: ``customers``, ``invoices`` (CSV and/or CFDI 4.0 XML, with PDFs),
``balances``, ``statements`` (CSV with PDFs), ``rates`` and ``complements``
(payment complements: CFDI 4.0 XML of type P with Pagos 2.0, with PDFs); None
detects the kind from the CSV header (an ``.xml`` file means invoices, or
complements when it is a CFDI of type P). The formats are in docs/erp-files.md.
``settings`` are the ini's (the complements read the company's RFC there).

Every file is validated entirely before anything is written. Any error →
nothing is written at all (no object, no record, no audit entry) and the
report lists each problem with file name, line and reason. Otherwise the
changes are applied, one :class:`~canonportal.resources.imports.ImportRecord`
is added to ``root.imports`` and one ``erp.import`` audit entry sums it up
(updates also get an entry each; creations do not, so a million rows stay fast).

Large files are read as a stream, twice (check, then apply), keeping only
compact sets of keys. ``batch_done`` is called every few thousand written
objects (the console commits there); the web passes None and commits once.
``progress(done, total)`` reports bytes of work done.

Runs in the caller's transaction: the caller commits (or aborts when
``report.ok`` is false — nothing was changed anyway).
"""
import secrets
import time

from .. import clock
from ..i18n import _
from ..resources.imports import (
    BALANCES, COMPLEMENTS, CUSTOMERS, INVOICES, KINDS, RATES, STATEMENTS, ImportRecord,
)
from .balances import BalancesImporter
from .complements import ComplementsImporter
from .customers import CustomersImporter
from .files import normalize_header, open_inputs, read_header
from .invoices import InvoicesImporter
from .job import APPLY, CREATED, UNCHANGED, UPDATED, Job
from .rates import RatesImporter
from .rep import looks_like_rep
from ..i18n import spanish
from .report import KIND_LABELS, ImportReport
from .statements import StatementsImporter

AUDIT_IMPORT = 'erp.import'

IMPORTERS = {
    CUSTOMERS: CustomersImporter,
    INVOICES: InvoicesImporter,
    BALANCES: BalancesImporter,
    STATEMENTS: StatementsImporter,
    RATES: RatesImporter,
    COMPLEMENTS: ComplementsImporter,
}

__all__ = ['run_import', 'detect_kind', 'kind_of_header', 'KINDS', 'KIND_LABELS',
           'ImportReport', 'AUDIT_IMPORT']


# --- which kind -----------------------------------------------------------------------

def _has(names, importer, field):
    column = next(c for c in importer.columns if c.field == field)
    return bool(column.names & names)


def kind_of_header(header):
    """The kind a CSV header (a list of titles) belongs to, or None."""
    names = {normalize_header(title) for title in header}
    if _has(names, StatementsImporter, 'statement'):
        return STATEMENTS
    if _has(names, InvoicesImporter, 'folio') and _has(names, InvoicesImporter, 'amount'):
        return INVOICES
    if (_has(names, BalancesImporter, 'balance')
            and (_has(names, BalancesImporter, 'folio') or _has(names, BalancesImporter, 'uuid'))) \
            or _has(names, BalancesImporter, 'reference'):
        return BALANCES
    if _has(names, CustomersImporter, 'name') and _has(names, CustomersImporter, 'rfc'):
        return CUSTOMERS
    if _has(names, RatesImporter, 'day') and _has(names, RatesImporter, 'rate'):
        return RATES
    return None


def _kinds_of(inputs, report, unreadable_xml=INVOICES):
    """``{kind: [file names]}`` of the CSV and XML inputs; unknown headers are errors. An
    XML that cannot be read counts as ``unreadable_xml`` (the kind asked for), whose
    importer then says what is wrong with it."""
    found = {}
    for source in inputs:
        if source.is_xml:
            rep = looks_like_rep(source.fileobj)
            kind = unreadable_xml if rep is None else COMPLEMENTS if rep else INVOICES
            found.setdefault(kind, []).append(source.name)
        elif source.is_csv:
            kind = kind_of_header(read_header(source)) if source.encoding else None
            if kind is None:
                report.error(source.name, 1, _(
                    'No se reconoce el tipo de archivo por su encabezado; vea las columnas de '
                    'cada tipo en la documentación de archivos del ERP.'))
            else:
                found.setdefault(kind, []).append(source.name)
    return found


def detect_kind(files):
    """The kind of import ``files`` make (see :func:`run_import`), or None if unclear.

    The files must be seekable; they are left rewound.
    """
    inputs, problems = open_inputs(files)
    if problems:
        return None
    for source in inputs:
        if source.is_csv:
            source.scan()
    kinds = _kinds_of(inputs, ImportReport())
    for source in inputs:
        source.rewind()
    return next(iter(kinds)) if len(kinds) == 1 else None


# --- the import ---------------------------------------------------------------------------

def import_name(now, taken=()):
    """'20261130-011500-ab12': the UTC time and a random tail."""
    while True:
        name = f'{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}'
        if name not in taken:
            return name


def run_import(root, files, actor, kind=None, now=None, batch_done=None, progress=None,
               dry_run=False, settings=None):
    """Import ``files`` into the portal rooted at ``root``; return an :class:`ImportReport`.

    See the module docstring. ``files`` are ``(name, binary file[, seekable])``
    items; a file that cannot seek is first copied to a temporary file.
    """
    started = time.monotonic()
    now = now or clock.utcnow()
    inputs, problems = open_inputs(files)
    report = ImportReport(kind, [source.name for source in inputs], dry_run)
    for name, reason in problems:
        report.error(name, None, reason)
    if not inputs:
        report.error('', None, _('No se recibió ningún archivo.'))
    if kind is not None and kind not in KINDS:
        report.error('', None, _('Tipo de importación desconocido: ${kind}.',
                                 mapping={'kind': str(kind)[:30]}))
    if not report.ok:
        return _finish(report, started)

    scanned = _scan(inputs, progress)
    kind = report.kind = _choose_kind(kind, inputs, report)
    if not report.ok:
        return _finish(report, started)

    name = import_name(now, root.imports)
    job = Job(root, actor, now, report, inputs, name, batch_done, progress, settings)
    importer = IMPORTERS[kind](job)
    importer.prepare()
    if not report.ok:
        return _finish(report, started)

    job.set_progress_total(scanned + 2 * max(importer.progress_units(), 1))
    job.advance(scanned)
    try:
        importer.check()
        counts = job.planned
        if report.ok and not dry_run:
            job.phase = APPLY
            job.notes = []
            importer.apply()
            job.flush()
            counts = job.done
    finally:
        importer.close()
    job.finish_progress()
    report.created, report.updated, report.unchanged = (
        counts[CREATED], counts[UPDATED], counts[UNCHANGED])
    report.notes = list(job.notes)
    if report.ok and not dry_run:
        report.applied = list(job.applied)
    _finish(report, started)
    if report.ok and not dry_run:
        report.record = _record(job, report, inputs)
    return report


def _scan(inputs, progress):
    """Read every file once (size, digest, encoding); return the bytes read."""
    sizes = [_size_of(source) for source in inputs]
    # The whole import's work: this read, then the check and the apply of CSV and XML.
    total = max(sum(sizes) + 2 * sum(size for source, size in zip(inputs, sizes)
                                     if not source.is_pdf), 1)
    scanned = [0]

    def scanning(amount):
        scanned[0] += amount
        if progress is not None:
            progress(scanned[0], total)

    for source in inputs:
        source.scan(scanning)
    return scanned[0]


def _choose_kind(kind, inputs, report):
    """The kind asked for, checked against the files, or the one the files are."""
    found = _kinds_of(inputs, report, kind if kind in (INVOICES, COMPLEMENTS) else INVOICES)
    if not report.ok:
        return kind
    if kind is None:
        if len(found) > 1:
            report.error('', None, _(
                'Los archivos son de tipos distintos (${kinds}); impórtelos por separado.',
                mapping={'kinds': '; '.join(f'{spanish(KIND_LABELS[k])}: {", ".join(names)}'
                                            for k, names in sorted(found.items()))}))
        elif not found:
            report.error('', None, _(
                'Falta el archivo CSV o XML que describe los documentos; los PDF solos no se '
                'importan.'))
        else:
            kind = next(iter(found))
        return kind
    for other, names in found.items():
        if other != kind:
            for name in names:
                report.error(name, None, _(
                    'El archivo parece de ${other}, no de ${kind}.',
                    mapping={'other': spanish(KIND_LABELS[other]),
                             'kind': spanish(KIND_LABELS[kind])}))
    if not found:
        report.error('', None, _('Falta el archivo CSV o XML de la importación.'))
    return kind


def _size_of(source):
    stream = source.fileobj
    position = stream.seek(0, 2)
    stream.seek(0)
    return position


def _finish(report, started):
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _record(job, report, inputs):
    """The ImportRecord and its one ``erp.import`` audit entry."""
    record = ImportRecord(
        report.kind, job.now, job.actor,
        [(source.name, source.size, source.sha256) for source in inputs],
        created_count=report.created, updated_count=report.updated,
        unchanged_count=report.unchanged,
        warnings=[(source, line, spanish(reason)) for source, line, reason in report.warnings],
        warning_count=report.warning_count, rows=report.rows,
        notes=[spanish(note) for note in report.notes], seconds=report.seconds)
    job.root.imports.add(job.name, record)
    job.audit(AUDIT_IMPORT, record, '',
              {'kind': report.kind, 'created': report.created, 'updated': report.updated,
               'unchanged': report.unchanged, 'warnings': report.warning_count},
              ', '.join(source.name for source in inputs)[:1000])
    return record
