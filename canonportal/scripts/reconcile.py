"""canonportal-reconcile INI: settle payments whose bank notification never came.

Meant for cron (e.g. every 5 minutes). For each payment pending longer than
``canonportal.reconcile_after_minutes`` it asks the bank (Citibanamex: retrieve
the order); a bank without a query API (BBVA) lets the payment expire after
``canonportal.payment_expire_minutes``, releasing its invoices. Receipts of
payments found approved are mailed, once, when the transaction commits.
"""
import argparse
import sys

import transaction
from pyramid_mailer.mailer import Mailer

from .. import clock, mail, payments, receipts
from ..gateways import GatewayError, gateways_from_settings
from .common import open_database


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-reconcile', description=__doc__)
    parser.add_argument('config_uri')
    args = parser.parse_args(argv)
    db, settings = open_database(args.config_uri)
    try:
        counts = reconcile(db, settings, gateways_from_settings(settings),
                           Mailer.from_settings(settings))
    finally:
        db.close()
    summary = ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) or 'nothing pending'
    print(f'reconciled: {summary}')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
