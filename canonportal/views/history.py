"""The customer's Historial de pagos page (placeholder until its issue lands)."""
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from .customer import page


@view_config(context=Customer, name='historial-de-pagos', permission='view',
             renderer='canonportal:templates/customer_page.pt')
def history_page(context, request):
    return page(context, request, 'historial-de-pagos', _('Historial de pagos'))
