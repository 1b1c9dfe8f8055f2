"""The receiving bank's deposit notification: one STP-style "abono" JSON per transfer.

The fields are STP's (``claveRastreo``, ``fechaOperacion`` as ``YYYYMMDD``,
``monto``, ``cuentaBeneficiario``, ``institucionOrdenante``, ``cuentaOrdenante``,
``nombreOrdenante``, ``rfcCurpOrdenante``, ``conceptoPago``, ``referenciaNumerica``,
``tsLiquidacion`` in epoch milliseconds, …). The sender signs the raw body with the
secret both sides keep (HMAC-SHA256, hex, in the ``X-Spei-Signature`` header as
``sha256=<hex>``); anything unsigned, wrongly signed, oversized or malformed is
refused before it is read: :class:`AbonoRejected` says whether the signature was
the problem (HTTP 403) or a signed body the portal cannot use (HTTP 400), and the
answer is "rechazado" either way. The sender retries until acknowledged, so the same
transfer may arrive twice: the portal de-duplicates on :attr:`Transfer.key`.
"""
import datetime
import hashlib
import hmac
import json

from .. import dates
from .credit import SOURCE_ABONO, Transfer, TransferError, parse_amount

SIGNATURE_HEADER = 'X-Spei-Signature'
#: A real abono is about 1 kB.
MAX_BODY = 16 * 1024
#: A notice is about today's money: its operation date may be this many days old, and
#: one day ahead (the bank's day may already have turned), nothing else.
MAX_AGE_DAYS = 400
#: A real abono is one flat JSON object: deeper nesting is refused before it is parsed.
MAX_NESTING = 4
#: What STP expects back for a deposit it may consider delivered.
ACKNOWLEDGEMENT = {'mensaje': 'confirmar'}
#: The answer to an abono the portal did not take (nothing was recorded).
REFUSAL = {'mensaje': 'rechazado'}
#: Epoch milliseconds of the first and last instants of the portal's dates.
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_FIRST_MS = int((datetime.datetime.combine(dates.EARLIEST, datetime.time(),
                                           datetime.timezone.utc) - _EPOCH).total_seconds()) * 1000
_LAST_MS = int((datetime.datetime.combine(dates.LATEST + datetime.timedelta(days=1), datetime.time(),
                                          datetime.timezone.utc) - _EPOCH).total_seconds()) * 1000 - 1


class AbonoRejected(Exception):
    """Not an authentic, usable abono; ``reason`` is safe to log. ``signed``: the
    signature was right (the body is what could not be used)."""

    def __init__(self, reason, signed=False):
        super().__init__(reason)
        self.reason = reason
        self.signed = signed

    @property
    def status(self):
        """HTTP 400 for a signed body the portal cannot use, 403 for anything unsigned."""
        return 400 if self.signed else 403


def signature(secret, body):
    """The header value that authenticates ``body``."""
    return 'sha256=' + hmac.new(secret.encode('utf-8'), body, hashlib.sha256).hexdigest()


def read_abono(secret, header_value, body, today):
    """Authenticate and parse one abono; a :class:`Transfer` or :class:`AbonoRejected`."""
    if not secret:
        raise AbonoRejected('no shared secret configured')
    if not isinstance(body, bytes) or len(body) > MAX_BODY:
        raise AbonoRejected('body too large')
    if not header_value or not hmac.compare_digest(header_value.strip().encode('ascii', 'replace'),
                                                   signature(secret, body).encode('ascii')):
        raise AbonoRejected('bad or missing signature')
    if nesting(body) > MAX_NESTING:
        raise AbonoRejected('nested too deep', signed=True)
    try:
        data = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AbonoRejected('not JSON', signed=True)
    if not isinstance(data, dict):
        raise AbonoRejected('not a JSON object', signed=True)
    try:
        transfer = transfer_from_abono(data)
    except TransferError as error:
        raise AbonoRejected(f'bad field: {error}', signed=True)
    earliest, latest = today - datetime.timedelta(days=MAX_AGE_DAYS), today + datetime.timedelta(days=1)
    if not earliest <= transfer.operation_date <= latest:
        raise AbonoRejected('operation date out of range', signed=True)
    if transfer.settled_at is not None and not earliest <= transfer.settled_at.date() <= latest:
        raise AbonoRejected('tsLiquidacion out of range', signed=True)
    return transfer


def nesting(body):
    """How deep the brackets of a JSON text go (those inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:          # backslash
                escaped = True
            elif byte == 0x22:          # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):      # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):      # ] }
            depth -= 1
    return deepest


def _text(data, name, default=''):
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TransferError(name)
    return str(value).strip()


def transfer_from_abono(data):
    """The :class:`Transfer` an abono's fields describe (TransferError when they cannot)."""
    try:
        operation_date = dates.parse(_text(data, 'fechaOperacion'), formats=('%Y%m%d',))
    except ValueError:      # BadDate, DateOutOfRange
        raise TransferError('fechaOperacion')
    settled_at = None
    stamp = _text(data, 'tsLiquidacion')
    if stamp:
        # Epoch milliseconds within the portal's dates (dates.EARLIEST … dates.LATEST).
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 15 \
                or not _FIRST_MS <= int(stamp) <= _LAST_MS:
            raise TransferError('tsLiquidacion')
        settled_at = _EPOCH + datetime.timedelta(milliseconds=int(stamp))
    amount = data.get('monto')
    if isinstance(amount, bool):
        raise TransferError('monto')
    reference = _text(data, 'referenciaNumerica')
    return Transfer(
        tracking_key=_text(data, 'claveRastreo'),
        operation_date=operation_date,
        amount=parse_amount(amount),
        beneficiary_account=_text(data, 'cuentaBeneficiario'),
        ordering_bank=_text(data, 'institucionOrdenante'),
        ordering_account=_text(data, 'cuentaOrdenante'),
        ordering_name=_text(data, 'nombreOrdenante'),
        ordering_rfc=_text(data, 'rfcCurpOrdenante'),
        concept=_text(data, 'conceptoPago'),
        numeric_reference=reference if reference != '0' else '',
        settled_at=settled_at,
        source=SOURCE_ABONO,
    )


def abono_body(transfer, company='CANON', abono_id=1):
    """An abono for ``transfer`` as the bank would post it (the sandbox and tests use it)."""
    # Without a settlement time: noon of the operation day in Mexico City (18:00 UTC).
    settled = transfer.settled_at or datetime.datetime.combine(
        transfer.operation_date, datetime.time(18), datetime.timezone.utc)
    return json.dumps({
        'id': abono_id,
        'fechaOperacion': int(transfer.operation_date.strftime('%Y%m%d')),
        'institucionOrdenante': int(transfer.ordering_bank or 0),
        'institucionBeneficiaria': 90646,
        'claveRastreo': transfer.tracking_key,
        'monto': float(transfer.amount),
        'nombreOrdenante': transfer.ordering_name,
        'tipoCuentaOrdenante': 40,
        'cuentaOrdenante': transfer.ordering_account,
        'rfcCurpOrdenante': transfer.ordering_rfc or 'ND',
        'nombreBeneficiario': company,
        'tipoCuentaBeneficiario': 40,
        'cuentaBeneficiario': transfer.beneficiary_account,
        'rfcCurpBeneficiario': 'ND',
        'conceptoPago': transfer.concept,
        'referenciaNumerica': int(transfer.numeric_reference or 0),
        'empresa': company,
        'tipoPago': 1,
        'tsLiquidacion': str(int(settled.timestamp() * 1000)),
    }, ensure_ascii=False).encode('utf-8')
