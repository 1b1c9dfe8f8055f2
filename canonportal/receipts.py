"""The receipt of an approved payment: the mail text and what the receipt page shows."""
from .formatting import money, timestamp
from .i18n import _

BANK_NAMES = {'banamex': 'Citibanamex', 'bbva': 'BBVA Bancomer'}


def bank_name(bank):
    return BANK_NAMES.get(bank, bank)


def receipt_lines(payment):
    """``[(invoice key, currency, amount in MXN, amount in currency, rate)]`` of a payment."""
    return [(a.invoice_key, a.currency, a.amount_mxn, a.amount_currency, a.exchange_rate)
            for a in payment.allocations]


def receipt_mail(payment, customer, company, public_url, translate, locale_name='es'):
    """``(subject, body)`` of the receipt mail, in the customer's language."""
    invoices = '\n'.join(
        f'  {key}: {money(mxn, "MXN", locale_name)}'
        + (f' ({money(amount, currency, locale_name)})' if currency != 'MXN' else '')
        for key, currency, mxn, amount, _rate in receipt_lines(payment))
    subject = translate(_('Recibo de pago ${reference}', mapping={'reference': payment.reference}))
    body = translate(_(
        'Hola,\n\n${company} recibió su pago en línea.\n\n'
        'Referencia de pago: ${reference}\nReferencia bancaria: ${bank_reference}\n'
        'Banco: ${bank}\nFecha: ${date}\nMonto: ${amount}\nRFC: ${rfc} (${name})\n\n'
        'Facturas pagadas:\n${invoices}\n\n'
        'Puede ver e imprimir el recibo en ${url}\n\n'
        'El pago se aplicará a sus facturas cuando nuestro sistema lo registre.\n',
        mapping={'company': company, 'reference': payment.reference,
                 'bank_reference': payment.bank_reference or '',
                 'bank': bank_name(payment.bank),
                 'date': timestamp(payment.paid_at or payment.created, locale_name),
                 'amount': money(payment.total_mxn, 'MXN', locale_name),
                 'rfc': customer.rfc, 'name': customer.name, 'invoices': invoices,
                 'url': f'{public_url.rstrip("/")}/customers/{customer.rfc}/payments/'
                        f'{payment.reference}/@@recibo'}))
    return subject, body
