"""Paying: confirmation, the transactional pay view, the bank's return and
notifications, the result page and the receipt.

The pay view reserves the invoices in one transaction and commits it before
the bank hears of the payment, so a retried request (ZODB conflict) can never
open two bank sessions. Bank return and notification endpoints identify the
payment by its reference, authenticate by signature or secret (never by the
session) and are the only POST views exempt from CSRF.
"""
import logging

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import clock
from ..gateways import GatewayError, RejectedMessage, bank_label
from ..i18n import _
from ..payments import approval_rule, bank_query, starting
from ..payments import service as payments
from ..payments.applied import applied_line
from ..payments.form import RETRY_PARAM, configured_banks, read_selection
from ..payments.transactions import in_own_transaction
from ..reports.receipt_data import receipt_lines
from ..reports.receipt_pdf import receipt_pdf as render_receipt
from ..resources import Customer, Payment, PortalRoot, customer_of
from ..resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REQUESTED,
)
from ..security import AFTER_SIGN_IN
from . import approvals, bank_reasons, receipt_sender, settings_of
from .bank_start import back_to_saldos, blocked_by_transit, gateway_for, go_to_bank
from .complement_lists import of_payment
from .customer import page
from . import spei as spei_views

log = logging.getLogger(__name__)


#: How many times the reservation transaction is tried when concurrent payments conflict.
RESERVE_ATTEMPTS = 20


def _minutes(request, name, default):
    return payments.minutes(request.registry.settings.get(name, default))


@view_config(context=Customer, name='pagar', permission='view', request_method='GET')
def pay_address(context, request):
    """The confirmation's address reloaded, bookmarked or reached by switching language:
    back to SALDOS, where a payment starts (nothing is paid by a GET)."""
    return HTTPSeeOther(request.resource_url(context, 'saldos'))


@view_config(context=Customer, name='pagar', permission='pay', request_method='POST',
             renderer='canonportal:templates/pay_confirm.pt')
def pay(context, request):
    """A bank button on SALDOS: confirm, then reserve the invoices and go to the bank.

    Without ``confirmado`` the customer sees "¿Desea continuar con el pago?" with
    the total computed by the server. With it, the payment is created.
    """
    selection = read_selection(context, request)
    banks = dict(configured_banks(request))
    bank = request.POST.get('bank', '')
    if bank not in banks or gateway_for(request, bank) is None:
        selection.errors.append(_('Elija uno de los bancos de la lista.'))
    elif not selection.has_errors and not selection.chosen:
        selection.errors.append(_('Seleccione al menos una factura para pagar.'))
    if selection.has_errors:
        blocked = blocked_by_transit(context, selection)
        if blocked:
            # Another tab or session reserved these amounts since this page was shown.
            selection.errors.extend(blocked)
            return back_to_saldos(context, request, selection, status=409)
        return back_to_saldos(context, request, selection)
    if request.POST.get('confirmado') != '1':
        return page(context, request, 'saldos', _('Confirmar pago'), selection=selection,
                    bank=bank, bank_label=banks[bank],
                    pay_action=request.resource_url(context, 'pagar'),
                    saldos_action=request.resource_url(context, 'saldos'))

    # The reservation is committed in its own transaction before the bank hears
    # of the payment, so no retry (of this loop or of the whole request by
    # pyramid_retry) can ever open a second bank session. Write conflicts with
    # concurrent payments are retried here, as often as payers may race: each
    # round commits at least one of them, and every retry re-validates against
    # the reservations the others committed.
    # Whether a colleague's payment waits for an approver is decided in the reservation.
    def reserve():
        selection = read_selection(context, request)
        if selection.has_errors:
            # Changed since the confirmation page: reported below.
            raise payments.PaymentRefused(None)
        now = clock.utcnow()
        rule = approval_rule.decide(context, request.identity.principal_id,
                                    request.has_permission('approve', context), selection, now,
                                    request.registry.settings)
        payment = payments.create_payment(
            request.root, context, bank, selection, now,
            state=REQUESTED if rule.needed else PENDING,
            prepared_by=request.identity.signature)
        if rule.needed:
            approvals.hold_for_approval(request, payment, rule.related, now)
        else:
            payment.expires_at = gateway_for(request, bank).deadline(payment.created)
        return payment

    try:
        payment = in_own_transaction(request.tm, reserve, attempts=RESERVE_ATTEMPTS)
    except payments.PaymentRefused as refused:
        selection = read_selection(context, request)
        blocked = blocked_by_transit(context, selection)
        selection.errors.extend(blocked)
        if refused.message is not None and not blocked:
            selection.errors.append(refused.message)
        return back_to_saldos(context, request, selection, status=409 if blocked else 400)
    if payment.state == REQUESTED:
        return HTTPSeeOther(request.resource_url(payment))
    return go_to_bank(request, context, payment, selection)


