"""A payment's management page and the staff's two actions on it.

"Consultar al banco ahora" asks the payment's bank server to server. The
bank is called with no database transaction open, and what it said is then
applied in a transaction of its own (retried on conflicts without calling the
bank again), as the pay view does: a retried request never repeats a bank
call. A pending payment goes through :func:`canonportal.payments.service.record_answer`
exactly as ``canonportal-reconcile`` takes it (settle with the verified
answer, or expire it when the bank offers no query and the window is over);
for any other state the answer is only shown, never applied.

"Resolver revisión" is :func:`canonportal.payments.service.resolve_review`: approve,
decline or refund-needed, with a required comment.
"""
import logging

from pyramid.view import view_config

from ... import audit, audit_notes, clock
from ... import gateways as gw
from ...gateways import bank_label
from ...audit_notes import OUTCOME_LABELS
from ...i18n import _
from ...payments import service as payments
from ...payments import bank_query
from ...payments.transactions import in_own_transaction
from ...resources import Customer, Payment, customer_of
from ...resources.payment import APPROVED, DECLINED, PENDING, REFUND_NEEDED, REVIEW
from .. import receipt_sender
from . import MANAGE, ROUTE, VIEW, manage_url
from .contents import back_to, object_values, refuse
from .labels import PAYMENT_STATE_LABELS
from .listing import Cells, Choice, Column, Kind, register_listing, sortable_when

log = logging.getLogger(__name__)

TEMPLATE = 'canonportal:templates/manage/payment.pt'

#: What staff may decide for a payment in review, as the form offers it.
DECISIONS = (
    (APPROVED, _('Aprobar: el banco cobró y el pago es bueno')),
    (DECLINED, _('Rechazar: el banco no cobró')),
    (REFUND_NEEDED, _('Requiere reembolso: el banco cobró pero el dinero se devuelve')),
)
DECISION_LABELS = dict(DECISIONS)
MAX_COMMENT = 1000

SOURCE_LABELS = {
    payments.SOURCE_PORTAL: _('portal'),
    payments.SOURCE_RECONCILIATION: _('conciliación'),
    payments.SOURCE_STAFF: _('personal'),
    payments.SOURCE_ERP: _('ERP'),
    gw.SOURCE_NOTIFICATION: _('aviso del banco'),
    gw.SOURCE_QUERY: _('consulta al banco'),
    gw.SOURCE_RETURN: _('regreso del banco'),
}


PAYMENT_COLUMNS = (
    Column('created', _('Creado'), lambda p, x: x.fmt.timestamp(p.created), sortable_when),
    Column('bank', _('Banco'), lambda p, x: p.bank, lambda p: p.bank),
    Column('state', _('Estado'), lambda p, x: x.label(PAYMENT_STATE_LABELS, p.state),
           lambda p: p.state),
    Column('total', _('Total'), lambda p, x: x.fmt.money(p.total_mxn, 'MXN'),
           lambda p: p.total_mxn, numeric=True),
    Column('bank_reference', _('Referencia bancaria'), lambda p, x: p.bank_reference or '—'),
)

PAYMENT_FILTERS = (
    Choice('estado', _('Estado'), PAYMENT_STATE_LABELS.items(),
           lambda payment, value, today: payment.state == value),
)


register_listing(Kind('payments', _('Referencia de pago'), PAYMENT_COLUMNS, PAYMENT_FILTERS),
                 under=Customer, name='payments')


