"""The SAT's CFDI 4.0 catalogues a customer's fiscal data is checked against.

``c_RegimenFiscal`` (which regimes a persona física or moral may have), ``c_UsoCFDI``
(which usos each person type and regime may ask for) and c_CodigoPostal's codes are read
from the files in ``canonportal/data/``, taken by ``make sat-catalogs`` from the package data
of the PyPI package ``odoo-addon-l10n-mx-catalogs`` (the two CSVs unchanged, the postal
codes as the code column of its c_CodigoPostal) (OCA, LGPL-3; see data/SAT-CATALOGS.md and
``make sat-catalogs``, which takes them again from a newer release). Nothing here is
typed by hand. The person type comes from the RFC's length: 12 characters a persona
moral, 13 a persona física.
"""
import csv
import functools
import io
from importlib import resources

MORAL = 'moral'
FISICA = 'fisica'


def person_type(rfc):
    """:data:`MORAL` for a 12-character RFC, :data:`FISICA` for 13, else None."""
    return {12: MORAL, 13: FISICA}.get(len(rfc or ''))


def _rows(name):
    text = resources.files('canonportal').joinpath('data', name).read_text('utf-8')
    return list(csv.DictReader(io.StringIO(text)))


def _persons(row):
    return frozenset(kind for kind, column in ((FISICA, 'applies_to_natural_person'),
                                               (MORAL, 'applies_to_legal_person'))
                     if row[column].strip() == '1')


@functools.cache
def regimes():
    """``{code: (description, person types)}`` of c_RegimenFiscal, in the SAT's order."""
    return {row['code'].strip(): (row['name'].strip(), _persons(row))
            for row in _rows('sat_c_regimen_fiscal.csv')}


@functools.cache
def usos():
    """``{code: (description, person types, regime codes)}`` of c_UsoCFDI."""
    return {row['code'].strip(): (row['name'].strip().rstrip('.'), _persons(row),
                                  frozenset(c.strip() for c in
                                            row['applies_to_fiscal_regimes'].split(',')))
            for row in _rows('sat_c_uso_cfdi.csv')}


def regimes_for(person):
    """The regime codes a person of type ``person`` may have."""
    return [code for code, (_d, persons) in regimes().items() if person in persons]


def usos_for(person, regime=None):
    """The uso codes a person of type ``person`` (with ``regime``, if given) may ask for."""
    return [code for code, (_d, persons, regs) in usos().items()
            if person in persons and (regime is None or regime in regs)]


#: ``sat_c_codigo_postal.txt``: c_CodigoPostal's codes, one per line, sorted; each line is
#: five digits and a newline, so a code is found by bisecting the file's bytes.
_ZIP_LINE = 6


@functools.cache
def _zip_codes():
    return resources.files('canonportal').joinpath('data', 'sat_c_codigo_postal.txt').read_bytes()


def zip_exists(code):
    """Whether ``code`` (five digits) is a código postal of the SAT's c_CodigoPostal."""
    if len(code) != 5 or not code.isascii() or not code.isdigit():
        return False
    data, wanted = _zip_codes(), code.encode('ascii')
    low, high = 0, len(data) // _ZIP_LINE
    while low < high:
        middle = (low + high) // 2
        found = data[middle * _ZIP_LINE:middle * _ZIP_LINE + 5]
        if found == wanted:
            return True
        if found < wanted:
            low = middle + 1
        else:
            high = middle
    return False


def uso_fits(uso, regime, person):
    """Whether the SAT accepts uso de CFDI ``uso`` for a receiver with ``regime``."""
    entry = usos().get(uso)
    return entry is not None and person in entry[1] and regime in entry[2]