def _find_payment(request, bank, reference):
    payment = request.root.payments_by_reference.get(reference or '')
    if payment is None or payment.bank != bank or gateway_for(request, bank) is None:
        return None
    return payment


def _settle(request, payment, result):
    """A verified return or notice: applied and committed by the service, receipt mailed once."""
    return payments.record_answer(request.tm, lambda: request.root, payment.reference, result,
                                  clock.utcnow(), receipt_sender(request))


@view_config(context=PortalRoot, name='banco', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method=('GET', 'POST'))
def bank_endpoint(request):
    """``/banco/<bank>/retorno/<reference>`` (browser return, BBVA post-back) and
    ``/banco/<bank>/notificacion`` (server-to-server notification)."""
    parts = request.subpath
    if len(parts) == 3 and parts[1] == 'retorno':
        return _bank_return(request, parts[0], parts[2])
    if len(parts) == 2 and parts[1] == 'notificacion' and request.method == 'POST':
        return _bank_notification(request, parts[0])
    raise HTTPNotFound()


def _bank_return(request, bank, reference):
    payment = _find_payment(request, bank, reference)
    if payment is None:
        log.warning('bank return for unknown payment %r at %s', reference, bank)
        raise HTTPNotFound()
    identity = request.identity
    owner = identity is not None and identity.customer is customer_of(payment)
    if owner or request.method == 'POST':
        # A browser that is not the owner's gets no bank call out of us (Citibanamex's
        # return is a server-to-server query); a BBVA post-back carries its own signed data.
        _read_return(request, bank, payment)
    if owner:
        return HTTPSeeOther(request.resource_url(payment))
    # Nothing about the payment (not even whose it is) for anyone else: sign in first,
    # then the payment's page.
    request.session[AFTER_SIGN_IN] = request.resource_path(payment)
    return HTTPSeeOther(request.resource_url(request.root))


def _read_return(request, bank, payment):
    reference = payment.reference
    gateway = gateway_for(request, bank)
    params = request.POST if request.method == 'POST' else request.GET
    try:
        result = gateway.read_return(dict(params), payment.start_data or {})
    except RejectedMessage:
        # Claimed to be signed by the bank and is not (the gateway logged it):
        # refused like a forged notification; nothing changes.
        raise HTTPForbidden()
    except GatewayError as error:
        log.warning('payment %s: could not ask %s on return: %s', reference, bank, error)
        result = None
    if result is not None and result.reference != payment.reference:
        log.warning('payment %s: return carried data of %r: ignored', reference, result.reference)
        result = None
    if result is not None:
        _settle(request, payment, result)


def _stored_for(request, bank, reference):
    payment = _find_payment(request, bank, reference)
    return payment.start_data if payment is not None else None


def _bank_notification(request, bank):
    gateway = gateway_for(request, bank)
    if gateway is None:
        raise HTTPNotFound()
    try:
        result = gateway.read_notification(request.headers, request.body, dict(request.POST),
                                           stored_for=lambda reference: _stored_for(request, bank, reference))
    except RejectedMessage:
        return Response('rejected', status=403, content_type='text/plain')
    except GatewayError as error:
        log.warning('notification from %s could not be verified: %s', bank, error)
        return Response('try again', status=503, content_type='text/plain')
    payment = _find_payment(request, bank, result.reference)
    if payment is None:
        log.warning('notification from %s for unknown payment %r', bank, result.reference)
        return Response('unknown order', status=404, content_type='text/plain')
    _settle(request, payment, result)
    return Response('ok', content_type='text/plain')


@view_config(context=Payment, name='continuar', permission='pay', request_method='POST',
             renderer='canonportal:templates/bank_redirect.pt')
def continue_payment(context, request):
    """"Continuar el pago": back to the bank for the same payment, where its protocol allows."""
    customer = customer_of(context)
    gateway = gateway_for(request, context.bank)
    window = gateway.resume_window if gateway is not None else None
    too_old = window is not None and clock.utcnow() - context.created >= window
    if context.state != PENDING or gateway is None or too_old:
        if context.state == PENDING:
            request.session.flash(request.localizer.translate(_(
                'Este pago ya no se puede continuar en el banco; cancélelo y pague de nuevo.')))
        return HTTPSeeOther(request.resource_url(context))
    settings = settings_of(request)
    info = starting.payment_info(context, customer, settings['public_url'],
                                 settings['company_name'])
    start = gateway.resume(info, dict(context.start_data or {}))
    if start is None:
        request.session.flash(request.localizer.translate(_(
            'El banco no permite volver a este pago; cancélelo y pague de nuevo.')))
        return HTTPSeeOther(request.resource_url(context))
    if start.is_redirect:
        return HTTPSeeOther(start.url)
    values = page(customer, request, 'saldos', _('Continuar al banco'), start=start,
                  bank_label=bank_label(context.bank), payment=context)
    values['menu'] = None
    return values


