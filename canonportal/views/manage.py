"""The staff landing page at /manage; the management views come in a later issue."""
from pyramid.view import view_config

from ..i18n import _
from ..resources import ADMIN, AUDITOR, OPERATOR, PortalRoot

#: How each staff role is named on the page.
ROLE_LABELS = {
    ADMIN: _('Administrador'),
    OPERATOR: _('Operador'),
    AUDITOR: _('Auditor'),
}


@view_config(context=PortalRoot, name='manage', permission='manage-view',
             renderer='canonportal:templates/manage_home.pt')
def manage_home(context, request):
    """Who is signed in and with which role."""
    user = request.identity.user
    return {'page_title': _('Panel del personal'), 'staff_user': user,
            'role_label': ROLE_LABELS.get(user.role, user.role)}
