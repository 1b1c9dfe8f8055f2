"""Reconciliation: settle payments whose bank notification never came, expire the
SPEI payments whose transfer did not arrive in time and the colleagues' requests nobody
decided (who prepared one is mailed), and ask Banxico again for the CEPs that were not
available yet.

Used by ``canonportal-reconcile`` (cron) and, when the embedded FileStorage is
held by the running server, by that server on the script's request
(``POST /reconciliar``, :mod:`canonportal.localonly`).
"""
import sys

import transaction

from .. import clock, mail
from . import bank_query, receipts, request_notices, service, transfers
from ..resources.payment import EXPIRED, PENDING, REQUESTED


def reconcile(db, settings, gateways, mailer, now=None, out=sys.stdout):
    """Check every overdue pending payment; return ``{outcome: count}``."""
    now = now or clock.utcnow()
    query_after = service.minutes(settings.get('canonportal.reconcile_after_minutes', 5))
    expire_after = service.minutes(settings.get('canonportal.payment_expire_minutes', 120))
    company = settings.get('canonportal.company_name', 'Canon Mexicana')
    public_url = settings.get('canonportal.public_url', '')
    manager = transaction.TransactionManager(explicit=True)
    bound = mailer.bind(transaction_manager=manager)
    connection = db.open(transaction_manager=manager)

    def app_root():
        return connection.root()['app_root']

    def send_receipt(payment):
        receipts.send_receipt(payment, lambda *mail_parts: mail.deliver(bound, settings, *mail_parts),
                              company, public_url, lambda message: message.interpolate())

    def notify_expiry(root, payment, settlement, result=None):
        # A SPEI payment waits days: its customer is told when the invoices are let go.
        if payment.bank == transfers.SPEI and settlement.changed and settlement.after == EXPIRED:
            receipts.send_expiry_notice(
                payment, lambda *parts: mail.deliver(bound, settings, *parts), company,
                public_url, lambda message: message.interpolate())

    def notify_preparer(root, payment, settlement):
        # A request nobody decided: who prepared it learns it expired.
        if settlement.changed and settlement.after == EXPIRED:
            request_notices.tell_preparer(
                payment, lambda *parts: mail.deliver(bound, settings, *parts), public_url,
                lambda message: message.interpolate())

    counts = {}
    try:
        with manager:
            references = [p.reference for p in service.pending_older_than(app_root(), now, query_after)]
        for reference in references:
            with manager:
                payment = app_root().payments_by_reference[reference]
                bank, stored, state = payment.bank, dict(payment.start_data or {}), payment.state
            gateway = gateways.get(bank)
            if state == REQUESTED:
                # Waiting for an approver, not for a bank: it only expires.
                settlement = service.record_answer(
                    manager, app_root, reference, None, now, send_receipt,
                    expire_after=expire_after, attempts=5, and_then=notify_preparer,
                    reopen=False)
                outcome = 'request ' + settlement.after
            elif state != PENDING:
                outcome = state     # settled meanwhile by the bank's notice
            elif gateway is None:
                outcome = 'no gateway'
            else:
                # The bank is asked once, with no transaction open; only the write that
                # follows is retried (one transaction per payment).
                asked = bank_query.ask_bank(
                    manager, app_root, gateway, reference, stored, now, send_receipt,
                    expire_after, attempts=5, and_then=notify_expiry, reopen=False)
                if asked.error is not None:
                    outcome = 'bank unreachable'
                    print(f'{reference}: {asked.error}', file=out)
                else:
                    outcome = asked.settlement.after
            counts[outcome] = counts.get(outcome, 0) + 1
            print(f'payment {reference}: {outcome}', file=out)
        spei = gateways.get(transfers.SPEI)
        if spei is not None:
            with manager:
                waiting = transfers.cep_due(app_root())
            for reference in waiting:
                state = transfers.fetch_and_record_cep(manager, app_root, spei, reference, now,
                                                       reopen=False)
                outcome = f'CEP {state}'
                counts[outcome] = counts.get(outcome, 0) + 1
                print(f'payment {reference}: {outcome}', file=out)
    finally:
        connection.close()
    return counts
