"""The dashboard at /manage."""
from pyramid.view import view_config

from ...i18n import _
from ...resources import PortalRoot
from . import ROUTE, VIEW, manage_globals


@view_config(route_name=ROUTE, context=PortalRoot, permission=VIEW, request_method='GET',
             renderer='canonportal:templates/manage/dashboard.pt')
def dashboard(context, request):
    return manage_globals(request, context, page_title=_('Panel del personal'))
