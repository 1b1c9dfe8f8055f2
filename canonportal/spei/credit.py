"""The one shape of an incoming SPEI transfer, whichever way it reached the portal.

SPEI makes a transfer unique by its operation date, its **ordering institution** and its
clave de rastreo (each bank numbers its own claves): :attr:`Transfer.key` is made of
those three. A statement that names neither the ordering bank nor a CLABE of the ordering
account gives an institution that is not known (``ND``).
"""
import dataclasses
import datetime
import re
from decimal import Decimal, InvalidOperation

from .. import dates
from . import clabes

#: Where a transfer was read from.
SOURCE_ABONO = 'abono'          # the receiving bank's deposit notification
SOURCE_CAMT053 = 'camt053'
SOURCE_MT940 = 'mt940'
SOURCE_CSV = 'csv'
SOURCE_CEP = 'cep'              # a CEP the customer gave ("ya pagué")

MAX_AMOUNT = Decimal('999999999999.99')
#: The ordering institution of a transfer whose statement does not say it.
UNKNOWN_INSTITUTION = 'ND'
MAX_CONCEPT = 210
#: A clave de rastreo: up to 30 letters and digits, unique per ordering bank and day.
TRACKING_KEY = re.compile(r'^[A-Za-z0-9]{1,30}$')
_ACCOUNT = re.compile(r'^[0-9]{10,18}$')
_REFERENCE_IN_TEXT = re.compile(r'(?<![0-9])([0-9]{7})(?![0-9])')


class TransferError(ValueError):
    """A transfer whose fields cannot be what a bank sent; ``args[0]`` says which, and
    ``field`` names the field (one of :class:`Transfer`'s) when it is one of them."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Transfer:
    """Money received by SPEI into one of the company's CLABEs."""

    tracking_key: str                  # clave de rastreo, given by the ordering bank
    operation_date: datetime.date      # SPEI's operation date
    amount: Decimal                    # MXN
    beneficiary_account: str           # the CLABE credited (ours)
    ordering_bank: str = ''            # Banxico participant code ('40012') when known
    ordering_account: str = ''
    ordering_name: str = ''
    ordering_rfc: str = ''
    concept: str = ''
    numeric_reference: str = ''
    settled_at: datetime.datetime = None
    source: str = ''

    def __post_init__(self):
        if not TRACKING_KEY.match(self.tracking_key or ''):
            raise TransferError('clave de rastreo: 1 to 30 letters and digits', 'tracking_key')
        if not isinstance(self.operation_date, datetime.date) or not (
                dates.EARLIEST <= self.operation_date <= dates.LATEST):
            raise TransferError('operation date: 2000 to 2100', 'operation_date')
        if not isinstance(self.amount, Decimal) or not Decimal('0.01') <= self.amount <= MAX_AMOUNT \
                or self.amount != self.amount.quantize(Decimal('0.01')):
            raise TransferError('amount: positive, in cents', 'amount')
        if not _ACCOUNT.match(self.beneficiary_account or ''):
            raise TransferError('beneficiary account: 10 to 18 digits', 'beneficiary_account')
        if self.ordering_account and not _ACCOUNT.match(self.ordering_account):
            raise TransferError('ordering account: 10 to 18 digits', 'ordering_account')
        object.__setattr__(self, 'concept', (self.concept or '')[:MAX_CONCEPT])
        object.__setattr__(self, 'ordering_name', (self.ordering_name or '')[:120])
        object.__setattr__(self, 'ordering_rfc', (self.ordering_rfc or '')[:13])

    @property
    def institution(self):
        """The ordering institution's 5-digit participant code ('40012'), or '' if unknown."""
        return institution_of(self.ordering_bank, self.ordering_account)

    @property
    def key(self):
        """Identifies the transfer in every source: operation date, clave de rastreo and
        ordering institution (``20261130-BNET0100261130000001-40012``)."""
        return transfer_key(self.operation_date, self.tracking_key, self.institution)

    @property
    def operation_prefix(self):
        """What the keys of every transfer of this date and clave start with."""
        return operation_prefix(self.operation_date, self.tracking_key)

    def copy_of(self, other):
        """Whether ``other`` (a Transfer) is this same transfer again: the same date, clave,
        amount and CLABE credited, and the same ordering institution (one side not knowing
        it, as some statements do not, does not make them differ)."""
        return (self.operation_prefix == other.operation_prefix and self.amount == other.amount
                and self.beneficiary_account == other.beneficiary_account
                and self.may_share_key(other))

    def may_share_key(self, other):
        """Whether ``other`` (same date and clave) may be of the same ordering institution."""
        mine, theirs = self.institution, other.institution
        return mine == theirs or not mine or not theirs

    def references(self):
        """The payment numbers the transfer may name: its numeric reference, else any
        7-digit number in its concept (customers type it there too)."""
        found = []
        for text in [self.numeric_reference] + _REFERENCE_IN_TEXT.findall(self.concept or ''):
            number = clabes.payment_of_reference(text)
            if number and number not in found:
                found.append(number)
        return found

    def as_dict(self):
        """Plain strings, for storing with the payment and showing to staff."""
        values = dataclasses.asdict(self)
        values['operation_date'] = self.operation_date.isoformat()
        values['amount'] = f'{self.amount:.2f}'
        values['settled_at'] = self.settled_at.isoformat() if self.settled_at else ''
        return values

    @classmethod
    def from_dict(cls, values, source=None):
        """The Transfer :meth:`as_dict` stored (TransferError when it cannot be one)."""
        try:
            day = datetime.date.fromisoformat(values.get('operation_date') or '')
            settled = values.get('settled_at') or ''
            settled_at = datetime.datetime.fromisoformat(settled) if settled else None
        except (TypeError, ValueError):
            raise TransferError('stored transfer: dates')
        return cls(
            tracking_key=values.get('tracking_key', ''), operation_date=day,
            amount=parse_amount(values.get('amount')),
            beneficiary_account=values.get('beneficiary_account', ''),
            ordering_bank=values.get('ordering_bank', ''),
            ordering_account=values.get('ordering_account', ''),
            ordering_name=values.get('ordering_name', ''),
            ordering_rfc=values.get('ordering_rfc', ''), concept=values.get('concept', ''),
            numeric_reference=values.get('numeric_reference', ''), settled_at=settled_at,
            source=values.get('source', '') if source is None else source)


