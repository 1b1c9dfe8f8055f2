"""The customer's four pages: ESTADOS DE CUENTA, FACTURAS, SALDOS, HISTORIAL DE PAGOS."""
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..gateways import bank_label
from ..i18n import _, ngettext
from ..resources import Customer
from ..resources.payment import PENDING

#: The menu of the portal shell, in the manual's order: (view name, label).
MENU = (
    ('estados-de-cuenta', _('ESTADOS DE CUENTA')),
    ('facturas', _('FACTURAS')),
    ('saldos', _('SALDOS')),
    ('historial-de-pagos', _('HISTORIAL DE PAGOS')),
)

#: What a company administrator has besides: its people, its fiscal data, its log.
ADMIN_MENU = (('usuarios', _('USUARIOS')), ('datos-fiscales', _('DATOS FISCALES')),
              ('bitacora', _('BITÁCORA')))

#: "1 factura", "3 facturas": counted through the catalog's plural rule.
INVOICE_COUNT = ngettext('${count} factura', '${count} facturas')

#: At most this many payments in progress are named in the banner.
BANNER_LIMIT = 3


def visible_accounts(request):
    """The ERP accounts the signed-in person may see: a set, or None for all of them."""
    identity = request.identity
    return identity.accounts if identity is not None else None


def sees(accounts, account):
    return accounts is None or account in accounts


def page(context, request, current, title, **values):
    """The values every customer page template gets, with the customer's payments still
    waiting at the bank (the banner that offers to continue or cancel each one)."""
    menu = MENU + (ADMIN_MENU if request.has_permission('manage-company', context) else ())
    accounts = visible_accounts(request)
    values.update({'customer': context, 'menu': menu, 'current': current, 'page_title': title,
                   'in_progress': payments_in_progress(request, context),
                   'may_pay': bool(request.has_permission('pay', context)),
                   'own_accounts': [a for a in context.accounts if sees(accounts, a)]})
    return values


#: What the banner offers for a payment in progress (besides cancelling it).
CONTINUE = 'continue'            # back to the bank's page (a card)
INSTRUCTIONS = 'instructions'    # a transfer: a link to its instructions, from other pages


def payments_in_progress(request, customer):
    """``[(payment, bank label, offer)]`` of ``customer``'s payments pending at the bank,
    newest first; ``offer`` is :data:`CONTINUE`, :data:`INSTRUCTIONS`, or None for a
    transfer on its own page (the instructions are the page). Only the customer's own
    index of payments in progress is read, never another customer's payments."""
    accounts = visible_accounts(request)
    mine = [p for p in customer.payments_in_progress()
            if p.state == PENDING and all(sees(accounts, a) for a in p.accounts)]
    mine.sort(key=lambda p: p.created, reverse=True)
    return [(p, bank_label(p.bank), _offer(request, p)) for p in mine[:BANNER_LIMIT]]


def _offer(request, payment):
    gateway = request.registry.gateways.get(payment.bank)
    if gateway is None or gateway.has_bank_page:
        return CONTINUE
    return None if request.context is payment else INSTRUCTIONS


@view_config(context=Customer, name='', permission='view')
def customer_home(context, request):
    return HTTPFound(request.resource_url(context, 'estados-de-cuenta'))