@view_config(context=Payment, name='cancelar', permission='pay', request_method='POST')
def cancel_payment(context, request):
    """"Cancelar el pago": the invoices are free at once; a later approval goes to review."""
    reference = context.reference
    actor = request.identity.principal_id
    settlement = in_own_transaction(request.tm, lambda: payments.cancel_by_customer(
        request.root.payments_by_reference[reference], clock.utcnow(), actor=actor))
    customer = customer_of(request.root.payments_by_reference[reference])
    if settlement.changed:
        request.session.flash(request.localizer.translate(_(
            'Pago ${reference} cancelado: sus facturas quedaron libres para pagarse de nuevo.',
            mapping={'reference': reference})))
        return HTTPSeeOther(request.resource_url(customer, 'saldos'))
    return HTTPSeeOther(request.resource_url(request.root.payments_by_reference[reference]))


@view_config(context=Payment, name='', permission='view',
             renderer='canonportal:templates/payment.pt')
def payment_page(context, request):
    """The result page: approved, declined, cancelled, expired, in review, or waiting."""
    customer = customer_of(context)
    gateway = gateway_for(request, context.bank)
    if context.state == PENDING and gateway is not None:
        # The same check as canonportal-reconcile, for this one payment: the bank is
        # asked with no transaction open, then the service applies what it said.
        bank_query.ask_bank(
            request.tm, lambda: request.root, gateway, context.reference,
            dict(context.start_data or {}), clock.utcnow(), receipt_sender(request),
            _minutes(request, 'canonportal.payment_expire_minutes', 120))
    spei = spei_views.instructions(request, context)
    if context.state == PENDING:
        # Waiting for a card bank takes seconds; a transfer may take days.
        request.response.headers['Refresh'] = '60' if spei else '5'
    retry = context.state in (DECLINED, CANCELLED, EXPIRED)
    return page(customer, request, 'historial-de-pagos', page_title(context, spei),
                payment=context, bank_label=bank_label(context.bank),
                lines=receipt_lines(context),
                paid=context.state in (APPROVED, APPLIED),
                bank_reason=bank_reasons.explain(context), spei=spei,
                transfer=spei_views.transfer_facts(context),
                ordering_banks=spei_views.ordering_banks() if spei else (),
                decision=approvals.decision(context),
                applied=applied_line(context, settings_of(request)['company_name'],
                                     request.locale_name),
                related=approvals.related_on_page(request, context),
                complements=of_payment(request, customer, context),
                today=clock.mexico_today(),
                retry_url=request.resource_url(customer, 'saldos', query={
                    RETRY_PARAM: context.reference}) if retry else None,
                **approvals.decision_values(request, context))


def page_title(payment, spei):
    """A payment's page is headed by what it is now: a request waiting for an approver,
    the instructions of a transfer, a payment at the bank, or the result."""
    mapping = {'reference': payment.reference}
    if payment.state == REQUESTED:
        return _('Solicitud de pago ${reference}', mapping=mapping)
    if payment.state == PENDING and spei:
        return _('Pago ${reference} por transferencia SPEI', mapping=mapping)
    if payment.state == PENDING:
        return _('Pago ${reference} en proceso en el banco', mapping=mapping)
    return _('Resultado del pago ${reference}', mapping=mapping)


@view_config(context=Payment, name='recibo', permission='view',
             renderer='canonportal:templates/receipt.pt')
def receipt_page(context, request):
    """A printable receipt of an approved payment."""
    if context.state not in (APPROVED, APPLIED):
        raise HTTPNotFound()
    customer = customer_of(context)
    return page(customer, request, 'historial-de-pagos', _('Recibo de pago'),
                payment=context, bank_label=bank_label(context.bank),
                lines=receipt_lines(context), complements=of_payment(request, customer, context))


@view_config(context=Payment, name='recibo.pdf', permission='view')
def receipt_pdf(context, request):
    if context.state not in (APPROVED, APPLIED):
        raise HTTPNotFound()
    customer = customer_of(context)
    body = render_receipt(context, customer, settings_of(request)['company_name'],
                  translate=request.localizer.translate, locale_name=request.locale_name)
    response = Response(body=body, content_type='application/pdf')
    response.content_disposition = (
        f'attachment; filename="recibo-{customer.rfc}-{context.reference}.pdf"')
    return response
