"""The customer's four pages: ESTADOS DE CUENTA, FACTURAS, SALDOS, HISTORIAL DE PAGOS."""
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer

#: The menu of the portal shell, in the manual's order: (view name, label).
MENU = (
    ('estados-de-cuenta', _('ESTADOS DE CUENTA')),
    ('facturas', _('FACTURAS')),
    ('saldos', _('SALDOS')),
    ('historial-de-pagos', _('HISTORIAL DE PAGOS')),
)


def page(context, request, current, title, **values):
    """The values every customer page template gets."""
    values.update({'customer': context, 'menu': MENU, 'current': current, 'page_title': title})
    return values


@view_config(context=Customer, name='', permission='view')
def customer_home(context, request):
    return HTTPFound(request.resource_url(context, 'estados-de-cuenta'))
