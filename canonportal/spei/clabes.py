"""CLABEs and numeric references for SPEI payments.

A company that has a range of "CLABEs referenciadas" from its bank gives each
customer its own: the configured prefix (bank, plaza and the first digits of the
account) followed by the customer's number, padded to 17 digits, and the control
digit. A transfer to that CLABE is the customer's, reference or not. A company
without such a range configures one CLABE and relies on the reference.

The numeric reference (SPEI's "referencia numérica", up to 7 digits) is the
payment's own number, so it is unique while payments are numbered below 10,000,000.
"""
import clabe as clabe_lib

CLABE_LENGTH = 18
REFERENCE_DIGITS = 7


class ClabeError(ValueError):
    """A CLABE or prefix that cannot be one."""


def control_digit(first17):
    """The control digit of the 17 digits before it (weights 3, 7, 1; the ``clabe`` package)."""
    return clabe_lib.compute_control_digit(first17)


def is_valid(number):
    """Whether ``number`` is 18 digits with the right control digit and a known bank."""
    return (isinstance(number, str) and len(number) == CLABE_LENGTH and number.isascii()
            and number.isdigit() and clabe_lib.validate_clabe(number))


class ClabeRange:
    """The company's virtual CLABEs: ``prefix`` + customer number + control digit."""

    def __init__(self, prefix):
        if not (prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 16):
            raise ClabeError('the CLABE prefix is 6 to 16 digits (bank, plaza, account start)')
        if prefix[:3] not in clabe_lib.BANKS:
            raise ClabeError(f'the CLABE prefix starts with an unknown bank code {prefix[:3]}')
        self.prefix = prefix
        self.width = 17 - len(prefix)

    @property
    def capacity(self):
        """How many customers the range can number (1 to capacity)."""
        return 10 ** self.width - 1

    def clabe_for(self, number):
        """The CLABE of customer ``number`` (1-based)."""
        if not 0 < number <= self.capacity:
            raise ClabeError(f'customer number {number} is outside the CLABE range')
        first17 = f'{self.prefix}{number:0{self.width}d}'
        return first17 + control_digit(first17)

    def number_of(self, clabe):
        """The customer number a CLABE of this range stands for, or None."""
        if not is_valid(clabe) or not clabe.startswith(self.prefix):
            return None
        number = int(clabe[len(self.prefix):17])
        return number or None


def numeric_reference(payment_reference):
    """The 7-digit reference the customer types for payment ``payment_reference`` ('229')."""
    number = int(payment_reference)
    if not 0 < number < 10 ** REFERENCE_DIGITS:
        raise ValueError(f'payment {payment_reference} has no 7-digit reference')
    return f'{number:0{REFERENCE_DIGITS}d}'


def payment_of_reference(text):
    """The payment number a typed reference stands for ('0000229' → '229'), or None."""
    text = (text or '').strip()
    if not (text.isascii() and text.isdigit()) or len(text) > REFERENCE_DIGITS:
        return None
    number = int(text)
    return str(number) if number else None


def masked(account):
    """An account shown to the customer: its last 4 digits ('••••5678')."""
    account = (account or '').strip()
    return '••••' + account[-4:] if len(account) > 4 else account


def bank_name(clabe_or_code):
    """The bank's name from a CLABE's first 3 digits or a 5-digit participant code."""
    text = clabe_or_code or ''
    code = text if len(text) == 5 else clabe_lib.BANKS.get(text[:3], '')
    return clabe_lib.BANK_NAMES.get(code, '')


def participant_code(clabe):
    """Banxico's 5-digit participant code of the bank a CLABE belongs to ('40012')."""
    return clabe_lib.BANKS.get((clabe or '')[:3], '')


#: The RFC of the banks most transfers come from, by participant code: the payment
#: complement's RfcEmisorCtaOrd. Another bank's is left for the ERP operator to fill.
BANK_RFCS = {
    '40002': 'BNM840515VB1',   # Banamex
    '40012': 'BBA830831LJ2',   # BBVA México
    '40014': 'BSM970519DU8',   # Santander
    '40021': 'HMI950125KG8',   # HSBC
    '40072': 'BMN930209927',   # Banorte
}


def bank_rfc(participant):
    """The RFC of the bank with participant code ``participant`` ('40012'), or ''."""
    return BANK_RFCS.get(participant or '', '')
