"""Staff's page of one person of a customer company: disable or enable, unlock, resend the
invitation; every action audited."""
from pyramid.view import view_config

from ... import audit, clock
from ...i18n import _
from ...resources.company_user import CompanyUser
from ...accountmail import ROLE_LABELS, send_invitation
from . import MANAGE, ROUTE, VIEW, manage_url
from .contents import back_to, object_values, refuse

TEMPLATE = 'canonportal:templates/manage/company_user.pt'


def user_values(context, request, error=None):
    fmt = request.localizer
    now = clock.utcnow()
    properties = [
        (_('Nombre'), context.name),
        (_('Correo'), context.email),
        (_('Rol'), fmt.translate(ROLE_LABELS[context.role])),
        (_('Cuentas'), ', '.join(context.accounts) or fmt.translate(_('Todas'))),
        (_('Invitado por'), context.invited_by or '—'),
        (_('Contraseña elegida'), fmt.translate(_('Sí') if context.password_hash else _('No'))),
        (_('Bloqueado'), fmt.translate(_('Sí') if context.is_locked(now) else _('No'))),
        (_('Deshabilitado'), fmt.translate(_('Sí') if context.disabled else _('No'))),
    ]
    return object_values(request, context, page_title=context.title, properties=properties,
                         error=error, customer=context.customer,
                         action_url=lambda name: manage_url(request, context, '@@' + name))


@view_config(route_name=ROUTE, context=CompanyUser, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def user_view(context, request):
    return user_values(context, request)


def _record(request, context, action, note=''):
    audit.record(request.root, audit.actor_of(request), action, context, '', '', note)


@view_config(route_name=ROUTE, context=CompanyUser, name='deshabilitar', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def disable(context, request):
    context.disabled = True
    context.end_other_sessions()
    _record(request, context, 'staff.company-user.disable')
    return back_to(request, context, _('Usuario deshabilitado: sus sesiones terminaron.'))


@view_config(route_name=ROUTE, context=CompanyUser, name='habilitar', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def enable(context, request):
    context.disabled = False
    _record(request, context, 'staff.company-user.enable')
    return back_to(request, context, _('Usuario habilitado.'))


@view_config(route_name=ROUTE, context=CompanyUser, name='desbloquear', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def unlock(context, request):
    context.unlock()
    _record(request, context, 'staff.company-user.unlock')
    return back_to(request, context, _('Usuario desbloqueado.'))


@view_config(route_name=ROUTE, context=CompanyUser, name='reenviar-invitacion', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def resend(context, request):
    if context.shut_out or context.password_hash is not None:
        return refuse(request, user_values, context, _(
            'Solo se reenvía la invitación de un usuario habilitado que aún no elige contraseña.'))
    context.invited_by = context.invited_by or 'Canon Mexicana'
    send_invitation(request, context)
    _record(request, context, 'staff.company-user.invite')
    return back_to(request, context, _('Invitación reenviada.'))
