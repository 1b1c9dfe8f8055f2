"""Asking a bank about a payment still pending: the one choreography of the result page,
the staff's "Consultar al banco ahora" and ``canonportal-reconcile``.

The bank is asked once, with **no transaction open** (nothing is held while it
answers); what it said goes to :func:`.service.record_answer`, whose short write is
retried on conflicts without asking again. A bank that cannot be reached changes
nothing: the caller says so its own way (a log line, the staff's audit, a line of the
script's report).
"""
import dataclasses
import logging

from transaction.interfaces import NoTransaction

from .. import gateways as gw
from .service import SETTLE_ATTEMPTS, record_answer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Asked:
    """What asking did: the bank's ``result`` (None: this bank cannot be queried) and the
    :class:`~.service.Settlement` recorded, or the ``error`` that kept the bank silent."""

    result: object = None
    settlement: object = None
    error: Exception = None


def ask_bank(tm, root_of, gateway, reference, stored, now, send_receipt, expire_after,
             attempts=SETTLE_ATTEMPTS, and_then=None, reopen=True):
    """Query ``gateway`` about payment ``reference`` (``stored``: what its start kept) and
    record the answer at ``now`` as :func:`~.service.record_answer` does (``expire_after``: a
    payment that stays unanswered this long expires). Returns :class:`Asked`; with
    ``reopen`` a transaction is open afterwards, as a request expects.
    ``and_then(root, payment, settlement, result)`` records more in the transaction that
    records the answer (the staff's audit line)."""
    try:
        tm.abort()
    except NoTransaction:
        pass
    try:
        result = gateway.query(reference, stored)
    except gw.GatewayError as error:
        log.info('payment %s: the bank did not answer the query: %s', reference, error)
        if reopen:
            tm.begin()
        return Asked(error=error)
    after = None if and_then is None else (
        lambda root, payment, settlement: and_then(root, payment, settlement, result))
    settlement = record_answer(tm, root_of, reference, result, now, send_receipt,
                               expire_after=expire_after, attempts=attempts,
                               and_then=after, reopen=reopen)
    return Asked(result=result, settlement=settlement)
