"""Which payments the portal received still lack their payment complement (REP).

A payment the bank approved (or the ERP applied since) needs a REP for each invoice it paid
whose method of payment is PPD. The portal knows an invoice's MetodoPago only when the ERP
sent it (the CFDI's ``MetodoPago`` or the invoices file's column): an invoice whose method
is unknown is taken to need one too; only a PUE invoice does not
(``resources.complement.needs_complement``). Read from the root's ``complements_due``
index, never from every payment.
"""
from typing import NamedTuple

from ..resources.complement import needs_complement, undocumented  # noqa: F401
from ..resources.payment_history import payment_date
from .deadline import DEFAULT_DEADLINE_DAY, local_day, rep_deadline


class Missing(NamedTuple):
    """A payment still without its REP: its customer, when it was paid (Mexico City), the
    deadline, whether ``today`` is past it, and the invoices (keys) still undocumented."""
    payment: object
    customer: object
    paid_on: object
    deadline: object
    overdue: bool
    invoice_keys: tuple


def missing_complements(root, today, deadline_day=DEFAULT_DEADLINE_DAY):
    """``[Missing]`` of every received payment still lacking a REP for some invoice, the
    oldest deadline first (then the reference). ``today`` is a Mexico City date
    (``clock.mexico_today()``); ``deadline_day`` the ini's ``canonportal.rep_deadline_day``
    (:func:`~.deadline.deadline_day`)."""
    found = []
    customers = root.customers
    for payment in (root.complements_due or {}).values():
        customer = customers.get(payment.customer_rfc)
        keys = undocumented(customer, payment) if customer is not None else ()
        if not keys:
            continue
        paid_on = local_day(payment_date(payment))
        deadline = rep_deadline(paid_on, deadline_day)
        found.append(Missing(payment, customer, paid_on, deadline, today > deadline, keys))
    found.sort(key=lambda row: (row.deadline, row.paid_on, len(row.payment.reference),
                                row.payment.reference))
    return found