def payment_values(context, request, error=None, form=None):
    cells = Cells(request)
    fmt = cells.fmt
    payment = context
    customer = customer_of(payment)
    root = request.root
    exports = root.get('exports')
    exported = [(name, manage_url(request, exports[name]) if exports is not None and name in exports
                 else None) for name in payment.exported]
    properties = [
        (_('Referencia de pago'), payment.reference),
        (_('Cliente'), customer.title, manage_url(request, customer)),
        (_('Banco'), bank_label(payment.bank)),
        (_('Estado'), cells.label(PAYMENT_STATE_LABELS, payment.state)),
        (_('Total'), fmt.money(payment.total_mxn, 'MXN')),
        (_('Creado'), fmt.timestamp(payment.created)),
        (_('Pagado'), fmt.timestamp(payment.paid_at) or '—'),
        (_('Referencia bancaria'), payment.bank_reference or '—'),
        (_('Cuentas'), ', '.join(payment.accounts)),
        (_('Preparó'), payment.prepared_by[1] if payment.prepared_by else '—'),
        (_('Aprobó'), f'{payment.approved_by[1]} ({fmt.timestamp(payment.approved_at)})'
         if payment.approved_by else '—'),
    ]
    allocations = []
    for allocation in payment.allocations:
        invoice = customer.invoices.get(allocation.invoice_key)
        allocations.append({
            'key': allocation.invoice_key,
            'url': manage_url(request, invoice) if invoice is not None else None,
            'account': allocation.account,
            'currency': allocation.currency,
            'amount_mxn': fmt.money(allocation.amount_mxn, 'MXN'),
            'amount': fmt.money(allocation.amount_currency, allocation.currency),
            'rate': fmt.rate(allocation.exchange_rate) if allocation.exchange_rate else '—',
            'before': fmt.money(allocation.balance_before, allocation.currency)
            if allocation.balance_before is not None else '—',
            'after': fmt.money(allocation.balance_after, allocation.currency)
            if allocation.balance_after is not None else '—',
            'instalment': allocation.instalment or '—',
        })
    history = [{
        'when': fmt.timestamp(when),
        'from': cells.label(PAYMENT_STATE_LABELS, old) if old else '—',
        'to': cells.label(PAYMENT_STATE_LABELS, new),
        'source': cells.label(SOURCE_LABELS, source),
        'note': audit_notes.words(note, request.localizer.translate, PAYMENT_STATE_LABELS),
    } for when, old, new, source, note in payment.history]
    gateway = request.registry.gateways.get(payment.bank)
    return object_values(
        request, context, page_title=_('Pago ${reference}', mapping={'reference': payment.reference}),
        properties=properties, allocations=allocations, history=history,
        bank_data=sorted((payment.bank_data or {}).items()),
        exported=exported, error=error, form=form or {'decision': '', 'comment': ''},
        in_review=payment.state == REVIEW, pending=payment.state == PENDING,
        bank_configured=gateway is not None,
        bank_label=bank_label(payment.bank),
        decisions=DECISIONS,
        query_url=manage_url(request, payment, '@@consultar-banco'),
        resolve_url=manage_url(request, payment, '@@resolver-revision'),
        max_comment=MAX_COMMENT,
    )


