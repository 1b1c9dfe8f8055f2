"""SPEI: the receiving bank's deposit notifications, the instructions a waiting payment
shows, and the CEP of a paid one.

``POST /spei/abono`` is the only way in for the bank: authenticated by the shared
secret's signature (never by a session), exempt from CSRF, idempotent on the
transfer's key. It answers "confirmar" only once the transfer is recorded (as a
copy of one recorded before, too), and "rechazado" with HTTP 403 (not signed) or
400 (signed but unusable) otherwise. The matching itself is
:mod:`canonportal.payments.transfers`; Banxico is asked for the CEP after the match
has committed, with no transaction open, and what it said is recorded in a
transaction of its own.

"Ya pagué" asks Banxico only within the claims allowed per payment and per company
and the process's cap on CEP queries (:mod:`canonportal.payments.transfers.claims`).
"""
import datetime
import json
import logging

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import audit, clock, mail
from ..i18n import _
from ..payments import receipts
from ..payments import transfers as spei_payments
from ..reports.spei_pdf import instructions_pdf as render_instructions
from ..resources import Payment, PortalRoot, customer_of
from ..resources.payment import PENDING
from ..spei import clabes
from ..spei.abono import ACKNOWLEDGEMENT, REFUSAL, AbonoRejected
from ..spei.cep import CepError, Query, parse_cep_xml
from ..spei.credit import TRACKING_KEY
from . import receipt_sender, settings_of

log = logging.getLogger(__name__)

SPEI = spei_payments.SPEI


def spei_gateway(request):
    return request.registry.gateways.get(SPEI)


def _json(data, status=200):
    return Response(json.dumps(data), status=status, content_type='application/json',
                    charset='utf-8')


