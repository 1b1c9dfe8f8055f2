"""The one shape of an incoming SPEI transfer, whichever way it reached the portal."""
import dataclasses
import datetime
import re
from decimal import Decimal, InvalidOperation

from . import clabes

#: Where a transfer was read from.
SOURCE_ABONO = 'abono'          # the receiving bank's deposit notification
SOURCE_CAMT053 = 'camt053'
SOURCE_MT940 = 'mt940'
SOURCE_CSV = 'csv'
SOURCE_CEP = 'cep'              # a CEP the customer gave ("ya pagué")

MAX_AMOUNT = Decimal('999999999999.99')
#: Operation dates a transfer may carry (the portal's own date range).
FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2100, 12, 31)
MAX_CONCEPT = 210
_TRACKING_KEY = re.compile(r'^[A-Za-z0-9]{1,30}$')
_ACCOUNT = re.compile(r'^[0-9]{10,18}$')
_REFERENCE_IN_TEXT = re.compile(r'(?<![0-9])([0-9]{7})(?![0-9])')


class TransferError(ValueError):
    """A transfer whose fields cannot be what a bank sent; ``args[0]`` says which."""


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
        if not _TRACKING_KEY.match(self.tracking_key or ''):
            raise TransferError('clave de rastreo: 1 to 30 letters and digits')
        if not isinstance(self.operation_date, datetime.date) or not (
                FIRST_DAY <= self.operation_date <= LAST_DAY):
            raise TransferError('operation date: 2000 to 2100')
        if not isinstance(self.amount, Decimal) or not Decimal('0.01') <= self.amount <= MAX_AMOUNT \
                or self.amount != self.amount.quantize(Decimal('0.01')):
            raise TransferError('amount: positive, in cents')
        if not _ACCOUNT.match(self.beneficiary_account or ''):
            raise TransferError('beneficiary account: 10 to 18 digits')
        if self.ordering_account and not _ACCOUNT.match(self.ordering_account):
            raise TransferError('ordering account: 10 to 18 digits')
        object.__setattr__(self, 'concept', (self.concept or '')[:MAX_CONCEPT])
        object.__setattr__(self, 'ordering_name', (self.ordering_name or '')[:120])
        object.__setattr__(self, 'ordering_rfc', (self.ordering_rfc or '')[:13])

    @property
    def key(self):
        """Identifies the transfer in every source: operation date and clave de rastreo
        (unique per ordering bank and day; statements do not always name the bank)."""
        return f'{self.operation_date:%Y%m%d}-{self.tracking_key.upper()}'

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


def parse_amount(text):
    """'36,870.80' / '36870.8' / 36870.8 → Decimal('36870.80'); TransferError otherwise."""
    if isinstance(text, float):
        text = repr(text)
    text = str(text if text is not None else '').strip().replace(',', '')
    if not re.match(r'^[0-9]{1,12}(\.[0-9]{1,2})?$', text):
        raise TransferError('amount')
    try:
        return Decimal(text).quantize(Decimal('0.01'))
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        raise TransferError('amount')