@view_config(route_name=ROUTE, context=Payment, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def payment_view(context, request):
    return payment_values(context, request)


# -- resolve review -------------------------------------------------------------------------

@view_config(route_name=ROUTE, context=Payment, name='resolver-revision', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def resolve_review(context, request):
    decision = request.POST.get('decision', '')
    comment = (request.POST.get('comment') or '').strip()
    form = {'decision': decision, 'comment': comment}
    if context.state != REVIEW:
        return refuse(request, _values_with(form), context,
                      _('Este pago no está en revisión; no hay nada que resolver.'), status=409)
    if decision not in DECISION_LABELS:
        return refuse(request, _values_with(form), context,
                      _('Elija una decisión: aprobar, rechazar o requiere reembolso.'))
    if not comment:
        return refuse(request, _values_with(form), context,
                      _('Escriba un comentario: es lo que leerá la siguiente persona.'))
    if len(comment) > MAX_COMMENT:
        return refuse(request, _values_with(form), context,
                      _('El comentario es demasiado largo (máximo ${max} caracteres).',
                        mapping={'max': MAX_COMMENT}))
    # resolve_review records the transition in the audit log with this actor and comment.
    payments.resolve_review(context, decision, comment, audit.actor_of(request), clock.utcnow())
    return back_to(request, context, _('Revisión resuelta: el pago quedó como «${state}».',
                                       mapping={'state': request.localizer.translate(
                                           PAYMENT_STATE_LABELS[decision])}))


def _values_with(form):
    return lambda context, request, error=None: payment_values(context, request, error, form)


# -- query the bank now -----------------------------------------------------------------------

def describe(result, translate, fmt):
    """One line saying what the bank answered."""
    if result is None:
        return ''
    parts = [translate(_('El banco dice: ${outcome}',
                         mapping={'outcome': translate(OUTCOME_LABELS.get(result.outcome,
                                                                          result.outcome))}))]
    if result.amount is not None:
        parts.append(fmt.money(result.amount, result.currency or ''))
    if result.bank_reference:
        parts.append(result.bank_reference)
    if result.message:
        parts.append(f'«{result.message}»')
    return ', '.join(parts) + '.'


def _audit_note(result, error):
    if error is not None:
        return f'bank unreachable: {error}'
    if result is None:
        return 'the bank offers no query'
    return (f'bank says {result.outcome} {result.amount or ""} {result.currency or ""} '
            f'{result.bank_reference or ""}').strip()


@view_config(route_name=ROUTE, context=Payment, name='consultar-banco', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def query_bank(context, request):
    gateway = request.registry.gateways.get(context.bank)
    if gateway is None:
        return refuse(request, payment_values, context,
                      _('El banco ${bank} no está configurado en este portal; no se puede consultar.',
                        mapping={'bank': bank_label(context.bank)}), status=409)
    reference, stored = context.reference, dict(context.start_data or {})
    translate = request.localizer.translate
    fmt = Cells(request).fmt
    actor = audit.actor_of(request)
    expire_after = payments.minutes(
        request.registry.settings.get('canonportal.payment_expire_minutes', 120))

    outcome = {}

    def note(root, payment, settlement, result=None, error=None):
        audit.record(root, actor, 'payment.query-bank', payment, settlement.before,
                     payment.state, _audit_note(result, error), when=now)
        outcome.update(before=settlement.before, after=payment.state)

    # A pending payment is taken exactly as canonportal-reconcile takes it.
    now = clock.utcnow()
    asked = bank_query.ask_bank(request.tm, lambda: request.root, gateway, reference, stored, now,
                                receipt_sender(request), expire_after, and_then=note)
    result, error = asked.result, asked.error
    if error is not None:
        def unchanged():
            payment = request.root.payments_by_reference[reference]
            note(request.root, payment, payments.Settlement(payment.state, payment.state),
                 error=error)
        in_own_transaction(request.tm, unchanged)

    before, after = outcome['before'], outcome['after']
    state = lambda key: translate(PAYMENT_STATE_LABELS.get(key, key))  # noqa: E731
    if error is not None:
        message = _('El banco no respondió (${error}); el pago no cambió. Intente más tarde.',
                    mapping={'error': str(error)[:200]})
    elif result is None:
        message = _('${bank} no ofrece consulta de pagos: el estado solo cambia con el aviso del '
                    'banco o, pasado el plazo, al vencer. Estado: ${state}.',
                    mapping={'bank': bank_label(context.bank), 'state': state(after)})
    elif before != after:
        message = _('${answer} El pago pasó de «${before}» a «${after}».',
                    mapping={'answer': describe(result, translate, fmt),
                             'before': state(before), 'after': state(after)})
    elif before == PENDING:
        message = _('${answer} El pago sigue pendiente.',
                    mapping={'answer': describe(result, translate, fmt)})
    else:
        message = _('${answer} El pago está «${state}» y no se cambia: solo un pago pendiente '
                    'se concilia así; si no coincide, revise el caso.',
                    mapping={'answer': describe(result, translate, fmt), 'state': state(after)})
    return back_to(request, request.root.payments_by_reference[reference], message)
