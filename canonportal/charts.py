"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN.

The page's Content-Security-Policy forbids inline ``style`` attributes, so the
SVG uses presentation attributes only (``fill``, ``font-size``...). Every
segment carries a ``<title>`` (a tooltip and an accessible name) and
``data-*`` attributes with its raw numbers, and the chart as a whole has a
``<title>`` and ``<desc>``; pages show the same numbers in a table next to it
for readers that get nothing from a picture.

Usage::

    svg = stacked_bars(
        'chart-today', 'Pagos de hoy',
        categories=[('banamex', 'Citibanamex'), ('bbva', 'BBVA')],
        series=[('approved', 'Aprobado', '#2e7d32'), ('pending', 'Pendiente', '#b26a00')],
        values={('banamex', 'approved'): 3, ('bbva', 'pending'): 1})
    # in a Chameleon template: ${svg} (a Markup string is inserted as it is)
"""
from xml.sax.saxutils import escape, quoteattr


class Markup(str):
    """Text that is already safe markup: Chameleon inserts it as it is (``__html__``)."""

    def __html__(self):
        return str(self)


WIDTH = 600
LABEL_WIDTH = 150      # the category labels on the left
TOTAL_WIDTH = 60       # the total written after each bar
ROW_HEIGHT = 34
BAR_HEIGHT = 22
TOP = 34               # room for the chart's heading line (when shown)
LEGEND_ROW = 22
LEGEND_ITEM = 170
#: A segment narrower than this gets no number written inside (its <title> still has it).
MIN_LABELLED_WIDTH = 22
TEXT = '#222222'
AXIS = '#767676'


def _attr(value):
    return quoteattr(str(value))


def _number(value):
    return f'{value:g}' if isinstance(value, float) else str(value)


def stacked_bars(chart_id, title, categories, series, values, description='', empty_text='',
                 heading=True):
    """A horizontal stacked bar chart as SVG markup (a :class:`Markup` string).

    ``categories`` are ``(key, label)`` pairs, one bar each, top to bottom;
    ``series`` are ``(key, label, colour)`` triples, stacked left to right;
    ``values`` maps ``(category key, series key)`` to a number (missing = 0).
    ``chart_id`` must be unique in the page (it prefixes the ids the
    ``aria-labelledby`` reference uses). Labels are escaped here. ``heading``
    writes the title above the bars too (leave it out when the page has one).
    """
    categories = list(categories)
    series = list(series)
    totals = {key: sum(values.get((key, s[0]), 0) for s in series) for key, _ in categories}
    largest = max(totals.values(), default=0)
    used = [s for s in series if any(values.get((c, s[0]), 0) for c, _ in categories)]
    plot = WIDTH - LABEL_WIDTH - TOTAL_WIDTH
    legend_rows = -(-len(used) // max(1, WIDTH // LEGEND_ITEM)) if used else 0
    top = TOP if heading else 6
    height = top + max(1, len(categories)) * ROW_HEIGHT + legend_rows * LEGEND_ROW + 12
    title_id, desc_id = f'{chart_id}-title', f'{chart_id}-desc'

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={_attr(chart_id)} '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="sans-serif" '
        f'font-size="13">',
        f'<title id="{title_id}">{escape(str(title))}</title>',
        f'<desc id="{desc_id}">{escape(str(description))}</desc>',
    ]
    if heading:
        out.append(f'<text x="0" y="18" font-size="15" font-weight="bold" '
                   f'fill="{TEXT}">{escape(str(title))}</text>')
    if largest == 0 and empty_text:
        # Right of the bars' zero totals, which are drawn just past the axis.
        out.append(f'<text x="{LABEL_WIDTH + 40}" y="{top + 20}" fill="{AXIS}">'
                   f'{escape(str(empty_text))}</text>')
    for row, (key, label) in enumerate(categories):
        y = top + row * ROW_HEIGHT
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) // 2
        text_y = bar_y + BAR_HEIGHT // 2 + 5
        out.append(f'<g class="bar" data-category={_attr(key)} '
                   f'data-total={_attr(_number(totals[key]))}>')
        out.append(f'<text x="{LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end" '
                   f'fill="{TEXT}">{escape(str(label))}</text>')
        out.append(f'<line x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH}" y1="{y}" y2="{y + ROW_HEIGHT}" '
                   f'stroke="{AXIS}" stroke-width="1"/>')
        x = float(LABEL_WIDTH)
        for s_key, s_label, colour in series:
            value = values.get((key, s_key), 0)
            if not value:
                continue
            width = plot * value / largest
            out.append(
                f'<rect class="segment" x="{x:.1f}" y="{bar_y}" width="{width:.1f}" '
                f'height="{BAR_HEIGHT}" fill={_attr(colour)} data-category={_attr(key)} '
                f'data-series={_attr(s_key)} data-value={_attr(_number(value))}>'
                f'<title>{escape(f"{label} · {s_label}: {_number(value)}")}</title></rect>')
            if width >= MIN_LABELLED_WIDTH:
                out.append(f'<text x="{x + width / 2:.1f}" y="{text_y}" text-anchor="middle" '
                           f'fill="#ffffff" aria-hidden="true">{escape(_number(value))}</text>')
            x += width
        out.append(f'<text x="{x + 6:.1f}" y="{text_y}" fill="{TEXT}" '
                   f'font-weight="bold">{escape(_number(totals[key]))}</text>')
        out.append('</g>')
    legend_y = top + max(1, len(categories)) * ROW_HEIGHT + 8
    per_row = max(1, WIDTH // LEGEND_ITEM)
    for index, (s_key, s_label, colour) in enumerate(used):
        lx = (index % per_row) * LEGEND_ITEM
        ly = legend_y + (index // per_row) * LEGEND_ROW
        out.append(f'<g class="legend" data-series={_attr(s_key)}>'
                   f'<rect x="{lx}" y="{ly}" width="14" height="14" fill={_attr(colour)}/>'
                   f'<text x="{lx + 20}" y="{ly + 12}" fill="{TEXT}">'
                   f'{escape(str(s_label))}</text></g>')
    out.append('</svg>')
    return Markup('\n'.join(out))
