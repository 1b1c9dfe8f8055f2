"""Reconciliation: settle payments whose bank notification never came.

Used by ``canonportal-reconcile`` (cron) and, when the embedded FileStorage is
held by the running server, by that server on the script's request
(``POST /reconciliar`` with a token derived from the session secret).
"""
import hashlib
import hmac
import sys

import transaction

from . import clock, mail, payments, receipts
from .gateways import GatewayError
from .security import resolve_secret

TOKEN_HEADER = 'X-Reconcile-Token'


def reconcile_token(settings):
    """The shared token that lets the console script ask the server to reconcile."""
    secret = resolve_secret(settings.get('canonportal.session_secret', '')) or ''
    return hmac.new(secret.encode(), b'canonportal-reconcile', hashlib.sha256).hexdigest()


def reconcile(db, settings, gateways, mailer, now=None, out=sys.stdout):
    """Check every overdue pending payment; return ``{outcome: count}``."""
    now = now or clock.utcnow()
    query_after = payments.minutes(settings.get('canonportal.reconcile_after_minutes', 5))
    expire_after = payments.minutes(settings.get('canonportal.payment_expire_minutes', 120))
    company = settings.get('canonportal.company_name', 'Canon Mexicana')
    public_url = settings.get('canonportal.public_url', '')
    manager = transaction.TransactionManager(explicit=True)
    bound = mailer.bind(transaction_manager=manager)
    connection = db.open(transaction_manager=manager)
    counts = {}
    try:
        with manager:
            references = [p.reference for p in payments.pending_older_than(
                connection.root()['app_root'], now, query_after)]
        for reference in references:
            # One transaction per payment: a conflict retries that payment only.
            for attempt in manager.attempts(5):
                with attempt:
                    root = connection.root()['app_root']
                    payment = root.payments_by_reference[reference]
                    gateway = gateways.get(payment.bank)
                    if gateway is None:
                        outcome = 'no gateway'
                    else:
                        try:
                            settlement = payments.check_with_bank(
                                root, payment, gateway, now, expire_after)
                            outcome = settlement.after
                            if settlement.receipt_due:
                                _mail_receipt(bound, settings, payment, company, public_url)
                        except GatewayError as error:
                            outcome = 'bank unreachable'
                            print(f'{reference}: {error}', file=out)
            counts[outcome] = counts.get(outcome, 0) + 1
            print(f'payment {reference}: {outcome}', file=out)
    finally:
        connection.close()
    return counts


def _mail_receipt(mailer, settings, payment, company, public_url):
    customer = payments.customer_of(payment)
    address = customer.email   # the confirmed address only
    if address:
        subject, body = receipts.receipt_mail(payment, customer, company, public_url,
                                              lambda message: message.interpolate())
        mail.deliver(mailer, settings, address, subject, body)
