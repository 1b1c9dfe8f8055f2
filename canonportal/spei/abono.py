"""The receiving bank's deposit notification: one STP-style "abono" JSON per transfer.

The fields are STP's (``claveRastreo``, ``fechaOperacion`` as ``YYYYMMDD``,
``monto``, ``cuentaBeneficiario``, ``institucionOrdenante``, ``cuentaOrdenante``,
``nombreOrdenante``, ``rfcCurpOrdenante``, ``conceptoPago``, ``referenciaNumerica``,
``tsLiquidacion`` in epoch milliseconds, …). The sender signs the raw body with the
secret both sides keep (HMAC-SHA256, hex, in the ``X-Spei-Signature`` header as
``sha256=<hex>``); anything unsigned, wrongly signed, oversized or malformed is
refused before it is read. The sender retries until acknowledged, so the same
transfer may arrive twice: the portal de-duplicates on :attr:`Transfer.key`.
"""
import datetime
import hashlib
import hmac
import json

from .transfers import SOURCE_ABONO, Transfer, TransferError, parse_amount

SIGNATURE_HEADER = 'X-Spei-Signature'
#: A real abono is about 1 kB.
MAX_BODY = 16 * 1024
#: A notice is about today's money: its operation date may be this many days old, and
#: one day ahead (the bank's day may already have turned), nothing else.
MAX_AGE_DAYS = 400
#: What STP expects back for a deposit it may consider delivered.
ACKNOWLEDGEMENT = {'mensaje': 'confirmar'}


class AbonoRejected(Exception):
    """Not an authentic, well-formed abono; ``reason`` is safe to log."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def signature(secret, body):
    """The header value that authenticates ``body``."""
    return 'sha256=' + hmac.new(secret.encode('utf-8'), body, hashlib.sha256).hexdigest()


def read_abono(secret, header_value, body, today=None):
    """Authenticate and parse one abono; a :class:`Transfer` or :class:`AbonoRejected`."""
    if not secret:
        raise AbonoRejected('no shared secret configured')
    if not isinstance(body, bytes) or len(body) > MAX_BODY:
        raise AbonoRejected('body too large')
    if not header_value or not hmac.compare_digest(header_value.strip().encode('ascii', 'replace'),
                                                   signature(secret, body).encode('ascii')):
        raise AbonoRejected('bad or missing signature')
    try:
        data = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise AbonoRejected('not JSON')
    if not isinstance(data, dict):
        raise AbonoRejected('not a JSON object')
    try:
        transfer = transfer_from_abono(data)
    except TransferError as error:
        raise AbonoRejected(f'bad field: {error}')
    today = today or datetime.date.today()
    if not today - datetime.timedelta(days=MAX_AGE_DAYS) <= transfer.operation_date <= \
            today + datetime.timedelta(days=1):
        raise AbonoRejected('operation date out of range')
    return transfer


def _text(data, name, default=''):
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TransferError(name)
    return str(value).strip()


def transfer_from_abono(data):
    """The :class:`Transfer` an abono's fields describe (TransferError when they cannot)."""
    day = _text(data, 'fechaOperacion')
    try:
        operation_date = datetime.datetime.strptime(day, '%Y%m%d').date()
    except ValueError:
        raise TransferError('fechaOperacion')
    settled_at = None
    stamp = _text(data, 'tsLiquidacion')
    if stamp:
        if not stamp.isdigit() or len(stamp) > 15:
            raise TransferError('tsLiquidacion')
        settled_at = datetime.datetime.fromtimestamp(int(stamp) / 1000, datetime.timezone.utc)
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
    settled = transfer.settled_at or datetime.datetime.now(datetime.timezone.utc)
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
