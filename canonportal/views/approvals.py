"""Maker-checker: a payment a Captura user prepares waits for an approver when the
company asks for it (always, or above an amount that counts what the person commits:
:mod:`canonportal.payments.approval_rule`).

The request reserves the amounts ("Pago en Tránsito") like a payment; the approvers
(Pago or Administrador who see its accounts, never who prepared it) get a mail listing
the preparer's related payments, which its page lists too; on its page they may lower
amounts or drop invoices (never raise them), reject it with a comment, or approve it
and go on to the bank or the SPEI instructions. Everything is validated again at
approval; two approvers at once: the first commits, the second is told it is done.
A decision refused (an amount that is not one or is more than requested, no invoice
left, no reason to reject, decided already, the preparer's own) comes back as the
request's page, rendered by its own view, with the reason in red beside the field and
the forms as they were typed. A request nobody decides expires after
``canonportal.approval_business_days`` (2) business days and frees its invoices.
Whatever becomes of it, who prepared it is mailed
(:mod:`canonportal.payments.request_notices`) and its page shows the decision.
"""
import logging
from dataclasses import dataclass

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import render_view_to_response, view_config

from .. import bankdays, clock, mail
from ..formatting import deadline, money, timestamp
from ..i18n import _
from ..money import ZERO
from ..payments import approval_rule
from ..payments import service as payments
from ..payments import requests
from ..payments.form import rate_for, read_selection
from ..payments.transactions import in_own_transaction
from ..resources import Payment, customer_of
from ..resources.company_user import ADMINISTRADOR, PAGO
from ..resources.payment import EXPIRED, REQUESTED
from . import preparer_sender, settings_of
from .bank_start import go_to_bank
from .history import STATE_LABELS

log = logging.getLogger(__name__)

DEFAULT_BUSINESS_DAYS = 2
MAX_COMMENT = 500

#: Above a request's related payments (page and mail), by the rule's window of days.
RELATED_SAME_DAY = _(
    'Pagos de ${preparer} sin aprobación que cuentan junto con esta solicitud para la regla '
    'de aprobación (en las mismas facturas o del mismo día); con ella suman ${total}:')
RELATED_DAYS = _(
    'Pagos de ${preparer} sin aprobación que cuentan junto con esta solicitud para la regla '
    'de aprobación (en las mismas facturas o de los últimos ${days} días); con ella suman '
    '${total}:')


def request_deadline(now, settings):
    days = int(settings.get('canonportal.approval_business_days', DEFAULT_BUSINESS_DAYS))
    return bankdays.business_deadline(now, max(days, 1))


def approvers(customer, prepared_by, accounts=()):
    """``[(email, name, sees)]`` of who may approve a request of ``customer`` on
    ``accounts``, preparer aside: Pago and Administrador people who see those accounts;
    ``sees(account)`` says whether they see another one."""
    found = []
    if customer.email and customer.principal_id != prepared_by[0]:
        found.append((customer.email, customer.rfc, lambda account: True))
    for user in customer.users.values() if customer.users is not None else ():
        if (user.role in (PAGO, ADMINISTRADOR) and not user.disabled
                and user.password_hash is not None and user.principal_id != prepared_by[0]
                and all(user.may_see_account(account) for account in accounts)):
            found.append((user.email, user.name, user.may_see_account))
    return found


def related_rows(payments, visible, translate, locale_name):
    """The related payments someone sees (``visible(payment)``), as a request's page and
    mail show them: number, date, amount and state."""
    return [{'payment': payment, 'reference': payment.reference,
             'date': timestamp(payment.created, locale_name), 'amount': payment.total_mxn,
             'state': translate(STATE_LABELS[payment.state])}
            for payment in payments if visible(payment)]


def related_heading(request, payment, rows):
    """What the related payments are, and what they sum to with the request."""
    days = approval_rule.window_days(request.registry.settings)
    total = payment.total_mxn + sum((row['amount'] for row in rows), ZERO)
    message = RELATED_SAME_DAY if days == 1 else RELATED_DAYS
    return request.localizer.translate(message, mapping={
        'preparer': payment.prepared_by[1], 'days': str(days),
        'total': money(total, 'MXN', request.locale_name)})


