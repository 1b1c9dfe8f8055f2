"""The customer's Saldos page (placeholder until its issue lands)."""
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from .customer import page


@view_config(context=Customer, name='saldos', permission='view',
             renderer='canonportal:templates/customer_page.pt')
def balances_page(context, request):
    return page(context, request, 'saldos', _('Saldos'))
