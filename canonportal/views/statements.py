"""The customer's Estados de cuenta page (placeholder until its issue lands)."""
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from .customer import page


@view_config(context=Customer, name='estados-de-cuenta', permission='view',
             renderer='canonportal:templates/customer_page.pt')
def statements_page(context, request):
    return page(context, request, 'estados-de-cuenta', _('Estados de cuenta'))