def related_on_page(request, payment):
    """A request's page: ``(heading, rows)`` of the preparer's payments the approval rule
    counts with it that the signed-in person may see; None when there are none."""
    if payment.state != REQUESTED:
        return None
    related = approval_rule.related_to_request(
        payment, approval_rule.window_days(request.registry.settings))
    rows = related_rows(related, lambda other: bool(request.has_permission('view', other)),
                        request.localizer.translate, request.locale_name)
    return (related_heading(request, payment, rows), rows) if rows else None


def hold_for_approval(request, payment, related, now):
    """A new request waits for an approver until its deadline; the approvers are mailed."""
    payment.expires_at = request_deadline(now, request.registry.settings)
    notify_approvers(request, payment, related)


def notify_approvers(request, payment, related=()):
    """Mail each approver that a request waits (queued on the transaction that makes it),
    with the preparer's payments the approval rule counted with it (``related``) that
    the approver may see."""
    customer = customer_of(payment)
    settings = settings_of(request)
    translate = request.localizer.translate
    link = f"{settings['public_url']}/customers/{customer.rfc}/payments/{payment.reference}/"
    for email, name, sees in approvers(customer, payment.prepared_by, payment.accounts):
        body = translate(_(
            'Hola ${name},\n\n${preparer} preparó el pago ${reference} por ${amount} y espera su '
            'aprobación hasta el ${deadline}; si nadie la aprueba o la rechaza, vence y sus '
            'facturas quedan libres.\n\nRevíselo, ajuste o rechace en:\n\n${link}\n',
            mapping={'name': name, 'preparer': payment.prepared_by[1],
                     'reference': payment.reference,
                     'amount': money(payment.total_mxn, 'MXN', request.locale_name),
                     'deadline': deadline(payment.expires_at, request.locale_name),
                     'link': link}))
        rows = related_rows(related, lambda other: all(map(sees, other.accounts)),
                            translate, request.locale_name)
        if rows:
            body += '\n' + related_heading(request, payment, rows) + '\n\n' + ''.join(
                '  ' + translate(_('Pago ${reference}', mapping={'reference': row['reference']}))
                + f" · {row['date']} · {money(row['amount'], 'MXN', request.locale_name)}"
                f" · {row['state']}\n" for row in rows)
        mail.send(request, email, translate(_('Pago ${reference} por aprobar',
                                              mapping={'reference': payment.reference})), body)


def decision(payment):
    """What became of a colleague's request, as its page tells the preparer and the
    approvers alike: ``{'kind': 'approved', 'who', 'when', 'requested'}`` (``requested``:
    the total asked for, when approved for less), ``{'kind': 'rejected', 'who', 'when',
    'comment'}`` or ``{'kind': 'expired', 'deadline'}``; None for any other payment."""
    if not payment.was_requested:
        return None
    if payment.approved_by:
        return {'kind': 'approved', 'who': payment.approved_by[1], 'when': payment.approved_at,
                'requested': payment.requested_mxn}
    if payment.rejected_by:
        return {'kind': 'rejected', 'who': payment.rejected_by[1], 'when': payment.rejected_at,
                'comment': payment.rejection_comment}
    if payment.state == EXPIRED:
        return {'kind': 'expired', 'deadline': payment.expires_at}
    return None


def may_decide(request, payment):
    """Whether the signed-in user may approve or reject ``payment`` (a request, not theirs)."""
    identity = request.identity
    return (payment.state == REQUESTED and identity is not None
            and bool(request.has_permission('approve', payment))
            and identity.principal_id != (payment.prepared_by or ('',))[0])


@dataclass
class Refusal:
    """A decision posted and refused, for the request's page to show in red: ``message``
    above the forms; the approval's ticked invoices (``kept``) and amounts (``typed``,
    by invoice) as they were typed; the rejection's ``comment`` and what is wrong with it."""
    message: object = None
    kept: frozenset = None
    typed: dict = None
    comment: str = ''
    comment_error: object = None


def decision_values(request, payment):
    """What a request's page shows of the approver's side: whether the signed-in person
    may decide (``may_decide``), the approval form (``approval``: each invoice kept or not,
    its amount as typed and what is wrong with it, the total at the day's rate), the
    rejection's comment and its error (``rejection``) and the refusal of the decision just
    posted (``decision_error``), if this page answers one."""
    refusal = getattr(request, 'refused_decision', None) or Refusal()
    decide = may_decide(request, payment)
    return {'may_decide': decide, 'decision_error': refusal.message,
            'approval': approval_form(payment, rate_for(request), refusal) if decide else None,
            'rejection': {'comment': refusal.comment, 'error': refusal.comment_error}}


