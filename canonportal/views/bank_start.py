"""Sending the customer to the bank for a payment already reserved and committed: the
pay view's last step and an approver's "Aprobar y pagar" (views/approvals.py).

The choreography (ask the bank with no transaction open, cancel or record, commit)
is :func:`canonportal.payments.starting.start_at_bank`; this module only turns its
outcome into a page: the bank's own page, the form that posts to it, or SALDOS with
the reason when the bank did not start.
"""
from pyramid.httpexceptions import HTTPSeeOther

from ..i18n import _
from ..money import ZERO
from ..payments import service as payments
from ..payments import starting
from ..payments.form import configured_banks
from . import settings_of
from .balances import saldos_page
from .customer import page
from .spei import send_instructions


def gateway_for(request, bank):
    return request.registry.gateways.get(bank)


def blocked_by_transit(customer, selection):
    """Messages for selected invoices refused because payments in transit took their amount."""
    messages = []
    for line in selection.line_errors():
        invoice = customer.invoices.get(line.key)
        if invoice is not None and invoice.in_transit > ZERO:
            messages.append(payments.in_transit_message(invoice))
    return messages


def back_to_saldos(context, request, selection, status=400):
    """SALDOS again, with ``selection`` as typed and its errors, answering ``status``."""
    request.response.status = status
    return saldos_page(context, request, selection)


def go_to_bank(request, context, payment, selection):
    """Tell the bank of a committed pending payment and send the customer there (SPEI: its
    instructions, mailed too); SALDOS with a message when the bank does not start."""
    reference, bank = payment.reference, payment.bank
    settings = settings_of(request)
    info = starting.payment_info(payment, context, settings['public_url'],
                                 settings['company_name'])
    try:
        start = starting.start_at_bank(
            request.tm, lambda: request.root, gateway_for(request, bank), reference, info,
            after_start=lambda started: send_instructions(request, started))
    except starting.BankDidNotStart:
        selection.errors.append(_(
            'El banco no respondió. No se hizo ningún cargo y sus facturas siguen disponibles; '
            'intente de nuevo en unos minutos.'))
        return back_to_saldos(context, request, selection, status=503)
    if start.is_redirect:
        return HTTPSeeOther(start.url)
    request.override_renderer = 'canonportal:templates/bank_redirect.pt'
    values = page(context, request, 'saldos', _('Continuar al banco'), start=start,
                  bank_label=dict(configured_banks(request))[bank], payment=payment)
    values['menu'] = None     # nothing invites the customer away from the way to the bank
    return values
