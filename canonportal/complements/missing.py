"""Which payments the portal received still lack their payment complement (REP).

A payment the bank approved (or the ERP applied since) needs a REP for each invoice it paid
whose method of payment is PPD. The portal knows an invoice's MetodoPago only when the ERP
sent it (the CFDI's ``MetodoPago`` or the invoices file's column): an invoice whose method
is unknown is taken to need one too; only a PUE invoice does not (its CFDI already says it
was paid). An invoice counts as documented once a current REP (not replaced) names this
payment and that invoice.
"""
from typing import NamedTuple

from ..resources.complement import complements_named
from ..resources.payment import RECEIVED_STATES
from ..resources.payment_history import payment_date
from .deadline import DEFAULT_DEADLINE_DAY, local_day, rep_deadline

#: The method of payment of an invoice settled when it was issued: no REP.
PUE = 'PUE'


class Missing(NamedTuple):
    """A payment still without its REP: when it was paid (Mexico City), the deadline, whether
    ``today`` is past it, and the invoices (keys) still undocumented."""
    payment: object
    customer: object
    paid_on: object
    deadline: object
    overdue: bool
    invoice_keys: tuple


def needs_complement(invoice):
    """Whether a payment of ``invoice`` needs a REP: PPD, or a method the portal does not
    know (None); not PUE."""
    return invoice is None or (invoice.metodo_pago or '').upper() != PUE


def undocumented(customer, payment):
    """The keys of the invoices ``payment`` paid that need a REP and have no current one."""
    documented = set()
    for complement in complements_named(customer, payment.complements):
        if complement.current:
            documented.update(d.invoice_key for p in complement.payments
                              if p.reference == payment.reference for d in p.documents)
    keys = []
    for allocation in payment.allocations:
        key = allocation.invoice_key
        if key in documented or key in keys:
            continue
        if needs_complement(customer.invoices.get(key)):
            keys.append(key)
    return tuple(keys)


def missing_complements(root, today, deadline_day=DEFAULT_DEADLINE_DAY):
    """``[Missing]`` of every received payment still lacking a REP for some invoice, the
    oldest deadline first (then the reference). ``today`` is a Mexico City date
    (``clock.mexico_today()``); ``deadline_day`` the ini's ``canonportal.rep_deadline_day``
    (:func:`~.deadline.deadline_day`)."""
    found = []
    customers = root.customers
    for payment in root.payments_by_reference.values():
        if payment.state not in RECEIVED_STATES:
            continue
        customer = customers.get(payment.customer_rfc)
        if customer is None:
            continue
        keys = undocumented(customer, payment)
        if not keys:
            continue
        paid_on = local_day(payment_date(payment))
        deadline = rep_deadline(paid_on, deadline_day)
        found.append(Missing(payment, customer, paid_on, deadline, today > deadline, keys))
    found.sort(key=lambda row: (row.deadline, row.paid_on, len(row.payment.reference),
                                row.payment.reference))
    return found