def approval_form(payment, rate, refusal):
    """The approval form's lines and total: as requested, or as the refused POST left them."""
    kept = refusal.kept
    if kept is None:
        kept = {a.invoice_key for a in payment.allocations}
    typed = refusal.typed
    if typed is None:
        typed = {a.invoice_key: f'{a.amount_currency:.2f}' for a in payment.allocations}
    amounts, errors = requests.read_decision(payment, kept, typed.get)
    lines = [{'index': index, 'key': a.invoice_key, 'currency': a.currency,
              'requested': a.amount_currency, 'kept': a.invoice_key in kept,
              'typed': typed.get(a.invoice_key, ''), 'error': errors.get(a.invoice_key)}
             for index, a in enumerate(payment.allocations)]
    return {'lines': lines, 'total': requests.decision_total(payment, amounts, rate),
            'rate': f'{rate.rate}' if rate.usable else ''}


def _typed(request, payment):
    """The approval form's amounts, by invoice of the request (nothing else is read)."""
    return {a.invoice_key: (request.POST.get(f'amount-{a.invoice_key}') or '')[:requests.MAX_TYPED]
            for a in payment.allocations}


def _refused(request, payment, refusal, status=400):
    """The request's page again (its own view), the refusal in red and the forms as typed."""
    request.refused_decision = refusal
    request.response.status_int = status
    return render_view_to_response(payment, request, '')


def _not_yours(request, payment):
    if payment.state != REQUESTED:
        return _refused(request, payment, Refusal(_('Esta solicitud ya no espera aprobación.')),
                        status=409)
    return _refused(request, payment, Refusal(_(
        'Solo otra persona con rol Pago o Administrador puede aprobar o rechazar esta '
        'solicitud.')), status=403)


def _back(request, payment_reference, message):
    request.session.flash(request.localizer.translate(message))
    return HTTPSeeOther(request.resource_url(request.root.payments_by_reference[payment_reference]))


@view_config(context=Payment, name='aprobar', permission='approve', request_method='POST',
             renderer='canonportal:templates/bank_redirect.pt')
def approve(context, request):
    """Approve (maybe for less) and go on to the bank or the SPEI instructions."""
    reference = context.reference
    if not may_decide(request, context):
        return _not_yours(request, context)
    kept, typed = frozenset(request.POST.getall('keep')), _typed(request, context)
    amounts, errors = requests.read_decision(context, kept, typed.get)
    if errors or not amounts:
        return _refused(request, context, Refusal(
            _('Revise las cantidades marcadas: la solicitud sigue esperando aprobación.')
            if errors else _('Deje al menos una factura de la solicitud.'), kept, typed))
    signature = request.identity.signature
    tell = preparer_sender(request)

    def work():
        payment = request.root.payments_by_reference[reference]
        return requests.approve_request(request.root, payment, amounts, signature,
                                        rate_for(request), clock.utcnow(), tell_preparer=tell)

    try:
        in_own_transaction(request.tm, work, attempts=20)
    except payments.PaymentRefused as refused:
        payment = request.root.payments_by_reference[reference]
        return _refused(request, payment, Refusal(refused.message, kept, typed),
                        status=400 if payment.state == REQUESTED else 409)
    payment = request.root.payments_by_reference[reference]
    customer = customer_of(payment)
    return go_to_bank(request, customer, payment, read_selection(customer, request))


@view_config(context=Payment, name='rechazar', permission='approve', request_method='POST')
def reject(context, request):
    reference = context.reference
    if not may_decide(request, context):
        return _not_yours(request, context)
    comment = (request.POST.get('comentario') or '').strip()[:MAX_COMMENT]
    if not comment:
        return _refused(request, context, Refusal(
            comment_error=_('Escriba por qué rechaza la solicitud.')))
    signature = request.identity.signature
    tell = preparer_sender(request)
    in_own_transaction(request.tm, lambda: requests.reject_request(
        request.root.payments_by_reference[reference], signature, comment, clock.utcnow(),
        tell_preparer=tell))
    return _back(request, reference, _('Solicitud ${reference} rechazada: sus facturas quedaron '
                                       'libres.', mapping={'reference': reference}))