def institution_of(ordering_bank, ordering_account=''):
    """The ordering institution's 5-digit participant code: the bank as given (5 digits, or
    a CLABE's 3-digit bank code), else the bank of a CLABE ordering account, else ''."""
    bank = (ordering_bank or '').strip()
    if len(bank) == 5 and bank.isascii() and bank.isdigit():
        return bank
    if len(bank) == 3 and bank.isascii() and bank.isdigit() and clabes.participant_code(bank):
        return clabes.participant_code(bank)
    account = (ordering_account or '').strip()
    if clabes.is_valid(account):
        return clabes.participant_code(account)
    return ''


def operation_prefix(operation_date, tracking_key):
    """``YYYYMMDD-CLAVE-``: the start of the keys of one date and clave de rastreo."""
    return f'{operation_date:%Y%m%d}-{tracking_key.upper()}-'


def transfer_key(operation_date, tracking_key, institution):
    """A transfer's key: operation date, clave de rastreo (upper case) and ordering
    institution, ``ND`` when not known."""
    return operation_prefix(operation_date, tracking_key) + (institution or UNKNOWN_INSTITUTION)


def parse_amount(text):
    """'36,870.80' / '36870.8' / 36870.8 → Decimal('36870.80'); TransferError otherwise."""
    if isinstance(text, float):
        text = repr(text)
    text = str(text if text is not None else '').strip().replace(',', '')
    if not re.match(r'^[0-9]{1,12}(\.[0-9]{1,2})?$', text):
        raise TransferError('amount', 'amount')
    try:
        return Decimal(text).quantize(Decimal('0.01'))
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        raise TransferError('amount', 'amount')
