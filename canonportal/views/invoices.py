"""The customer's Facturas page (placeholder until its issue lands)."""
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from .customer import page


@view_config(context=Customer, name='facturas', permission='view',
             renderer='canonportal:templates/customer_page.pt')
def invoices_page(context, request):
    return page(context, request, 'facturas', _('Facturas'))