@view_config(context=PortalRoot, name='spei', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST')
def abono_endpoint(request):
    """``/spei/abono``: one transfer credited to one of our CLABEs."""
    gateway = spei_gateway(request)
    if gateway is None or list(request.subpath) != ['abono']:
        raise HTTPNotFound()
    try:
        transfer = gateway.read_abono(request.headers, request.body)
    except AbonoRejected as rejected:
        log.warning('refused a SPEI abono: %s', rejected.reason)
        return _json(REFUSAL, status=rejected.status)
    spei_payments.take_transfer(request.tm, lambda: request.root, gateway, transfer,
                                'bank:spei', receipt_sender(request))
    return _json(ACKNOWLEDGEMENT)


def instructions(request, payment):
    """What the customer needs to make the transfer, or None for other payments."""
    gateway = spei_gateway(request)
    if payment.bank != SPEI or gateway is None:
        return None
    customer = customer_of(payment)
    clabe = gateway.clabe_for(customer.number)
    return {
        'beneficiary': gateway.beneficiary,
        'bank': gateway.bank or clabes.bank_name(clabe),
        'clabe': clabe,
        'amount': payment.total_mxn,
        'reference': clabes.numeric_reference(payment.reference),
        'concept': f'PAGO {payment.reference} {customer.rfc}',
        # The first moment too late (shown by formatting.deadline as the last minute in time).
        'deadline': payment.expires_at,
        'waiting': payment.state == PENDING,
        'own_clabe': gateway.range is not None,
    }


def send_instructions(request, payment):
    """Queue the instructions mail of a new SPEI payment on the request's transaction."""
    shown = instructions(request, payment)
    if shown is None:
        return
    settings = settings_of(request)
    receipts.send_instructions(payment, shown, lambda *parts: mail.send(request, *parts),
                               settings['company_name'], settings['public_url'],
                               request.localizer.translate, request.locale_name)


@view_config(context=Payment, name='instrucciones.pdf', permission='view', request_method='GET')
def instructions_pdf(context, request):
    """The instructions of a SPEI payment still waiting for its transfer, printable."""
    shown = instructions(request, context)
    if shown is None or not shown['waiting']:
        raise HTTPNotFound()
    customer = customer_of(context)
    body = render_instructions(shown, context, customer, settings_of(request)['company_name'],
                  request.localizer.translate, request.locale_name)
    response = Response(body=body, content_type='application/pdf')
    response.content_disposition = (
        f'attachment; filename="instrucciones-spei-{customer.rfc}-{context.reference}.pdf"')
    return response


def transfer_facts(payment):
    """The transfer that paid ``payment``, as the customer sees it (account masked)."""
    data = payment.transfer
    if not data:
        return None
    return {
        'tracking_key': data.get('tracking_key', ''),
        'ordering_bank': clabes.bank_name(data.get('ordering_bank', '')) or data.get('ordering_bank', ''),
        'ordering_account': clabes.masked(data.get('ordering_account', '')),
        'ordering_name': data.get('ordering_name', ''),
        'operation_date': data.get('operation_date', ''),
        'has_cep': payment.cep_xml is not None,
        'cep_state': payment.cep_state,
    }


def _cep_download(payment, kind):
    body = spei_payments.cep_document(payment, kind)
    if body is None:
        raise HTTPNotFound()
    customer = customer_of(payment)
    response = Response(body=body, content_type='application/pdf' if kind == 'pdf'
                        else 'application/xml')
    response.content_disposition = (
        f'attachment; filename="cep-{customer.rfc}-{payment.reference}.{kind}"')
    return response


@view_config(context=Payment, name='cep.xml', permission='view', request_method='GET')
def cep_xml(context, request):
    return _cep_download(context, 'xml')


@view_config(context=Payment, name='cep.pdf', permission='view', request_method='GET')
def cep_pdf(context, request):
    return _cep_download(context, 'pdf')


#: The banks a customer may say the transfer came from ("ya pagué"), by participant code.
ORDERING_BANKS = ('40002', '40012', '40014', '40021', '40072', '40030', '40036', '40058',
                  '40044', '40127', '40137', '90646', '90722')
MAX_CEP_UPLOAD = 256 * 1024


def ordering_banks():
    return [(code, clabes.bank_name(code) or code) for code in ORDERING_BANKS]


def _claim_problem(request, payment):
    """What the customer told us about their transfer, as (Query, None) or (None, message)."""
    customer = customer_of(payment)
    gateway = spei_gateway(request)
    account = gateway.clabe_for(customer.number)
    upload = request.POST.get('cep')
    if getattr(upload, 'file', None) is not None and getattr(upload, 'filename', ''):
        data = upload.file.read(MAX_CEP_UPLOAD + 1)
        if len(data) > MAX_CEP_UPLOAD:
            return None, _('El archivo es demasiado grande para ser un CEP.')
        try:
            cep = parse_cep_xml(data)
        except CepError:
            return None, _('El archivo no es el XML de un CEP de Banxico.')
        sender = clabes.participant_code(cep.ordering_account)
        if not sender or not TRACKING_KEY.match(cep.tracking_key or ''):
            return None, _('El CEP no trae la clave de rastreo o la cuenta del banco ordenante.')
        # Only what identifies the transfer is taken from the file: Banxico is asked for the rest.
        return Query(cep.operation_date, cep.tracking_key, sender,
                     clabes.participant_code(account), account, payment.total_mxn), None
    tracking = (request.POST.get('clave') or '').strip().upper()
    bank = (request.POST.get('banco') or '').strip()
    try:
        day = datetime.date.fromisoformat((request.POST.get('fecha') or '').strip()[:10])
    except ValueError:
        day = None
    if not TRACKING_KEY.match(tracking):
        return None, _('Escriba la clave de rastreo: hasta 30 letras y números, como la da su banco.')
    if bank not in ORDERING_BANKS:
        return None, _('Elija el banco desde el que hizo la transferencia.')
    earliest = payment.created.date() - datetime.timedelta(days=1)
    if day is None or not earliest <= day <= clock.mexico_today():
        return None, _('Escriba la fecha de la transferencia (no antes de crear este pago ni después de hoy).')
    return Query(day, tracking, bank, clabes.participant_code(account), account,
                 payment.total_mxn), None


CLAIMED = spei_payments.claims
#: What the customer reads when a claim found nothing to receive.
CLAIM_MESSAGES = {
    CLAIMED.TOO_MANY: _('Ya consultamos a Banxico varias veces por sus transferencias en la '
                        'última hora. Intente de nuevo más tarde.'),
    CLAIMED.BUSY: _('El portal está consultando a Banxico muchas veces en este momento. '
                    'Intente de nuevo en unos minutos.'),
    CLAIMED.NOT_FOUND: _('Banxico no encuentra esa transferencia todavía. Revise la clave, la '
                         'fecha y el banco, o intente de nuevo en unos minutos.'),
    CLAIMED.UNREADABLE: _('El CEP de Banxico no se pudo leer; nuestro equipo lo revisará.'),
}


@view_config(context=Payment, name='ya-pague', permission='pay', request_method='POST')
def claim_transfer(context, request):
    """"Ya pagué": the customer gives the clave de rastreo (or the CEP XML); Banxico is asked
    before anything is believed (:func:`canonportal.payments.transfers.claim_transfer`), and
    what it confirms is received like any transfer."""
    gateway = spei_gateway(request)
    if gateway is None or context.bank != SPEI or context.state != PENDING:
        raise HTTPNotFound()
    query, problem = _claim_problem(request, context)
    reference = context.reference
    if query is not None:
        claim = spei_payments.claim_transfer(
            request.tm, lambda: request.root, gateway, reference, query, clock.utcnow(),
            audit.actor_of(request), receipt_sender(request))
        received = claim.received
        if received is None:
            problem = CLAIM_MESSAGES[claim.outcome]
        elif received.payment_reference != reference:
            problem = _paid_elsewhere(request.root, received, context.customer_rfc)
    if problem is not None:
        request.session.flash(request.localizer.translate(problem))
    return HTTPSeeOther(request.resource_url(request.root.payments_by_reference[reference]))


def _paid_elsewhere(root, received, rfc):
    """What the customer is told when the transfer they named did not pay this payment."""
    other = root.payments_by_reference.get(received.payment_reference or '')
    if other is not None and other.customer_rfc == rfc:
        return _('Esa transferencia ya pagó el pago ${other}.', mapping={'other': other.reference})
    if other is not None:       # another customer's: not named
        return _('Esa transferencia ya se aplicó a otro pago. Si cree que es un error, '
                 'escríbanos.')
    return _('Recibimos la transferencia; nuestro equipo la aplicará y le avisará.')
