"""The staff's decisions on the queue "Transferencias sin aplicar".

An operator either assigns a queued transfer (unmatched, or one that came under a key
already taken) to a customer and the invoices it pays — a payment is created for them
and paid with the transfer, which must add up exactly — or finds it is not money for
the portal. Both need a comment. Money paid to one customer's own CLABE is that
customer's: assigning it to another customer's invoices needs the operator's explicit
confirmation, and then is written on both customers' records (the payment's history
and the audit log of each).
"""
import dataclasses

from ... import audit
from ...i18n import _
from ...resources.incoming_transfer import ASSIGNED, NOT_FOR_PORTAL, QUEUED
from ...spei.credit import Transfer
from .. import selection as sel
from .. import service
from .matching import SPEI, pay

#: The audit action written on both customers when one's money pays the other's invoices.
OTHER_CUSTOMER = 'spei.assigned-other-customer'


def clabe_owner(root, gateway, record):
    """The customer whose own CLABE the transfer went to (None: the company's CLABE, or a
    number nobody has)."""
    number = gateway.customer_number_of(record.data.get('beneficiary_account', ''))
    return root.customers.find_by_number(number) if number else None


def _still_queued(record, comment):
    if record.state not in QUEUED:
        raise service.PaymentRefused(_('La transferencia ya no está en la cola.'))
    if not (comment or '').strip():
        raise service.PaymentRefused(_('Escriba un comentario para la bitácora.'))


def assign(root, gateway, record, customer, invoice_keys, now, staff, comment,
           other_customer=False):
    """An operator says whose the transfer is and which invoices it pays: a payment is
    created for them (each for what is left of it) and paid with the transfer, which must
    add up exactly. ``staff`` is the operator's ``(principal id, name)``: the payment is
    theirs — prepared by them, and created and approved by them in the audit log. A
    transfer to another customer's own CLABE needs ``other_customer`` (the operator's
    confirmation). Returns :class:`~.matching.Received`; raises PaymentRefused with the
    reason, having changed nothing."""
    actor = staff[0]
    _still_queued(record, comment)
    comment = comment.strip()
    owner = clabe_owner(root, gateway, record)
    foreign = owner is not None and owner.rfc != customer.rfc
    if foreign and not other_customer:
        raise service.PaymentRefused(_(
            'La transferencia llegó a la CLABE propia de ${owner}, no a la de ${customer}. '
            'Si de verdad paga facturas de ${customer}, marque la confirmación y asígnela '
            'de nuevo.', mapping={'owner': owner.rfc, 'customer': customer.rfc}))
    entries = [sel.Entry(key, ticked=True) for key in invoice_keys]
    selection = sel.validate_selection(customer, None, entries)
    if not selection.ok:
        raise service.PaymentRefused(_('Revise las facturas: alguna no se puede pagar.'))
    if selection.total_mxn != record.amount:
        raise service.PaymentRefused(_(
            'Las facturas suman ${total} MXN y la transferencia es de ${amount} MXN.',
            mapping={'total': selection.total_mxn, 'amount': record.amount}))
    payment = service.create_payment(root, customer, SPEI, selection, now, prepared_by=staff)
    transfer = Transfer.from_dict(record.data, source='staff')
    received = pay(root, gateway, root.transfers, record, payment, transfer, now, actor,
                   settled_by=actor)
    if foreign:
        _mark_other_customer(root, record, owner, customer, payment, now, actor, comment)
    record.move(ASSIGNED, now, actor, comment)
    root.transfers.track(record)
    return dataclasses.replace(received, state=ASSIGNED)


def _mark_other_customer(root, record, owner, customer, payment, now, actor, comment):
    """Written where staff look for each customer: the payment's history, and one audit
    entry on each customer (the log's search by a customer's path finds it)."""
    note = (f'transfer {record.key} of {record.amount} MXN to the own CLABE of {owner.rfc} '
            f'({record.data.get("beneficiary_account", "")}) assigned to {customer.rfc}, '
            f'payment {payment.reference}, confirmed by {actor}: {comment}')
    payment.history = payment.history + ((now, payment.state, payment.state, 'staff', note),)
    audit.record(root, actor, OTHER_CUSTOMER, owner, '', customer.rfc, note, when=now)
    audit.record(root, actor, OTHER_CUSTOMER, payment, owner.rfc, customer.rfc, note, when=now)


def not_for_portal(root, record, now, actor, comment):
    """An operator found the transfer is not a customer's payment through the portal."""
    _still_queued(record, comment)
    record.move(NOT_FOR_PORTAL, now, actor, comment.strip())
    root.transfers.track(record)
