"""Server-drawn SVG charts: well-formed, proportional, labelled, escaped, CSP-friendly."""
from lxml import etree

from canonportal.charts import Markup, stacked_bars

SVG = '{http://www.w3.org/2000/svg}'
BANKS = [('banamex', 'Citibanamex'), ('bbva', 'BBVA Bancomer')]
STATES = [('approved', 'Aprobado', '#2e7d32'), ('pending', 'Pendiente', '#8a5a00'),
          ('review', 'En revisión', '#c62828')]


def parse(markup):
    return etree.fromstring(str(markup).encode('utf-8'))


def segments(svg):
    return [rect for rect in svg.iter(SVG + 'rect') if rect.get('class') == 'segment']


def test_one_segment_per_nonzero_value_with_its_number_and_title():
    svg = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {
        ('banamex', 'approved'): 6, ('banamex', 'pending'): 2, ('bbva', 'review'): 4,
        ('bbva', 'pending'): 0}))
    found = {(r.get('data-category'), r.get('data-series')): r for r in segments(svg)}
    assert set(found) == {('banamex', 'approved'), ('banamex', 'pending'), ('bbva', 'review')}
    assert found[('banamex', 'approved')].find(SVG + 'title').text == 'Citibanamex · Aprobado: 6'
    assert found[('bbva', 'review')].get('fill') == '#c62828'
    assert [r.get('data-value') for r in found.values()] == ['6', '2', '4']


def test_widths_are_proportional_and_segments_stack_without_gaps():
    svg = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {
        ('banamex', 'approved'): 6, ('banamex', 'pending'): 2, ('bbva', 'review'): 4}))
    rects = segments(svg)
    width = {(r.get('data-category'), r.get('data-series')): float(r.get('width')) for r in rects}
    longest = width[('banamex', 'approved')] + width[('banamex', 'pending')]
    assert abs(width[('banamex', 'approved')] / width[('banamex', 'pending')] - 3) < 0.01
    assert abs(width[('bbva', 'review')] / longest - 0.5) < 0.01
    first, second = rects[0], rects[1]
    assert abs(float(first.get('x')) + float(first.get('width')) - float(second.get('x'))) < 0.2
    totals = {g.get('data-category'): g.get('data-total') for g in svg.iter(SVG + 'g')
              if g.get('class') == 'bar'}
    assert totals == {'banamex': '8', 'bbva': '4'}


def test_accessible_name_and_description():
    svg = parse(stacked_bars('pagos-hoy', 'Pagos de hoy', BANKS, STATES,
                             {('bbva', 'approved'): 1}, description='BBVA: Aprobado 1'))
    assert svg.get('role') == 'img'
    assert svg.get('aria-labelledby') == 'pagos-hoy-title pagos-hoy-desc'
    assert svg.find(SVG + 'title').get('id') == 'pagos-hoy-title'
    assert svg.find(SVG + 'title').text == 'Pagos de hoy'
    assert svg.find(SVG + 'desc').text == 'BBVA: Aprobado 1'


def test_the_legend_lists_only_series_that_appear():
    svg = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {('bbva', 'review'): 1}))
    legend = [g.get('data-series') for g in svg.iter(SVG + 'g') if g.get('class') == 'legend']
    assert legend == ['review']


def test_labels_are_escaped():
    svg_text = stacked_bars('c', 'A <b>&</b>', [('x', '<script>alert(1)</script>')],
                            [('s', 'S"\'<', '#000000')], {('x', 's'): 3})
    assert '<script>' not in svg_text and '<b>' not in svg_text
    svg = parse(svg_text)
    labels = [t.text for t in svg.iter(SVG + 'text')]
    assert '<script>alert(1)</script>' in labels and 'A <b>&</b>' in labels


def test_an_empty_chart_says_so():
    svg = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {}, empty_text='Ningún pago.'))
    assert segments(svg) == []
    assert 'Ningún pago.' in [t.text for t in svg.iter(SVG + 'text')]


def test_no_inline_styles_or_scripts_for_the_content_security_policy():
    markup = stacked_bars('c', 'Pagos', BANKS, STATES, {('banamex', 'approved'): 2})
    svg = parse(markup)
    for element in svg.iter():
        assert 'style' not in element.attrib
        assert not any(name.startswith('on') for name in element.attrib)
        assert element.tag not in (SVG + 'script', SVG + 'style', SVG + 'foreignObject')


def test_the_heading_can_be_left_to_the_page():
    with_heading = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {}))
    without = parse(stacked_bars('c', 'Pagos', BANKS, STATES, {}, heading=False))
    assert 'Pagos' in [t.text for t in with_heading.iter(SVG + 'text')]
    assert 'Pagos' not in [t.text for t in without.iter(SVG + 'text')]
    assert without.find(SVG + 'title').text == 'Pagos'


def test_markup_goes_into_templates_unescaped():
    markup = stacked_bars('c', 'Pagos', BANKS, STATES, {})
    assert isinstance(markup, Markup) and markup.__html__() == str(markup)
