"""The staff's SPEI transfers: statement imports, the queue "Transferencias sin aplicar"
and the latest transfers received.

An operator either assigns a queued transfer to a customer and the invoices it pays
(a payment is created and paid with it; the invoices must add up to the amount
exactly), or marks it as not for the portal. Both need a comment and are audited.
A transfer paid to one customer's own CLABE is assigned to another customer only
with the form's confirmation box ticked (``otro_cliente``). A transfer that came
under the date, clave de rastreo and ordering bank of another shows that other one.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ... import audit, clock
from ...i18n import _
from ...payments import service
from ...payments import transfers as spei_payments
from ...resources.folder import keys_descending
from ...resources.incoming_transfer import SAME_KEY, STATES, IncomingTransfer, Transfers
from ...spei import clabes
from .. import receipt_sender
from . import MANAGE, ROUTE, VIEW, manage_globals, manage_url
from .erp import uploaded_files

TEMPLATE = 'canonportal:templates/manage/transfers.pt'
RECENT = 50
QUEUE_SHOWN = 200
#: At most this many invoices are named in one assignment.
MAX_ASSIGNED_INVOICES = 200

STATE_LABELS = {
    'matched': _('Aplicada'),
    'review': _('En revisión'),
    'unmatched': _('Sin aplicar'),
    'assigned': _('Asignada por el personal'),
    'not-for-portal': _('No es del portal'),
    'same-key': _('Clave repetida: por revisar'),
}
assert set(STATE_LABELS) == set(STATES)


def _row(transfer, translate, owner_of=lambda transfer: None):
    data = transfer.data
    return {
        'same_key': transfer.state == SAME_KEY, 'related': transfer.related,
        'owner': owner_of(transfer),
        'transfer': transfer, 'key': transfer.key, 'day': data.get('operation_date', ''),
        'tracking_key': transfer.tracking_key, 'amount': transfer.amount,
        'clabe': data.get('beneficiary_account', ''),
        'ordering': ' '.join(filter(None, (data.get('ordering_name', ''),
                                           clabes.masked(data.get('ordering_account', ''))))),
        'bank': clabes.bank_name(data.get('ordering_bank', '')) or data.get('ordering_bank', ''),
        'reference': data.get('numeric_reference', ''), 'concept': data.get('concept', ''),
        'state': transfer.state, 'payment': transfer.payment_reference,
        'note': spei_payments.describe_note(transfer, translate),
        'sources': ', '.join(transfer.sources),
    }


def transfers_values(context, request, report=None, errors=None, form=None):
    gateway = request.registry.gateways.get(spei_payments.SPEI)

    def owner_of(transfer):
        """The RFC of the customer whose own CLABE the transfer went to, or None."""
        owner = spei_payments.clabe_owner(request.root, gateway, transfer) if gateway else None
        return owner.rfc if owner is not None else None

    translate = request.localizer.translate
    queue = [_row(t, translate, owner_of) for t in list(context.unmatched.values())[:QUEUE_SHOWN]]
    recent = [_row(context[key], translate)
              for key, _n in zip(keys_descending(context.data), range(RECENT))]
    return manage_globals(
        request, context, page_title=_('Transferencias SPEI'), queue=queue,
        queue_count=len(context.unmatched), recent=recent, state_labels=STATE_LABELS,
        report=report, errors=errors or {}, form=form or {},
        report_text=report.text(request.localizer.translate) if report is not None else "",
        payment_url=lambda reference: manage_url(
            request, request.root.payments_by_reference[reference]) if reference in
        request.root.payments_by_reference else None,
        transfer_url=lambda key: manage_url(request, context[key]) if key in context else None,
        spei_ready=gateway is not None)


@view_config(route_name=ROUTE, context=Transfers, name='', permission=VIEW,
             request_method=('GET', 'HEAD'), renderer=TEMPLATE)
def transfers_page(context, request):
    return transfers_values(context, request)


@view_config(route_name=ROUTE, context=Transfers, name='importar-estado', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def import_statement(context, request):
    """A bank statement uploaded by staff: every credit received, all or nothing."""
    gateway = request.registry.gateways.get(spei_payments.SPEI)
    files = uploaded_files(request)
    if gateway is None or len(files) != 1:
        request.response.status = 400
        return transfers_values(context, request, errors={'statement': _(
            'Elija un archivo de estado de cuenta (camt.053, MT940 o CSV).') if gateway else _(
            'SPEI no está configurado en este portal.')})
    _name, handle = files[0]
    data = handle.read(spei_payments.MAX_STATEMENT_BYTES + 1)
    report = spei_payments.take_statement(request.tm, lambda: request.root, gateway, data,
                                          audit.actor_of(request), receipt_sender(request))
    if not report.ok:
        request.response.status = 400
        return transfers_values(context, request, report=report)
    request.session.flash(report.text(request.localizer.translate))
    return HTTPSeeOther(manage_url(request, context))


def _back_with(request, transfer, message, form):
    """The page again with ``message`` at the transfer's row; nothing of the attempt stays."""
    request.tm.doom()
    response = render_to_response(TEMPLATE, transfers_values(
        transfer.__parent__, request, errors={transfer.key: message}, form=form), request=request)
    response.status = 400
    return response


