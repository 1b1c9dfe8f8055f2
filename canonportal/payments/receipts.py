"""The mails of a payment: its receipt once approved, a SPEI payment's instructions and the
notice that it expired. The lines they list come from :mod:`canonportal.reports.receipt_data`
and the attached PDFs from :mod:`canonportal.reports`."""
import logging

from pyramid_mailer.message import Attachment

from ..formatting import money, timestamp
from ..gateways import bank_label
from ..i18n import _
from ..reports.receipt_data import is_partial
from ..reports.receipt_pdf import receipt_pdf
from ..reports.spei_pdf import instruction_facts, instructions_pdf
from ..resources import customer_of
from .recipients import preparer_address

log = logging.getLogger(__name__)


def receipt_mail(payment, customer, company, public_url, translate, locale_name='es'):
    """``(subject, body)`` of the receipt mail, in the customer's language."""
    partly = translate(_('pagada parcialmente'))
    invoices = '\n'.join(
        f'  {a.invoice_key}: {money(a.amount_mxn, "MXN", locale_name)}'
        + (f' ({money(a.amount_currency, a.currency, locale_name)})' if a.currency != 'MXN' else '')
        + (f', {partly}' if is_partial(a) else '')
        for a in payment.allocations)
    people = ''
    if payment.prepared_by:
        people += translate(_('Preparó: ${name}', mapping={'name': payment.prepared_by[1]})) + '\n'
    if payment.approved_by:
        people += translate(_('Aprobó: ${name}', mapping={'name': payment.approved_by[1]})) + '\n'
    subject = translate(_('Recibo de pago ${reference}', mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola,\n\n${company} recibió su pago en línea.\n\n'
        'Referencia de pago: ${reference}\nReferencia bancaria: ${bank_reference}\n'
        'Banco: ${bank}\nFecha: ${date}\nMonto: ${amount}\nRFC: ${rfc} (${name})\n\n'
        'Facturas pagadas:\n${invoices}\n\n${people}'
        'Puede ver e imprimir el recibo en ${url}\n\n'
        'El pago se aplicará a sus facturas cuando nuestro sistema lo registre.\n',
        mapping={'company': company, 'reference': payment.reference,
                 'bank_reference': payment.bank_reference or '',
                 'bank': translate(bank_label(payment.bank)),
                 'date': timestamp(payment.paid_at or payment.created, locale_name),
                 'amount': money(payment.total_mxn, 'MXN', locale_name),
                 'rfc': customer.rfc, 'name': customer.name, 'invoices': invoices,
                 'people': people + '\n' if people else '',
                 'url': f'{public_url.rstrip("/")}/customers/{customer.rfc}/payments/'
                        f'{payment.reference}/@@recibo'}))
    return subject, body


def receipt_addresses(payment):
    """Who gets a payment's receipt: the customer's confirmed address (never an unconfirmed
    one) and, for a colleague's request, the person who prepared it."""
    addresses = [customer_of(payment).email]
    if payment.was_requested:
        addresses.append(preparer_address(payment))
    return list(dict.fromkeys(address for address in addresses if address))


def send_receipt(payment, deliver, company, public_url, translate, locale_name='es'):
    """Mail the receipt to :func:`receipt_addresses`, one mail each.

    The receipt PDF (the one the payment's page offers) is attached.
    ``deliver(to, subject, body, attachments)`` queues the mail on the transaction that approved
    the payment: a request's (:func:`canonportal.mail.send`) or a script's.
    """
    customer = customer_of(payment)
    addresses = receipt_addresses(payment)
    if not addresses:
        log.info('payment %s: no confirmed email, receipt not mailed', payment.reference)
        return
    subject, body = receipt_mail(payment, customer, company, public_url, translate, locale_name)
    pdf = receipt_pdf(payment, customer, company, translate, locale_name)
    for address in addresses:
        deliver(address, subject, body, [Attachment(
            f'recibo-{customer.rfc}-{payment.reference}.pdf', 'application/pdf', pdf)])


def expiry_mail(payment, customer, company, public_url, translate):
    """``(subject, body)`` of the notice that a SPEI payment expired unpaid."""
    subject = translate(_('El pago ${reference} expiró sin recibir su transferencia',
                          mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola,\n\n${company} no recibió la transferencia SPEI del pago ${reference} '
        '(${amount}) antes de la fecha límite. No se hizo ningún cargo y sus facturas '
        'quedaron libres: puede pagarlas de nuevo desde SALDOS.\n\n'
        'Si ya hizo la transferencia, responda a este correo con su clave de rastreo.\n\n${url}\n',
        mapping={'company': company, 'reference': payment.reference,
                 'amount': money(payment.total_mxn, 'MXN'),
                 'url': f'{public_url.rstrip("/")}/customers/{customer.rfc}/saldos'}))
    return subject, body


def send_expiry_notice(payment, deliver, company, public_url, translate):
    """Tell the customer a SPEI payment expired and its invoices are free again."""
    customer = customer_of(payment)
    if customer.email:
        deliver(customer.email, *expiry_mail(payment, customer, company, public_url, translate))


def send_instructions(payment, instructions, deliver, company, public_url, translate,
                      locale_name='es'):
    """Mail a waiting SPEI payment's instructions, with their PDF, to the customer."""
    customer = customer_of(payment)
    if not customer.email:
        return
    facts = '\n'.join(f'  {label}: {value}' for label, value in
                      instruction_facts(instructions, payment, customer, translate, locale_name))
    subject = translate(_('Datos para pagar por SPEI: pago ${reference}',
                          mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola,\n\nPara pagar sus facturas envíe desde la banca en línea de su empresa una '
        'transferencia SPEI con estos datos exactos:\n\n${facts}\n\n'
        'Las facturas quedan reservadas como "Pago en Tránsito" hasta que llegue. '
        'Cuando la recibamos le enviaremos el recibo.\n\n${url}\n',
        mapping={'facts': facts,
                 'url': f'{public_url.rstrip("/")}/customers/{customer.rfc}/payments/'
                        f'{payment.reference}/'}))
    pdf = Attachment(f'instrucciones-spei-{customer.rfc}-{payment.reference}.pdf', 'application/pdf',
                     instructions_pdf(instructions, payment, customer, company, translate,
                                      locale_name))
    deliver(customer.email, subject, body, [pdf])
