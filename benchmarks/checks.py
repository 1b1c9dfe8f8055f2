"""What the database says after the payment burst (read once the server has stopped)."""
from ZODB import DB
from ZODB.FileStorage import FileStorage

from canonportal.resources import get_root_from_connection


def payment_outcome(db_dir, rfcs, since):
    """Payments created since ``since`` (aware datetime) by customers ``rfcs``, and the
    invoices of those customers reserved beyond what they owe.

    Returns ``{'payments': {state: count}, 'over_reserved': [...], 'in_transit_invoices': n}``.
    An over-reservation is an invoice whose amounts in transit exceed its balance,
    or a reservation no payment of that customer accounts for.
    """
    storage = FileStorage(f'{db_dir}/Data.fs', read_only=True)
    db = DB(storage)
    connection = db.open()
    try:
        root = get_root_from_connection(connection)
        states, over, reserved = {}, [], 0
        for rfc in rfcs:
            customer = root.customers[rfc]
            reserving = {}
            for payment in customer.payments.values():
                if payment.created >= since:
                    states[payment.state] = states.get(payment.state, 0) + 1
                for allocation in payment.allocations:
                    reserving.setdefault(allocation.invoice_key, set()).add(payment.reference)
            for invoice in customer.invoices.values():
                if not invoice.reservations:
                    continue
                reserved += 1
                strangers = [ref for ref, _ in invoice.reservations
                             if ref not in reserving.get(invoice.key, ())]
                if invoice.in_transit > invoice.balance or strangers:
                    over.append({'invoice': invoice.key, 'balance': str(invoice.balance),
                                 'in_transit': str(invoice.in_transit), 'unknown_payments': strangers})
        return {'payments': states, 'over_reserved': over, 'in_transit_invoices': reserved}
    finally:
        connection.close()
        db.close()