@view_config(route_name=ROUTE, context=IncomingTransfer, name='asignar', permission=MANAGE,
             request_method='POST')
def assign_transfer(context, request):
    """Whose the transfer is and which invoices it pays (they must add up to it)."""
    rfc = (request.POST.get('rfc') or '').strip().upper()[:13]
    keys = [key.strip() for key in (request.POST.get('facturas') or '').replace(',', ' ').split()]
    comment = (request.POST.get('comentario') or '').strip()[:500]
    other_customer = request.POST.get('otro_cliente') == 'si'
    form = {'rfc': rfc, 'facturas': ' '.join(keys[:MAX_ASSIGNED_INVOICES]), 'comentario': comment,
            'key': context.key, 'otro_cliente': other_customer}
    customer = request.root.customers.find_by_rfc(rfc) if rfc else None
    gateway = request.registry.gateways.get(spei_payments.SPEI)
    if customer is None:
        return _back_with(request, context, _('No hay un cliente con ese RFC.'), form)
    if not keys or len(keys) > MAX_ASSIGNED_INVOICES or len(set(keys)) != len(keys):
        return _back_with(request, context, _('Escriba los folios de las facturas que paga, '
                                              'separados por espacios, sin repetir.'), form)
    before = context.state
    try:
        received = spei_payments.assign(request.root, gateway, context, customer, keys,
                                        clock.utcnow(), request.identity.signature, comment,
                                        other_customer=other_customer)
    except service.PaymentRefused as refused:
        return _back_with(request, context, refused.message, form)
    audit.record(request.root, audit.actor_of(request), 'spei.assigned', context, before,
                 'assigned', f'{customer.rfc} {" ".join(keys)}: {comment}')
    if received.receipt_due:
        receipt_sender(request)(request.root.payments_by_reference[received.payment_reference])
    request.session.flash(request.localizer.translate(_(
        'Transferencia ${key} asignada: pago ${reference}.',
        mapping={'key': context.key, 'reference': received.payment_reference})))
    return HTTPSeeOther(manage_url(request, context.__parent__))


@view_config(route_name=ROUTE, context=IncomingTransfer, name='no-es-del-portal',
             permission=MANAGE, request_method='POST')
def not_for_portal(context, request):
    comment = (request.POST.get('comentario') or '').strip()[:500]
    before = context.state
    try:
        spei_payments.not_for_portal(request.root, context, clock.utcnow(),
                                     audit.actor_of(request), comment)
    except service.PaymentRefused as refused:
        return _back_with(request, context, refused.message, {'comentario': comment,
                                                              'key': context.key})
    audit.record(request.root, audit.actor_of(request), 'spei.not-for-portal', context,
                 before, 'not-for-portal', comment)
    request.session.flash(request.localizer.translate(_(
        'Transferencia ${key} marcada como ajena al portal.', mapping={'key': context.key})))
    return HTTPSeeOther(manage_url(request, context.__parent__))
