"""The files of one import: names, sizes, digests, encodings, and CSV tables read as a stream.

An import reads each CSV twice (validate, then apply) without loading it:
:class:`InputFile` keeps a seekable binary file (spooled to a temporary file
when the caller's is not seekable) and :meth:`Table.rows` yields one row at
a time with its line number.
"""
import codecs
import csv
import dataclasses
import hashlib
import io
import operator
import os
import re
import shutil
import tempfile
import unicodedata

from ..csvdialect import sniff_delimiter
from ..i18n import _

CHUNK = 1024 * 1024
SPOOL_LIMIT = 16 * 1024 * 1024

CSV_EXTENSIONS = ('.csv', '.txt', '.tsv')
XML_EXTENSIONS = ('.xml',)
PDF_EXTENSIONS = ('.pdf',)

#: csv's own limit is 128 KiB; a cell longer than this is not ERP data.
csv.field_size_limit(1024 * 1024)


def base_name(name):
    """The file's own name, without any folder a browser or a shell put before it."""
    return re.split(r'[\\/]', name or '')[-1].strip()


class InputFile:
    """One file of an import, re-readable from the start."""

    def __init__(self, name, fileobj):
        self.name = name
        self.stem, self.extension = os.path.splitext(name)
        self.extension = self.extension.lower()
        self.fileobj = fileobj
        self.size = 0
        self.sha256 = ''
        self.head = b''
        self.encoding = None
        self.encoding_warning = None

    @property
    def is_csv(self):
        return self.extension in CSV_EXTENSIONS

    @property
    def is_xml(self):
        return self.extension in XML_EXTENSIONS

    @property
    def is_pdf(self):
        return self.extension in PDF_EXTENSIONS

    def rewind(self):
        self.fileobj.seek(0)
        return self.fileobj

    def read_all(self):
        return self.rewind().read()

    def scan(self, progress=None):
        """Size, SHA-256, first bytes and (for CSV) the text encoding, in one read."""
        digest = hashlib.sha256()
        utf8 = codecs.getincrementaldecoder('utf-8')() if self.is_csv else None
        cp1252 = codecs.getincrementaldecoder('cp1252')() if self.is_csv else None
        size = 0
        head = b''
        stream = self.rewind()
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            if len(head) < 4096:
                head += chunk[:4096 - len(head)]
            digest.update(chunk)
            size += len(chunk)
            if utf8 is not None:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = None
            if cp1252 is not None and utf8 is None:
                try:
                    cp1252.decode(chunk)
                except UnicodeDecodeError:
                    cp1252 = None
            if progress is not None:
                progress(len(chunk))
        self.size, self.sha256, self.head = size, digest.hexdigest(), head
        if self.is_csv:
            self.encoding, self.encoding_warning = _choose_encoding(head, utf8, cp1252)
        self.rewind()
        return self


def _choose_encoding(head, utf8, cp1252):
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, else Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return 'utf-16', None
    if utf8 is not None:
        try:
            utf8.decode(b'', final=True)
            return 'utf-8-sig', None
        except UnicodeDecodeError:
            pass
    if cp1252 is not None:
        return 'cp1252', _('El archivo no está en UTF-8; se leyó como Windows-1252 (ANSI).')
    return 'latin-1', _('El archivo no está en UTF-8; se leyó como ISO-8859-1 (Latin-1).')


def open_inputs(files):
    """:class:`InputFile` objects for ``(name, fileobj[, seekable])`` items.

    Returns ``(inputs, problems)``; ``problems`` are ``(name, reason)`` pairs
    for unnamed, repeated or unsupported files.
    """
    inputs, problems, seen = [], [], set()
    for item in files:
        name, fileobj = item[0], item[1]
        seekable = item[2] if len(item) > 2 else None
        name = base_name(name)
        if not name:
            problems.append(('', _('Un archivo no tiene nombre.')))
            continue
        if name.lower() in seen:
            problems.append((name, _('El archivo ${name} se dio dos veces.',
                                     mapping={'name': name})))
            continue
        seen.add(name.lower())
        if not _seekable(fileobj, seekable):
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)
            shutil.copyfileobj(fileobj, spool, CHUNK)
            fileobj = spool
        inputs.append(InputFile(name, fileobj))
        if not (inputs[-1].is_csv or inputs[-1].is_xml or inputs[-1].is_pdf):
            problems.append((name, _('El archivo ${name} no es CSV, XML ni PDF.',
                                     mapping={'name': name})))
    return inputs, problems


