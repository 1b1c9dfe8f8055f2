"""SPEI: the receiving bank's deposit notifications, the instructions a waiting payment
shows, and the CEP of a paid one.

``POST /spei/abono`` is the only way in for the bank: authenticated by the shared
secret's signature (never by a session), exempt from CSRF, idempotent on the
transfer's key. The matching itself is :mod:`canonportal.payments.transfers`;
Banxico is asked for the CEP after the match has committed, with no transaction
open, and what it said is recorded in a transaction of its own.
"""
import json
import logging

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import clock
from ..payments import transfers as spei_payments
from ..payments.transactions import in_own_transaction
from ..resources import Payment, PortalRoot, customer_of
from ..resources.payment import PENDING
from ..spei import clabes
from ..spei.abono import ACKNOWLEDGEMENT, AbonoRejected
from . import receipt_sender

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
        return _json({'mensaje': 'rechazado'}, status=403)
    received = receive_transfer(request, transfer, 'bank:spei')
    if received.payment_reference and not received.duplicate:
        check_cep(request, received.payment_reference)
    return _json(ACKNOWLEDGEMENT)


def receive_transfer(request, transfer, actor):
    """Record and match ``transfer`` in a transaction of its own; mail the receipt once."""
    send = receipt_sender(request)

    def work():
        root = request.root
        received = spei_payments.receive(root, spei_gateway(request), transfer, clock.utcnow(),
                                         actor)
        if received.receipt_due:
            send(root.payments_by_reference[received.payment_reference])
        return received

    return in_own_transaction(request.tm, work, attempts=20)


def check_cep(request, reference):
    """Ask Banxico for the CEP of payment ``reference``'s transfer and record the answer."""
    gateway = spei_gateway(request)
    payment = request.root.payments_by_reference.get(reference)
    if gateway is None or payment is None:
        return None
    return spei_payments.fetch_and_record_cep(request.tm, lambda: request.root, gateway, reference,
                                              clock.utcnow())


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
        'deadline': payment.expires_at,
        'waiting': payment.state == PENDING,
        'own_clabe': gateway.range is not None,
    }


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
