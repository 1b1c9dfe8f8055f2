"""CSV that spreadsheets open safely: UTF-8 with a BOM and no formula injection.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some spreadsheets skip before reading a formula) is
run as a formula by Excel and LibreOffice. Any text we did not produce
ourselves (bank references, names, notes) may start that way, so text cells
get a leading single quote, which makes the spreadsheet show them as text.

Numbers (``int`` and ``Decimal``) are written as plain decimals and never
escaped, so a column of amounts, negative ones included, can still be summed.

Usage::

    body = csv_bytes(['Fecha', 'Monto'], rows)          # bytes with the BOM
    # or, writing to a text stream:
    out = io.StringIO()
    w = writer(out)
    w.writerow(['Fecha', 'Monto'])
    w.writerows(rows)
"""
import csv
import io
from decimal import Decimal

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ('=', '+', '-', '@', '\t', '\r')

#: The byte order mark Excel needs to read a CSV as UTF-8.
BOM = '\ufeff'


def escape_cell(value):
    """Return ``value`` as the text to write in a CSV cell.

    ``None`` becomes an empty cell; ``int`` and ``Decimal`` become plain
    decimals (``Decimal('18.31')`` → ``'18.31'``, never an exponent); any
    other value becomes text, prefixed with ``'`` if it starts like a formula.
    """
    if value is None:
        return ''
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, 'f')
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`escape_cell`."""

    def __init__(self, stream, dialect='excel', **fmtparams):
        self._writer = csv.writer(stream, dialect=dialect, **fmtparams)

    def writerow(self, row):
        return self._writer.writerow([escape_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(stream, dialect='excel', **fmtparams):
    """A :class:`SafeWriter` on a text stream (open files with ``newline=''``)."""
    return SafeWriter(stream, dialect=dialect, **fmtparams)


def csv_bytes(header, rows, bom=True):
    """The whole CSV as UTF-8 bytes, starting with the BOM unless ``bom`` is false.

    ``header`` is a sequence of column titles (or None for no header row).
    """
    out = io.StringIO(newline='')
    safe = writer(out)
    if header is not None:
        safe.writerow(header)
    safe.writerows(rows)
    return ((BOM if bom else '') + out.getvalue()).encode('utf-8')