def _seekable(fileobj, declared):
    if declared is False:
        return False
    try:
        return fileobj.seekable() if hasattr(fileobj, 'seekable') else declared is True
    except (OSError, ValueError):
        return False


# --- CSV tables --------------------------------------------------------------------------

def normalize_header(text):
    """'Razón Social ' → 'razon social', 'R.F.C.' → 'rfc': no accents or dots, lowercase,
    words separated by single spaces."""
    text = unicodedata.normalize('NFKD', (text or '').replace('\ufeff', '').replace('.', ''))
    text = text.encode('ascii', 'ignore').decode('ascii').lower()
    return ' '.join(re.split(r'[^a-z0-9]+', text)).strip()


@dataclasses.dataclass(frozen=True)
class Column:
    """A column of an ERP file: its field, the header written in docs, accepted aliases."""

    field: str
    header: str
    aliases: tuple = ()
    required: bool = False

    @property
    def names(self):
        return {normalize_header(self.header)} | {normalize_header(a) for a in self.aliases}


class Table:
    """A CSV file read against a list of :class:`Column`.

    ``indexes`` gives, per column, the position of its cell (or None when the
    file lacks that optional column); ``problems`` lists missing required
    columns and repeated headers; ``unknown`` the headers nobody reads.
    """

    def __init__(self, source, columns):
        self.source = source
        self.columns = tuple(columns)
        self.header = read_header(source)
        self.width = len(self.header)
        self.problems = []
        self.unknown = []
        by_name = {}
        for column in self.columns:
            for name in column.names:
                by_name[name] = column
        found = {}
        for position, title in enumerate(self.header):
            column = by_name.get(normalize_header(title))
            if column is None:
                if title.strip():
                    self.unknown.append(title.strip())
                continue
            if column.field in found:
                self.problems.append(_('La columna «${column}» aparece dos veces.',
                                       mapping={'column': column.header}))
                continue
            found[column.field] = position
        for column in self.columns:
            if column.required and column.field not in found:
                self.problems.append(_('Falta la columna «${column}».',
                                       mapping={'column': column.header}))
        self.indexes = tuple(found.get(column.field) for column in self.columns)

    def has(self, field):
        return any(c.field == field and i is not None for c, i in zip(self.columns, self.indexes))

    def rows(self, progress=None, every=2000):
        """``(line, cells)`` for each non-empty row, ``cells`` in the order of ``columns``.

        A row with more cells than the header yields ``cells=None``; missing
        trailing cells read as empty.
        """
        width = self.width
        # One C-level itemgetter per row; absent columns read the padding cell at ``width``.
        getter = operator.itemgetter(*[width if i is None else i for i in self.indexes])
        padding = [''] * (width + 1)
        raw = self.source.rewind()
        text = io.TextIOWrapper(raw, encoding=self.source.encoding, newline='')
        try:
            reader = csv.reader(text, delimiter=sniff_delimiter(text.readline()))
            count = 0
            last = 0
            for cells in reader:
                if not any(cells):
                    continue
                size = len(cells)
                if size > width:
                    if any(c.strip() for c in cells[width:]):
                        yield reader.line_num + 1, None
                        continue
                    del cells[width:]
                    size = width
                cells.extend(padding[size:])
                # line_num counts from the line after the header, read apart.
                yield reader.line_num + 1, getter(cells)
                count += 1
                if progress is not None and count % every == 0:
                    position = raw.tell()
                    progress(position - last)
                    last = position
            if progress is not None:
                progress(self.source.size - last)
        finally:
            text.detach()


def read_header(source):
    """The header cells of a CSV ``source`` (an :class:`InputFile`)."""
    raw = source.rewind()
    text = io.TextIOWrapper(raw, encoding=source.encoding, newline='')
    try:
        first = text.readline()
    finally:
        text.detach()
    if not first.strip():
        return []
    return next(csv.reader([first], delimiter=sniff_delimiter(first)), [])
