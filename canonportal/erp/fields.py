"""Reading one cell of an ERP file: RFCs, dates, amounts, rates, UUIDs, emails.

Every parser takes the cell's text and returns the value, or raises
:class:`FieldError` whose ``reason`` is a Spanish message (a translation
string) that the import report shows next to the file name and line.
Parsers are pure and cheap: they run twice per row of a million-row file.
"""
import datetime
import re
from decimal import Decimal, InvalidOperation

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.mx import rfc as stdnum_rfc

from ..clock import MEXICO_CITY
from ..i18n import _
from ..money import CENT, to_money, to_rate

#: RFCs SAT hands out to the general public and to foreigners without an RFC.
GENERIC_RFCS = ('XAXX010101000', 'XEXX010101000')

#: Currencies the portal can hold (see :mod:`canonportal.resources.invoice`), with the
#: ways ERPs write them.
CURRENCY_ALIASES = {
    'MXN': 'MXN', 'MN': 'MXN', 'M.N.': 'MXN', 'MXP': 'MXN', 'PESOS': 'MXN', 'PESO': 'MXN',
    'USD': 'USD', 'US$': 'USD', 'DLS': 'USD', 'DOLARES': 'USD', 'DÓLARES': 'USD',
}

#: Longest values CFDI 4.0 allows.
MAX_SERIE = 25
MAX_FOLIO = 40

_UUID = re.compile(r'[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}')
_NUMBER = re.compile(r'(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+')
_EMAIL = re.compile(r'[^@\s;,<>"]+@[^@\s;,<>"]+\.[A-Za-z]{2,}')
_ACCOUNT = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,29}')
_ACCOUNT_SEPARATORS = re.compile(r'[;|,\s]+')
_DOCUMENT_ID = re.compile(r'[^/\\\x00-\x1f\x7f]+')
_AMPM = re.compile(r'\s*([ap])\.?\s*m\.?\s*$', re.IGNORECASE)


class FieldError(ValueError):
    """A cell that cannot be read; ``reason`` says why, in Spanish."""

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


# --- RFC ---------------------------------------------------------------------------------

_rfc_cache = {}


def rfc(text):
    """``(rfc, warning)``: the RFC compacted and uppercase, and a warning or None.

    The format (and the date inside) must be valid; a failed check digit only
    warns, since about 1.5% of real RFCs fail it. The generic RFCs are accepted.
    """
    key = (text or '').strip().upper()
    cached = _rfc_cache.get(key)
    if cached is None:
        cached = _rfc_cache[key] = _check_rfc(key)
        if len(_rfc_cache) > 100_000:  # a customers file of that size: do not keep them all
            _rfc_cache.clear()
    value, warning, error = cached
    if error is not None:
        raise FieldError(error)
    return value, warning


def _check_rfc(text):
    if not text:
        return None, None, _('Falta el RFC.')
    compact = stdnum_rfc.compact(text)
    if compact in GENERIC_RFCS:
        return compact, None, None
    try:
        stdnum_rfc.validate(compact)
    except ValidationError:
        return None, None, _('El RFC ${rfc} no tiene un formato válido.', mapping={'rfc': text})
    try:
        stdnum_rfc.validate(compact, validate_check_digits=True)
    except InvalidChecksum:
        return compact, _('El dígito verificador del RFC ${rfc} no coincide; revise que esté '
                          'bien escrito.', mapping={'rfc': compact}), None
    except ValidationError:
        pass
    return compact, None, None


# --- dates -------------------------------------------------------------------------------

def day(text, column):
    """A date: ``2017-10-06``, ``06/10/2017`` or ``06-10-2017`` (day first, as in Mexico).

    A CFDI-style timestamp (``2017-10-06T10:30:00``) gives its date.
    """
    text = (text or '').strip()
    if not text:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    if len(text) >= 10 and text[4:5] == '-':
        if len(text) == 10 or text[10] in 'T ':
            try:
                return datetime.date.fromisoformat(text[:10])
            except ValueError:
                pass
    else:
        for pattern in ('%d/%m/%Y', '%d-%m-%Y'):
            try:
                return datetime.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    raise FieldError(_('«${column}»: la fecha «${text}» no es válida; use AAAA-MM-DD (por '
                       'ejemplo 2017-10-06) o DD/MM/AAAA.',
                       mapping={'column': column, 'text': text[:40]}))


