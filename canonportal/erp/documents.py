"""The PDFs of an import: which invoice or statement each one belongs to.

A PDF is named in the CSV (column «Archivo PDF») or found by its file name:
the invoice's UUID, serie-folio, serie+folio, folio, ``RFC-serie-folio`` (the
portal's own download name) or the stem of its CFDI XML; a statement's id.
Names compare without regard to case. One PDF may belong to one document
only; a PDF nobody claims is reported as a warning and not stored.
"""
from ..i18n import _
from .job import NO_BLOBS

PDF_MAGIC = b'%PDF-'


class Documents:
    """The PDFs given to one import, and who claimed them during the check."""

    def __init__(self, job):
        self.job = job
        self.by_name = {f.name.lower(): f for f in job.pdfs}
        self.by_stem = {}
        for pdf in job.pdfs:
            self.by_stem.setdefault(pdf.stem.upper(), pdf)
        self.claims = {}

    def __bool__(self):
        return bool(self.by_name)

    def check_files(self):
        """Every PDF must look like a PDF; the storage must keep blobs."""
        for pdf in self.job.pdfs:
            if PDF_MAGIC not in pdf.head[:1024]:
                self.job.error(pdf, None, _('El archivo ${name} no es un PDF.',
                                            mapping={'name': pdf.name}))
        if self.job.pdfs and not self.job.supports_blobs():
            self.job.error(self.job.pdfs[0], None, NO_BLOBS)

    def named(self, name):
        """The PDF called ``name`` in a CSV cell (``.pdf`` may be left out), or None."""
        name = name.strip().lower()
        found = self.by_name.get(name)
        if found is None and not name.endswith('.pdf'):
            found = self.by_name.get(name + '.pdf')
        return found

    def find(self, stems):
        """The first PDF whose name (without .pdf) is one of ``stems``."""
        if not self.by_stem:
            return None
        for stem in stems:
            if stem:
                found = self.by_stem.get(stem.upper())
                if found is not None:
                    return found
        return None

    def claim(self, pdf, owner, source, line):
        """``owner`` (e.g. 'factura A-123') takes ``pdf``; a second owner is an error."""
        if pdf is None or not self.job.checking:
            return
        first = self.claims.setdefault(pdf.name, (owner, getattr(source, 'name', source), line))
        if first[0] != owner:
            self.job.error(source, line, _(
                'El PDF ${pdf} corresponde a más de un documento: ${first} (${file}, línea '
                '${line}) y ${second}.', mapping={'pdf': pdf.name, 'first': first[0],
                                                 'file': first[1], 'line': first[2] or '-',
                                                 'second': owner}))

    def warn_unclaimed(self):
        for pdf in self.job.pdfs:
            if pdf.name not in self.claims:
                self.job.warning(pdf, None, _(
                    'El PDF ${name} no corresponde a ningún documento del archivo; no se '
                    'importó.', mapping={'name': pdf.name}))


def invoice_stems(serie, folio, uuid, rfc, extra=()):
    """File names (without .pdf) that identify an invoice, most specific first."""
    key = f'{serie}-{folio}' if serie else folio
    stems = [uuid, key, f'{rfc}-{key}', f'{rfc}_{key}']
    if serie:
        stems += [f'{serie}{folio}', f'{serie}_{folio}', folio]
    stems.extend(extra)
    return stems
