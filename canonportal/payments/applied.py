"""A payment the ERP applied to its invoices: the words that say so, and the one mail its
payer gets.

The balances import (:mod:`canonportal.erp.balances`) applies approved payments
(:func:`canonportal.payments.service.apply_from_erp`) and names the ones it applied in
its report; its caller (the staff's import page, ``canonportal-import``) queues
:func:`send_applied` on the transaction that commits them. However many rows of the
file name a payment, and however many of a payer's payments one import applies, each
payer gets one mail. The customer's language is not known there: the mail is Spanish.
"""
from ..formatting import date_of, money
from ..i18n import _
from ..reports.pdf import interpolate
from ..resources import customer_of
from ..resources.payment import APPLIED, reference_order
from .recipients import payer_address


def applied_line(payment, company, locale_name='es'):
    """'Aplicado por Canon Mexicana el 12/10/2017' (a translation string), or None for a
    payment the ERP has not applied."""
    when = payment.applied_at if payment.state == APPLIED else None
    if when is None:
        return None
    return _('Aplicado por ${company} el ${day}',
             mapping={'company': company, 'day': date_of(when, locale_name)})


def applied_mail(payments, company, public_url, translate=interpolate, locale_name='es'):
    """``(subject, body)`` telling one payer their ``payments`` are applied."""
    base = public_url.rstrip('/')
    lines = '\n'.join('  ' + translate(_(
        'Pago ${reference} por ${amount} (facturas ${invoices}): ${url}',
        mapping={'reference': p.reference, 'amount': money(p.total_mxn, 'MXN', locale_name),
                 'invoices': ', '.join(a.invoice_key for a in p.allocations),
                 'url': f'{base}/customers/{customer_of(p).rfc}/payments/{p.reference}/'}))
        for p in payments)
    references = ', '.join(p.reference for p in payments)
    if len(payments) == 1:
        subject = translate(_('Su pago ${reference} ya está aplicado a sus facturas',
                              mapping={'reference': references}))
    else:
        subject = translate(_('Sus pagos ${references} ya están aplicados a sus facturas',
                              mapping={'references': references}))
    body = translate(_(
        'Hola,\n\n${applied}. Sus facturas ya no tienen ese monto en tránsito y sus saldos lo '
        'reflejan:\n\n${lines}\n',
        mapping={'applied': translate(applied_line(payments[0], company, locale_name)),
                 'lines': lines}))
    return subject, body


def send_applied(root, references, deliver, company, public_url, translate=interpolate,
                 locale_name='es'):
    """Mail each payer of the payments ``references`` names that the ERP applied them:
    one mail per address (who prepared the payment, else the company's address)."""
    by_payer = {}
    for reference in dict.fromkeys(references):
        payment = root.payments_by_reference.get(reference)
        if payment is None or payment.state != APPLIED:
            continue
        address = payer_address(payment)
        if address:
            by_payer.setdefault(address, []).append(payment)
    for address, payments in by_payer.items():
        payments.sort(key=lambda p: reference_order(p.reference))
        deliver(address, *applied_mail(payments, company, public_url, translate, locale_name))
