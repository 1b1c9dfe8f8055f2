"""What the portal's PDFs share: the Spanish text when no request translates, and the
page of the one-page documents (the receipt, the SPEI instructions).

Those documents are US letter with 18 mm margins, a table of facts (a bold label, its
value) and a table of invoices under a grey header row. :mod:`.statement_pdf` uses
:func:`interpolate` and draws its own, denser page.
"""
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

#: The invoices table: grey header row in bold, a light grid, amounts to the right.
HEADED_GRID = (
    ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#ececec')),
    ('GRID', (0, 0), (-1, -1), 0.5, colors.HexColor('#bbbbbb')),
    ('ALIGN', (1, 1), (-1, -1), 'RIGHT'),
    ('FONTNAME', (0, 0), (-1, 0), 'Helvetica-Bold'),
)


def interpolate(message):
    """Translation when there is no request: the Spanish msgid with its mapping applied."""
    interpolate_message = getattr(message, 'interpolate', None)
    return interpolate_message() if interpolate_message else str(message)


def letter_document(buffer, title, author):
    """A US letter document with 18 mm margins writing into ``buffer``."""
    return SimpleDocTemplate(buffer, pagesize=letter, leftMargin=18 * mm, rightMargin=18 * mm,
                             topMargin=18 * mm, bottomMargin=18 * mm, title=title, author=author)


def facts_table(facts, style=()):
    """``[(label, value)]`` as two columns, the labels in bold; ``style`` adds commands."""
    return Table([[label, value] for label, value in facts], colWidths=[50 * mm, 110 * mm],
                 style=[('FONTNAME', (0, 0), (0, -1), 'Helvetica-Bold'), *style])


def headed_table(rows, widths):
    """``rows`` (the first one the header) under :data:`HEADED_GRID`."""
    table = Table(rows, colWidths=widths)
    table.setStyle(TableStyle(list(HEADED_GRID)))
    return table
