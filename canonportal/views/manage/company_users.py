"""A customer company's people under /manage: the page of all of them
(``/manage/customers/<RFC>/users``: who they are, their role and accounts, whether they
are active, invited or disabled, their last sign-in and who invited them), and the page of
one, where staff disable or enable, unlock or resend the invitation; every action
audited."""
from pyramid.view import view_config

from ... import audit, clock
from ...i18n import _
from ...resources import Folder
from ...resources.company_user import ADMINISTRADOR, CompanyUser
from ...accountmail import ROLE_LABELS, send_invitation
from .. import settings_of
from . import MANAGE, ROUTE, VIEW, manage_url
from .contents import back_to, object_values, refuse
from .labels import CUSTOMER_STATE_LABELS
from .listing import Cells

TEMPLATE = 'canonportal:templates/manage/company_user.pt'
PEOPLE_TEMPLATE = 'canonportal:templates/manage/company_people.pt'
#: A company's people are bounded (views/company_users.MAX_USERS): one page holds them.
ALL_ACCOUNTS = _('Todas')


def person_state(person, now):
    """``(key, label)`` of where a person stands: disabled, invited (no password chosen
    yet), locked after failed sign-ins, or active. The main administrator (the company's
    own credentials) is "not activated" until it chose its password."""
    if person.disabled:
        return 'disabled', _('Deshabilitado')
    if isinstance(person, CompanyUser) and person.password_hash is None:
        return 'invited', _('Invitado: aún no elige su contraseña')
    if not isinstance(person, CompanyUser) and not person.activated:
        return 'invited', CUSTOMER_STATE_LABELS[person.state]
    if person.is_locked(now):
        return 'locked', _('Bloqueado por intentos fallidos')
    return 'active', _('Activo')


def person_row(request, cells, person, now):
    """What the people page shows of one person (the company itself: its main administrator)."""
    translate, fmt = cells.translate, cells.fmt
    colleague = isinstance(person, CompanyUser)
    state = person_state(person, now)
    return {
        'name': person.name, 'url': manage_url(request, person), 'main': not colleague,
        'signs_in_with': translate(_('Entra con ${login}', mapping={
            'login': person.email if colleague else person.rfc})),
        'email': person.email or '—',
        'role': translate(ROLE_LABELS[person.role if colleague else ADMINISTRADOR]),
        'accounts': ', '.join(person.accounts) if colleague and person.accounts
        else translate(ALL_ACCOUNTS),
        'state': state[0], 'state_label': translate(state[1]),
        'state_detail': translate(_('hasta ${when}', mapping={
            'when': fmt.timestamp(person.locked_until)})) if state[0] == 'locked' else '',
        'last_sign_in': fmt.timestamp(person.last_sign_in) if person.last_sign_in else '—',
        'invited_by': (person.invited_by or '—') if colleague else '—',
    }


@view_config(route_name=ROUTE, context=Folder, customer_folder='users', permission=VIEW,
             request_method='GET', renderer=PEOPLE_TEMPLATE)
def people_view(context, request):
    """The company's people: its main administrator first, then everyone invited, by name."""
    customer = context.__parent__
    now, cells = clock.utcnow(), Cells(request)
    colleagues = sorted(context.values(), key=lambda user: (user.name.lower(), user.email))
    return object_values(
        request, context, customer=customer, company_disabled=bool(customer.disabled),
        page_title=_('Personas de ${company}', mapping={'company': customer.name}),
        rows=[person_row(request, cells, person, now) for person in [customer, *colleagues]])


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
    # Staff resend for the portal's company when nobody of the customer's invited them.
    context.invited_by = context.invited_by or settings_of(request)['company_name']
    send_invitation(request, context)
    _record(request, context, 'staff.company-user.invite')
    return back_to(request, context, _('Invitación reenviada.'))
