""""Ya pagué": the customer names the transfer that paid a waiting payment (clave de
rastreo, date and bank, or the CEP's XML), and Banxico is asked before anything is
believed; what its CEP confirms is received like any transfer (:func:`~.matching.receive`,
the customer's payment tried first).

Each claim that would ask Banxico is counted first, per payment and per company, in the
root's throttle (committed before asking): past :data:`CLAIMS_PER_PAYMENT` or
:data:`CLAIMS_PER_COMPANY` in :data:`CLAIM_WINDOW` Banxico is asked nothing, so no one
can make the portal ask over and over and get its address blocked there. The process's
own cap on questions to Banxico (:class:`~canonportal.spei.cep.CepBusy`) applies too.
"""
import dataclasses
import datetime

from ...spei.cep import CepBusy, CepError
from ...spei.credit import SOURCE_CEP, Transfer, TransferError
from ..transactions import in_own_transaction
from .cep import record_cep
from .matching import receive

#: "Ya pagué" claims that ask Banxico, at most, per window: for one payment, and for all
#: of one company's payments together.
CLAIMS_PER_PAYMENT = 3
CLAIMS_PER_COMPANY = 10
CLAIM_WINDOW = datetime.timedelta(hours=1)

#: What became of a claim.
TOO_MANY = 'too-many'           # over the claims allowed: Banxico not asked
BUSY = 'busy'                   # the process's cap on questions to Banxico: not asked
NOT_FOUND = 'not-found'         # Banxico confirms no such transfer (yet)
UNREADABLE = 'unreadable'       # Banxico's CEP does not make a transfer
RECEIVED = 'received'           # received: see ``received``


@dataclasses.dataclass(frozen=True)
class Claim:
    """The outcome of a claim, and the :class:`~.matching.Received` when there is one."""

    outcome: str
    received: object = None


def claim_allowed(root, payment, now):
    """Count one claim on ``payment`` and return True, or return False (counting nothing)
    when the payment or its company made too many within the window."""
    throttle = root.throttle
    if throttle is None:        # a database before the evolve step 'throttle'
        return False
    return throttle.allow({f'spei-claim:payment:{payment.reference}': CLAIMS_PER_PAYMENT,
                           f'spei-claim:company:{payment.customer_rfc}': CLAIMS_PER_COMPANY},
                          now, window=CLAIM_WINDOW)


def claim_transfer(tm, root_of, gateway, reference, query, now, actor, send_receipt):
    """The claim of payment ``reference`` that ``query`` (a :class:`~canonportal.spei.cep.Query`)
    names: counted and committed, Banxico asked with no transaction open, what it confirms
    received and its CEP kept in a transaction of its own, the receipt sent through
    ``send_receipt(payment)`` when due. Returns :class:`Claim`; a new transaction is open
    afterwards (a request's)."""
    if not in_own_transaction(tm, lambda: claim_allowed(
            root_of(), root_of().payments_by_reference[reference], now)):
        return Claim(TOO_MANY)
    tm.abort()                  # Banxico is asked with no transaction open
    try:
        cep = gateway.cep.fetch(query)
    except CepBusy:
        return _reopened(tm, Claim(BUSY))
    except CepError:
        return _reopened(tm, Claim(NOT_FOUND))
    try:
        transfer = Transfer(
            tracking_key=cep.tracking_key or query.tracking_key, operation_date=cep.operation_date,
            amount=cep.amount, beneficiary_account=cep.beneficiary_account,
            ordering_bank=query.sender, ordering_account=cep.ordering_account,
            ordering_name=cep.ordering_name, ordering_rfc=cep.ordering_rfc, concept=cep.concept,
            source=SOURCE_CEP)
    except TransferError:
        return _reopened(tm, Claim(UNREADABLE))

    def work():
        root = root_of()
        received = receive(root, gateway, transfer, now, actor, for_payment=reference)
        if received.payment_reference and not received.duplicate:
            record_cep(root, received.payment_reference, cep, now, gateway.cep_review_after)
        if received.receipt_due:
            send_receipt(root.payments_by_reference[received.payment_reference])
        return received

    return Claim(RECEIVED, in_own_transaction(tm, work, attempts=20))


def _reopened(tm, claim):
    tm.begin()
    return claim
