"""canonportal.csvsafe: CSV cells a spreadsheet never runs as formulas."""
import csv
import io
from decimal import Decimal

import pytest

from canonportal.csvsafe import BOM, csv_bytes, escape_cell, writer


@pytest.mark.parametrize('value, expected', [
    ('=cmd|" /C calc"!A0', '\'=cmd|" /C calc"!A0'),
    ('+1', "'+1"),
    ('-1+2', "'-1+2"),
    ('@SUM(A1:A2)', "'@SUM(A1:A2)"),
    ('\t=1+1', "'\t=1+1"),
    ('\r=1+1', "'\r=1+1"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
])
def test_formula_starts_get_a_quote(value, expected):
    assert escape_cell(value) == expected


@pytest.mark.parametrize('value', [
    'BC-Banamex 063197', '228', '1233074', 'Canon Mexicana SA de CV', 'a=b', 'x+1',
    "'already quoted", '', 'Ñandú & Co.',
])
def test_ordinary_text_is_unchanged(value):
    assert escape_cell(value) == value


@pytest.mark.parametrize('value, expected', [
    (Decimal('18.31'), '18.31'),
    (Decimal('-18.31'), '-18.31'),     # numbers stay summable, negatives included
    (Decimal('1E+3'), '1000'),         # never an exponent
    (Decimal('0.00'), '0.00'),
    (42, '42'),
    (-7, '-7'),
    (None, ''),
])
def test_numbers_are_plain_decimals(value, expected):
    assert escape_cell(value) == expected


def test_other_values_are_text_and_escaped():
    assert escape_cell(True) == 'True'
    assert escape_cell(Decimal('NaN')) == 'NaN'
    assert escape_cell(-1.5) == "'-1.5"   # floats are not money: treated as text


def test_writer_escapes_every_cell():
    out = io.StringIO(newline='')
    safe = writer(out)
    safe.writerow(['=1+1', Decimal('18.31'), 'ok'])
    safe.writerows([['+a', '-b'], ['@c', None]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["'=1+1", '18.31', 'ok'], ["'+a", "'-b"], ["'@c", '']]


def test_csv_bytes_are_utf8_with_a_bom_and_crlf():
    body = csv_bytes(['Fecha de pago', 'Monto'], [['10/10/2017', Decimal('18.31')],
                                                    ['=evil', Decimal('1,000'.replace(',', ''))]])
    assert body.startswith(b'\xef\xbb\xbf')
    text = body.decode('utf-8')
    assert text.startswith(BOM)
    assert text[1:].split('\r\n') == ['Fecha de pago,Monto', '10/10/2017,18.31',
                                      "'=evil,1000", '']


def test_csv_bytes_quote_commas_quotes_and_newlines():
    body = csv_bytes(None, [['a,b', 'say "hi"', 'two\nlines']], bom=False)
    assert body == b'"a,b","say ""hi""","two\nlines"\r\n'
    assert list(csv.reader(io.StringIO(body.decode('utf-8'), newline=''))) == \
        [['a,b', 'say "hi"', 'two\nlines']]


def test_non_ascii_survives():
    body = csv_bytes(['Año', 'Facturación'], [['Ñ', 'é']])
    assert body.decode('utf-8-sig') == 'Año,Facturación\r\nÑ,é\r\n'
