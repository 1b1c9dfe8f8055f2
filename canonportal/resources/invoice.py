"""Invoices (facturas) as the ERP issued them, with what is paid and in transit."""
from persistent import Persistent

from ..money import ZERO, to_money, to_rate, usd_to_mxn
from .ownership import AccountDocument, customer_of

MXN = 'MXN'
USD = 'USD'
CURRENCIES = (MXN, USD)

#: Invoice statuses shown to customers.
OPEN = 'abierta'
OVERDUE = 'vencida'
PAID = 'pagada'


def folio_order(folio):
    """Sort key of an invoice folio: text folios first, then numeric folios in numeric
    order (6212976 before 12330760). SALDOS and its open-invoice index use it."""
    return (len(folio), folio) if folio.isdigit() else (0, folio)


class Invoice(AccountDocument, Persistent):
    """One invoice of one customer account.

    Amounts are in the invoice's currency unless their name says MXN.
    ``reservations`` is a tuple of ``(payment reference, amount)`` kept on the
    invoice itself, so two payments reserving the same invoice write the same
    object and the ZODB makes one of them conflict and retry.
    """

    __name__ = None
    __parent__ = None
    serie = ''
    uuid = None
    cfdi_xml = None       # ZODB Blob with the CFDI XML, when the ERP sent it
    pdf = None            # ZODB Blob with the printed invoice
    reservations = ()     # ((payment reference, amount in invoice currency), ...)
    applied = ()          # ((payment reference, amount in invoice currency), ...)
    metodo_pago = None    # PUE / PPD from the CFDI
    complements = ()      # UUIDs of the payment complements (REP) that document it, oldest first

    def __init__(self, folio, account, issued, due, currency, amount,
                 exchange_rate=None, serie='', uuid=None, balance=None):
        if currency not in CURRENCIES:
            raise ValueError(f'unknown currency {currency!r}')
        if currency != MXN and exchange_rate is None:
            raise ValueError('a foreign-currency invoice needs its exchange rate')
        self.folio = str(folio)
        self.serie = serie or ''
        self.account = account
        self.issued = issued
        self.due = due
        self.currency = currency
        self.amount = to_money(amount)
        self.exchange_rate = to_rate(exchange_rate) if exchange_rate is not None else None
        self.uuid = uuid.upper() if uuid else None
        self.balance = to_money(balance if balance is not None else amount)

    @property
    def accounts(self):
        """The ERP accounts this invoice belongs to: its own."""
        return (self.account,)

    @property
    def key(self):
        """The invoice's name in the tree: folio, prefixed by serie if any."""
        return f'{self.serie}-{self.folio}' if self.serie else self.folio

    @property
    def title(self):
        return self.key

    @property
    def amount_mxn(self):
        """The invoice amount in MXN at the invoice's own exchange rate."""
        if self.currency == MXN:
            return self.amount
        return usd_to_mxn(self.amount, self.exchange_rate)

    @property
    def balance_mxn(self):
        """The pending balance in MXN at the invoice's own exchange rate."""
        if self.currency == MXN:
            return self.balance
        return usd_to_mxn(self.balance, self.exchange_rate)

    @property
    def in_transit(self):
        """Amount reserved by payments not yet applied by the ERP."""
        return sum((amount for _, amount in self.reservations), ZERO)

    @property
    def left_to_pay(self):
        """What a new payment may still take: balance minus what is in transit."""
        return max(self.balance - self.in_transit, ZERO)

    def set_balance(self, balance):
        """Set the balance the ERP reports, and keep the customer's open list current."""
        self.balance = to_money(balance)
        self.reindex()

    def reindex(self):
        """Tell the customer that ``balance`` or ``due`` changed, so SALDOS lists this invoice
        at its new place (or no longer). Call it after changing either directly."""
        customer = customer_of(self)
        if customer is not None:
            customer.invoice_changed(self)

    def status(self, today):
        if self.balance <= ZERO:
            return PAID
        if self.due is not None and self.due < today:
            return OVERDUE
        return OPEN

    def reserve(self, reference, amount):
        """Reserve ``amount`` of this invoice for payment ``reference``."""
        amount = to_money(amount)
        if amount <= ZERO:
            raise ValueError('a reservation must be positive')
        if amount > self.left_to_pay:
            raise ValueError('the reservation exceeds what is left to pay')
        self.reservations = self.reservations + ((reference, amount),)

    def release(self, reference):
        """Drop the reservation of payment ``reference`` (declined, expired...)."""
        self.reservations = tuple(r for r in self.reservations if r[0] != reference)

    def mark_applied(self, reference):
        """The ERP applied payment ``reference``: its amount is no longer in transit."""
        amount = self.reserved_by(reference)
        if amount > ZERO and reference not in {ref for ref, _ in self.applied}:
            self.applied = self.applied + ((reference, amount),)
        self.release(reference)
        return amount

    def next_instalment(self):
        """The instalment number (NumParcialidad) a new portal payment would take."""
        return 1 + len({ref for ref, _ in self.applied + self.reservations})

    def reserved_by(self, reference):
        return sum((a for ref, a in self.reservations if ref == reference), ZERO)
