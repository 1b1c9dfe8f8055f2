"""What the person who prepared a payment request is told, by mail: that an approver
approved it (and for how much, when lowered), that one rejected it and why, or that
nobody decided before its deadline and it expired. When an approved request is paid,
they get the receipt too (:func:`canonportal.payments.receipts.send_receipt`).

Each mail is queued by ``deliver(to, subject, body)`` on the transaction that records
the decision, so it leaves only if that commits: the approver's (a request's) or
reconciliation's (a script's).
"""
from ..formatting import deadline, money, timestamp
from ..i18n import _
from ..resources import customer_of
from ..resources.payment import CANCELLED, EXPIRED, PENDING
from .recipients import preparer, preparer_address


def _page(payment, public_url):
    customer = customer_of(payment)
    return f'{public_url.rstrip("/")}/customers/{customer.rfc}/payments/{payment.reference}/'


def _saldos(payment, public_url):
    return f'{public_url.rstrip("/")}/customers/{customer_of(payment).rfc}/saldos'


def approved_mail(payment, public_url, translate, locale_name='es'):
    """``(subject, body)``: the request was approved and goes on to its bank."""
    amount = money(payment.total_mxn, 'MXN', locale_name)
    if payment.requested_mxn is not None:
        amount = translate(_('${approved} (usted pidió ${requested})', mapping={
            'approved': amount, 'requested': money(payment.requested_mxn, 'MXN', locale_name)}))
    subject = translate(_('Solicitud de pago ${reference} aprobada',
                          mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola ${name},\n\n${approver} aprobó el ${when} su solicitud de pago ${reference} '
        'por ${amount}.\n\nEl pago sigue con el banco; cuando lo confirme le enviaremos el '
        'recibo.\n\n${link}\n',
        mapping={'name': preparer(payment).display_name, 'approver': payment.approved_by[1],
                 'when': timestamp(payment.approved_at, locale_name),
                 'reference': payment.reference, 'amount': amount,
                 'link': _page(payment, public_url)}))
    return subject, body


def rejected_mail(payment, public_url, translate, locale_name='es'):
    """``(subject, body)``: the request was rejected, with the approver's comment."""
    subject = translate(_('Solicitud de pago ${reference} rechazada',
                          mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola ${name},\n\n${approver} rechazó el ${when} su solicitud de pago ${reference} '
        'por ${amount}. Su comentario:\n\n  «${comment}»\n\nNo se hizo ningún cargo y las '
        'facturas quedaron libres; puede preparar otro pago desde SALDOS:\n\n${saldos}\n',
        mapping={'name': preparer(payment).display_name, 'approver': payment.rejected_by[1],
                 'when': timestamp(payment.rejected_at, locale_name),
                 'reference': payment.reference,
                 'amount': money(payment.total_mxn, 'MXN', locale_name),
                 'comment': payment.rejection_comment, 'saldos': _saldos(payment, public_url)}))
    return subject, body


def expired_mail(payment, public_url, translate, locale_name='es'):
    """``(subject, body)``: nobody decided the request before its deadline."""
    subject = translate(_('Solicitud de pago ${reference} vencida sin aprobación',
                          mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola ${name},\n\nNadie aprobó ni rechazó su solicitud de pago ${reference} por '
        '${amount} a tiempo (la fecha límite era el ${deadline}), así que venció. No se hizo '
        'ningún cargo y las facturas quedaron libres; puede preparar otro pago desde '
        'SALDOS:\n\n${saldos}\n',
        mapping={'name': preparer(payment).display_name, 'reference': payment.reference,
                 'amount': money(payment.total_mxn, 'MXN', locale_name),
                 'deadline': deadline(payment.expires_at, locale_name),
                 'saldos': _saldos(payment, public_url)}))
    return subject, body


def tell_preparer(payment, deliver, public_url, translate, locale_name='es'):
    """Mail who prepared the request ``payment`` what was just decided about it (approved:
    now pending at its bank; rejected; expired). Nothing for anything else, nor when that
    person has no address to write to."""
    address = preparer_address(payment)
    if address is None or not payment.was_requested:
        return
    if payment.state == PENDING and payment.approved_by:
        mail = approved_mail
    elif payment.state == CANCELLED and payment.rejected_by:
        mail = rejected_mail
    elif payment.state == EXPIRED and payment.approved_by is None:
        mail = expired_mail
    else:
        return
    deliver(address, *mail(payment, public_url, translate, locale_name))
