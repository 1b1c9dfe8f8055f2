"""SPEI transfers as a way to pay, behind the same interface as the card banks.

There is no bank page to send the customer to: "starting" a SPEI payment sends
the browser to the portal's own return address, whose result page shows the
payment instructions (beneficiary, CLABE, exact amount, numeric reference),
and "Continuar el pago" shows them again. The money arrives later, by the
receiving bank's deposit notification (:meth:`SpeiGateway.read_abono`) or in a
bank statement; the portal matches it (:mod:`canonportal.payments.transfers`)
and proves it with Banxico's CEP (:attr:`SpeiGateway.cep`).

Settings::

    spei.clabe_prefix = 6461801570      # the range of virtual CLABEs (bank, plaza, account start)
    spei.clabe =                        # or: the one CLABE of a company without a range
    spei.beneficiary = Canon Mexicana SA de CV
    spei.bank = STP
    spei.bank_rfc =                     # our bank's RFC, for the payment complement
    spei.notification_secret = env:CANONPORTAL_SPEI_SECRET
    spei.deadline_business_days = 3
    spei.cep_url = https://www.banxico.org.mx/cep
    spei.cep_review_after_minutes = 1440
    spei.cep_max_queries_per_minute = 20    # per process: Banxico blocks who asks too often
"""
import datetime

from .. import clock
from ..bankdays import business_deadline
from ..spei import clabes
from ..spei.abono import SIGNATURE_HEADER, read_abono
from ..spei.cep import BANXICO_URL, DEFAULT_MAX_QUERIES, CepClient, QueryLimit
from .base import Gateway, StartResult, header, reject, translatable as _

NAME = 'spei'

DEFAULT_DEADLINE_DAYS = 3
DEFAULT_CEP_REVIEW_AFTER = datetime.timedelta(hours=24)


class SpeiGateway(Gateway):
    """Transfers to the company's CLABEs; no bank session, no query."""

    name = NAME
    title = _('Transferencia SPEI')
    #: Instructions can be shown again for as long as the payment waits.
    resume_window = None
    #: No bank page: the customer sends the transfer from their own bank.
    has_bank_page = False

    def __init__(self, beneficiary, bank, secret, clabe_prefix=None, clabe=None, bank_rfc='',
                 deadline_days=DEFAULT_DEADLINE_DAYS, cep_url=BANXICO_URL,
                 cep_review_after=DEFAULT_CEP_REVIEW_AFTER, transport=None,
                 cep_max_queries=DEFAULT_MAX_QUERIES):
        if not clabe_prefix and not clabe:
            raise ValueError('spei: set spei.clabe_prefix (a range of CLABEs) or spei.clabe')
        if clabe and not clabes.is_valid(clabe):
            raise ValueError('spei.clabe is not a valid CLABE (18 digits, control digit)')
        self.range = clabes.ClabeRange(clabe_prefix) if clabe_prefix else None
        self.company_clabe = clabe or None
        self.beneficiary = beneficiary
        self.bank = bank
        self.bank_rfc = bank_rfc
        self.secret = secret
        self.deadline_days = int(deadline_days)
        if self.deadline_days < 1:
            raise ValueError('spei.deadline_business_days is at least 1')
        self.cep = CepClient(cep_url, transport=transport, limit=QueryLimit(int(cep_max_queries)))
        self.cep_review_after = cep_review_after

    # -- the payment interface ------------------------------------------------------------

    def start(self, payment_info):
        return StartResult('GET', payment_info.return_url,
                           stored={'referencia': clabes.numeric_reference(payment_info.reference)})

    def resume(self, payment_info, stored):
        return StartResult('GET', payment_info.return_url)

    def read_return(self, params, stored):
        return None     # nothing comes back through the browser: the money comes by SPEI

    def read_notification(self, headers, body, form=None, stored_for=None):
        raise reject(NAME, 'notification', 'SPEI deposits are posted to /spei/abono')

    # -- SPEI's own --------------------------------------------------------------------------

    def clabe_for(self, customer_number):
        """The CLABE the customer pays to: its own in the range, else the company's."""
        if self.range is not None and customer_number:
            return self.range.clabe_for(customer_number)
        return self.company_clabe

    def customer_number_of(self, clabe):
        """The customer number a CLABE of the range stands for, or None."""
        return self.range.number_of(clabe) if self.range is not None else None

    def is_ours(self, clabe):
        """Whether money to ``clabe`` is the company's (its CLABE or one of its range)."""
        return clabe == self.company_clabe or self.customer_number_of(clabe) is not None

    def read_abono(self, headers, body):
        """An authenticated deposit notification as a Transfer (AbonoRejected otherwise)."""
        return read_abono(self.secret, header(headers, SIGNATURE_HEADER), body,
                          clock.mexico_today())

    def deadline(self, created):
        """When a payment created at ``created`` (aware UTC) stops waiting: the end of the
        ``deadline_days``-th business day after it, in Mexico City."""
        return business_deadline(created, self.deadline_days)


def from_settings(settings, prefix='spei.', transport=None, resolve=lambda v: v):
    """A :class:`SpeiGateway` from ini settings under ``prefix``."""
    return SpeiGateway(
        beneficiary=settings.get(prefix + 'beneficiary') or settings.get(
            'canonportal.company_name', 'Canon Mexicana'),
        bank=settings.get(prefix + 'bank', ''),
        bank_rfc=settings.get(prefix + 'bank_rfc', ''),
        secret=resolve(settings.get(prefix + 'notification_secret')),
        clabe_prefix=settings.get(prefix + 'clabe_prefix') or None,
        clabe=settings.get(prefix + 'clabe') or None,
        deadline_days=settings.get(prefix + 'deadline_business_days', DEFAULT_DEADLINE_DAYS),
        cep_url=settings.get(prefix + 'cep_url') or BANXICO_URL,
        cep_review_after=datetime.timedelta(minutes=int(
            settings.get(prefix + 'cep_review_after_minutes', 1440))),
        cep_max_queries=settings.get(prefix + 'cep_max_queries_per_minute', DEFAULT_MAX_QUERIES),
        transport=transport,
    )