def moment(text, column):
    """A point in time as an aware UTC datetime.

    ``2017-10-01 13:03:01``, ``2017-10-01T13:03``, ``01/10/2017 01:03:01 p.m.`` are
    Mexico City wall-clock times; an ISO time with an offset (``…-06:00``, ``…Z``)
    is taken as written.
    """
    text = (text or '').strip()
    if not text:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    value = None
    try:
        value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        clock = text
        meridian = _AMPM.search(clock)
        if meridian:
            clock = clock[:meridian.start()]
        for pattern in ('%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d-%m-%Y %H:%M:%S',
                        '%d-%m-%Y %H:%M'):
            if meridian:
                pattern = pattern.replace('%H', '%I') + ' %p'
                candidate = f'{clock} {meridian.group(1).upper()}M'
            else:
                candidate = clock
            try:
                value = datetime.datetime.strptime(candidate, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise FieldError(_('«${column}»: la fecha y hora «${text}» no es válida; use '
                           'AAAA-MM-DD HH:MM:SS (hora de la Ciudad de México).',
                           mapping={'column': column, 'text': text[:40]}))
    if value.tzinfo is None:
        value = value.replace(tzinfo=MEXICO_CITY)
    return value.astimezone(datetime.timezone.utc)


# --- amounts and rates -------------------------------------------------------------------

def _decimal(text):
    cleaned = text
    negative = False
    if cleaned[:1] in '-+':
        negative, cleaned = cleaned[0] == '-', cleaned[1:].lstrip()
    elif cleaned.startswith('(') and cleaned.endswith(')'):  # accounting negative
        negative, cleaned = True, cleaned[1:-1].strip()
    if cleaned.startswith('$'):
        cleaned = cleaned[1:].strip()
    if not cleaned or not _NUMBER.fullmatch(cleaned):
        return None, negative
    try:
        return Decimal(cleaned.replace(',', '')), negative
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        return None, negative


def amount(text, column):
    """A non-negative amount of money with at most 2 decimals (more only if zeros).

    ``1234.5``, ``1,234.50``, ``$1,234.50`` and ``1234.500000`` (as CFDI writes
    them) are read; negatives, exponents, ``NaN`` and decimal commas are refused.
    """
    text = (text or '').strip()
    if not text:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    value, negative = _decimal(text)
    if value is None:
        raise FieldError(_('«${column}»: «${text}» no es un importe válido; escriba por '
                           'ejemplo 1234.56.', mapping={'column': column, 'text': text[:40]}))
    if negative and value:
        raise FieldError(_('«${column}» no puede ser negativo (${text}).',
                           mapping={'column': column, 'text': text[:40]}))
    rounded = value.quantize(CENT)
    if rounded != value:
        raise FieldError(_('«${column}»: «${text}» tiene más de 2 decimales.',
                           mapping={'column': column, 'text': text[:40]}))
    return rounded


def cfdi_amount(text, column):
    """``(value, rounded)``: a CFDI amount (up to 6 decimals) rounded half up to cents."""
    text = (text or '').strip()
    if not text:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    value, negative = _decimal(text)
    if value is None or value.as_tuple().exponent < -6:
        raise FieldError(_('«${column}»: «${text}» no es un importe válido.',
                           mapping={'column': column, 'text': text[:40]}))
    if negative and value:
        raise FieldError(_('«${column}» no puede ser negativo (${text}).',
                           mapping={'column': column, 'text': text[:40]}))
    rounded = to_money(value)
    return rounded, rounded != value


def rate(text, strict=True):
    """``(rate, rounded)``: a positive USD→MXN rate with Banxico's 4 decimals.

    ``strict`` refuses more than 4 significant decimals (the FIX series); a
    CFDI's TipoCambio may carry 6, and is rounded half up with ``rounded`` true.
    """
    text = (text or '').strip()
    if not text:
        raise FieldError(_('Falta el tipo de cambio.'))
    value, negative = _decimal(text)
    if value is None or value.as_tuple().exponent < -6:
        raise FieldError(_('El tipo de cambio «${text}» no es válido; escriba por ejemplo '
                           '18.8869.', mapping={'text': text[:40]}))
    if negative or value <= 0:
        raise FieldError(_('El tipo de cambio debe ser mayor que cero (${text}).',
                           mapping={'text': text[:40]}))
    rounded = to_rate(value)
    if rounded != value and strict:
        raise FieldError(_('El tipo de cambio «${text}» tiene más de 4 decimales (el FIX de '
                           'Banxico tiene 4).', mapping={'text': text[:40]}))
    return rounded, rounded != value


def currency(text):
    """``MXN`` or ``USD`` (``M.N.``, ``Pesos``, ``DLS`` and the like are understood)."""
    key = (text or '').strip().upper()
    if not key:
        raise FieldError(_('Falta la moneda.'))
    value = CURRENCY_ALIASES.get(key)
    if value is None:
        raise FieldError(_('La moneda «${text}» no se admite; use MXN o USD.',
                           mapping={'text': key[:20]}))
    return value


# --- identifiers -------------------------------------------------------------------------

def uuid(text):
    """A CFDI folio fiscal: 36 hexadecimal characters with hyphens, uppercase."""
    value = (text or '').strip().upper()
    if not _UUID.fullmatch(value):
        raise FieldError(_('El UUID «${text}» no es válido (36 caracteres hexadecimales con '
                           'guiones).', mapping={'text': value[:60]}))
    return value


def serie_folio(serie, folio):
    """``(serie, folio)`` checked as CFDI allows them and as the tree can name them."""
    serie = (serie or '').strip()
    folio = (folio or '').strip()
    if not folio:
        raise FieldError(_('Falta el folio.'))
    if len(folio) > MAX_FOLIO or not _DOCUMENT_ID.fullmatch(folio) or folio.startswith(('@@', '++')) \
            or folio in ('.', '..'):
        raise FieldError(_('El folio «${text}» no es válido.', mapping={'text': folio[:60]}))
    if serie and (len(serie) > MAX_SERIE or not _DOCUMENT_ID.fullmatch(serie)
                  or serie.startswith(('@@', '++'))):
        raise FieldError(_('La serie «${text}» no es válida.', mapping={'text': serie[:60]}))
    return serie, folio


def document_id(text, column):
    """A name such as a statement id: no slashes or control characters."""
    value = (text or '').strip()
    if not value:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    if len(value) > 60 or not _DOCUMENT_ID.fullmatch(value) or value.startswith(('@@', '++')) \
            or value in ('.', '..'):
        raise FieldError(_('«${column}»: «${text}» no es válido.',
                           mapping={'column': column, 'text': value[:60]}))
    return value


def account(text):
    value = (text or '').strip()
    if not _ACCOUNT.fullmatch(value):
        raise FieldError(_('La cuenta «${text}» no es válida (letras, dígitos, punto o guion; '
                           'hasta 30).', mapping={'text': value[:40]}))
    return value


def accounts(text):
    """One or more ERP accounts separated by ``;``, ``|``, commas or spaces, in order."""
    parts = [part for part in _ACCOUNT_SEPARATORS.split((text or '').strip()) if part]
    if not parts:
        raise FieldError(_('Falta al menos una cuenta del ERP.'))
    values = []
    for part in parts:
        value = account(part)
        if value not in values:
            values.append(value)
    return tuple(values)


def email(text):
    """A contact email, lowercase, or None when the cell is empty."""
    value = (text or '').strip().lower()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise FieldError(_('El correo «${text}» no es válido.', mapping={'text': value[:80]}))
    return value


def payment_method(text):
    """``PUE``, ``PPD`` or None when empty."""
    value = (text or '').strip().upper()
    if not value:
        return None
    if value not in ('PUE', 'PPD'):
        raise FieldError(_('El método de pago «${text}» no es válido; use PUE o PPD.',
                           mapping={'text': value[:20]}))
    return value


def name(text, column, limit=254):
    value = ' '.join((text or '').split())
    if not value:
        raise FieldError(_('Falta «${column}».', mapping={'column': column}))
    if len(value) > limit:
        raise FieldError(_('«${column}» es demasiado largo (más de ${limit} caracteres).',
                           mapping={'column': column, 'limit': limit}))
    return value


__all__ = ['FieldError', 'GENERIC_RFCS', 'rfc', 'day', 'moment', 'amount', 'cfdi_amount',
           'rate', 'currency', 'uuid', 'serie_folio', 'document_id', 'account', 'accounts',
           'email', 'payment_method', 'name']
