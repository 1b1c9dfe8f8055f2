"""Starting a committed payment at its bank: the one choreography of the pay view and
of an approver's "Aprobar y pagar".

The payment was reserved and committed before (so no retry can open two bank
sessions); the bank is asked with **no transaction open**; a bank that does not
start cancels the payment in a transaction of its own (its invoices free at once),
otherwise what the bank asked us to keep is recorded and committed, with whatever the
caller adds to that transaction (the SPEI instructions mail).
"""
import logging

from .. import clock
from .. import gateways as gw
from .service import cancel_unstarted
from .transactions import in_own_transaction

log = logging.getLogger(__name__)


class BankDidNotStart(Exception):
    """The bank refused or did not answer the start; the payment was cancelled."""


def record_start(payment, start_result, now):
    """Keep what the bank's start step asked us to store (never shown to the browser)."""
    payment.start_data = start_result.stored_dict()
    payment.started = now


def payment_info(payment, customer, public_url, company_name):
    """What a gateway needs to start ``payment``; URLs from the configured public URL."""
    base = public_url.rstrip('/')
    return gw.PaymentInfo(
        reference=payment.reference,
        amount=payment.total_mxn,
        currency='MXN',
        description=f'{company_name} pago {payment.reference}'[:127],
        customer_rfc=customer.rfc,
        customer_name=customer.name,
        customer_email=customer.email or '',
        return_url=f'{base}/banco/{payment.bank}/retorno/{payment.reference}',
        failure_url=f'{base}/banco/{payment.bank}/retorno/{payment.reference}',
    )


def start_at_bank(tm, root_of, gateway, reference, info, after_start=None):
    """Ask ``gateway`` to start payment ``reference`` (``info``: :func:`payment_info`) and
    record its answer; returns the gateway's :class:`~canonportal.gateways.StartResult`.

    ``root_of()`` gives the portal root inside each transaction; ``after_start(payment)``
    runs in the transaction that records the start. Raises :class:`BankDidNotStart` after
    cancelling the payment when the bank fails.
    """
    try:
        start = gateway.start(info)
    except gw.GatewayError as error:
        log.warning('payment %s: the bank did not start: %s', reference, error)
        note = f'bank start failed: {error}'
        in_own_transaction(tm, lambda: cancel_unstarted(
            root_of().payments_by_reference[reference], clock.utcnow(), note))
        raise BankDidNotStart(note) from error

    def started():
        payment = root_of().payments_by_reference[reference]
        record_start(payment, start, clock.utcnow())
        if after_start is not None:
            after_start(payment)
    in_own_transaction(tm, started)
    return start
