"""How a transfer arrives, whatever the door: the one choreography of the bank's abono,
the staff's statement upload and ``canonportal-import --kind estado-bancario``.

Each transfer (or each statement, all or nothing) is recorded and matched in a
transaction of its own, retried on conflicts; the receipts it made due are mailed
through ``send_receipt(payment)`` on that transaction, so they go exactly when it
commits. Only then is Banxico asked for the CEP of every payment it paid, with no
transaction open, each answer recorded in a transaction of its own
(:func:`.cep.fetch_and_record_cep`).
"""
from ... import clock
from ..transactions import in_own_transaction
from .cep import fetch_and_record_cep
from .matching import receive
from .statements import import_statement

#: A burst of identical notices (the bank retries) must all be answered.
RECEIVE_ATTEMPTS = 20


class _StatementRefused(Exception):
    def __init__(self, report):
        super().__init__(report.text())
        self.report = report


def take_transfer(tm, root_of, gateway, transfer, actor, send_receipt, reopen=True):
    """Receive one ``transfer`` (:class:`~canonportal.spei.credit.Transfer`) and prove
    it; returns the :class:`~.matching.Received`."""
    def work():
        root = root_of()
        received = receive(root, gateway, transfer, clock.utcnow(), actor)
        if received.receipt_due:
            send_receipt(root.payments_by_reference[received.payment_reference])
        return received

    received = in_own_transaction(tm, work, attempts=RECEIVE_ATTEMPTS, reopen=reopen)
    if received.payment_reference and not received.duplicate:
        ask_for_ceps(tm, root_of, gateway, [received.payment_reference], reopen=reopen)
    return received


def take_statement(tm, root_of, gateway, data, actor, send_receipt, dry_run=False,
                   reopen=True):
    """Import one bank statement (its bytes), all or nothing, and prove what it paid;
    returns the :class:`~.statements.StatementReport` (``report.ok`` False: nothing was
    kept). ``dry_run`` reads and matches everything and keeps nothing."""
    def work():
        root = root_of()
        report = import_statement(root, gateway, data, clock.utcnow(), actor)
        if not report.ok or dry_run:
            raise _StatementRefused(report)
        for item in report.received:
            if item.receipt_due:
                send_receipt(root.payments_by_reference[item.payment_reference])
        return report

    try:
        report = in_own_transaction(tm, work, reopen=reopen)
    except _StatementRefused as refused:
        return refused.report
    ask_for_ceps(tm, root_of, gateway, [item.payment_reference for item in report.received
                                        if item.payment_reference], reopen=reopen)
    return report


def ask_for_ceps(tm, root_of, gateway, references, reopen=True):
    """Banxico asked for the CEP of each payment in ``references`` (committed already)."""
    for reference in references:
        fetch_and_record_cep(tm, root_of, gateway, reference, clock.utcnow(), reopen=reopen)
