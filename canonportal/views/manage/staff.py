"""Staff accounts under /manage/staff: list, create, change role, disable, unlock, set password.

Reading the list is open to every staff role (``manage-view``); every change
needs ``manage-staff``, which only admins hold. One rule guards the portal
against locking itself out: after any change at least one enabled admin
remains. Every change is written to the audit log, passwords and hashes never.
"""
from types import SimpleNamespace

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config

from ... import audit, clock, passwords, signin, staff_accounts
from ...i18n import _
from ...resources import ADMIN, ROLES, StaffUser
from ...resources.staff import StaffFolder
from . import MANAGE_STAFF, ROLE_LABELS, ROUTE, VIEW, manage_globals, manage_url
from .listing import Column, Kind, register_listing

LIST_TEMPLATE = 'canonportal:templates/manage/staff.pt'
NEW_TEMPLATE = 'canonportal:templates/manage/staff_new.pt'
USER_TEMPLATE = 'canonportal:templates/manage/staff_user.pt'


STAFF_COLUMNS = (
    Column('role', _('Rol'), lambda u, x: x.label(ROLE_LABELS, getattr(u, 'role', '')),
           lambda u: getattr(u, 'role', '')),
    Column('disabled', _('Deshabilitado'), lambda u, x: x.yes_no(getattr(u, 'disabled', False)),
           lambda u: bool(getattr(u, 'disabled', False))),
)

register_listing(Kind('staff', _('Usuario'), STAFF_COLUMNS), folder_type=StaffFolder)


def username_problem(root, username):
    """Why ``username`` cannot name a new staff account (Spanish), or None.

    The rules of ``canonportal-adduser`` (:func:`staff_accounts.username_problem`); not
    taken; not a customer's RFC (both sign in at the same form).
    """
    problem = staff_accounts.username_problem(username)
    if problem:
        return problem
    if root.staff.find(username) is not None:
        return _('Ya existe un usuario con ese nombre.')
    if root.customers.find_by_rfc(username) is not None:
        return _('Ese nombre es el RFC de un cliente; elija otro.')
    return None


def active_admins(root):
    return [user for user in root.staff.values() if user.role == ADMIN and not user.disabled]


def leaves_an_admin(root, user, role=None, disabled=None):
    """Whether at least one enabled admin remains if ``user`` gets ``role`` / ``disabled``."""
    role = user.role if role is None else role
    disabled = user.disabled if disabled is None else disabled
    others = [admin for admin in active_admins(root) if admin is not user]
    return bool(others) or (role == ADMIN and not disabled)


def _translate(request, message):
    return request.localizer.translate(message)


def _status(user, now):
    """``(css class, label)`` of an account's state."""
    if user.disabled:
        return 'disabled', _('Deshabilitado')
    if user.is_locked(now):
        return 'locked', _('Bloqueado')
    return 'active', _('Activo')


def _tabs(request, folder):
    return (('list', manage_url(request, folder), _('Usuarios')),
            ('new', manage_url(request, folder, '@@nuevo'), _('Nuevo usuario')))


@view_config(route_name=ROUTE, context=StaffFolder, permission=VIEW, request_method='GET',
             renderer=LIST_TEMPLATE)
def staff_list(context, request):
    now = clock.utcnow()
    users = sorted(context.values(), key=lambda user: user.username)
    rows = [SimpleNamespace(user=user, status=_status(user, now)) for user in users]
    can_staff = request.has_permission(MANAGE_STAFF, context)
    return manage_globals(request, context, page_title=_('Personal'), rows=rows, now=now,
                          role_labels=ROLE_LABELS,
                          tabs=_tabs(request, context) if can_staff else (), current_tab='list')


def _new_values(request, **values):
    values.setdefault('values', {'username': '', 'email': '', 'role': 'operator'})
    values.setdefault('errors', {})
    return manage_globals(request, request.context, page_title=_('Nuevo usuario del personal'),
                          roles=[(role, ROLE_LABELS[role]) for role in ROLES],
                          tabs=_tabs(request, request.context), current_tab='new', **values)


@view_config(route_name=ROUTE, context=StaffFolder, name='nuevo', permission=MANAGE_STAFF,
             request_method='GET', renderer=NEW_TEMPLATE)
def new_form(context, request):
    return _new_values(request)


@view_config(route_name=ROUTE, context=StaffFolder, name='nuevo', permission=MANAGE_STAFF,
             request_method='POST', renderer=NEW_TEMPLATE)
def create(context, request):
    root = request.root
    username = request.POST.get('username', '').strip().lower()
    email = request.POST.get('email', '').strip().lower()
    role = request.POST.get('role', '')
    password = request.POST.get('password', '')
    errors = {}
    problem = username_problem(root, username)
    if problem:
        errors['username'] = problem
    if role not in ROLES:
        errors['role'] = _('Elija un rol.')
    problem = staff_accounts.email_problem(email)
    if problem:
        errors['email'] = problem
    problem = passwords.password_problem(password, forbidden=(username,))
    if problem:
        errors['password'] = problem
    elif password != request.POST.get('password_confirmation', ''):
        errors['password_confirmation'] = _('Las contraseñas no coinciden.')
    if errors:
        request.response.status = 400
        return _new_values(request, errors=errors,
                           values={'username': username, 'email': email, 'role': role})
    user = context.add(username, StaffUser(username, role, email or None))
    signin.set_password(user, password)
    audit.record(root, audit.actor_of(request), 'staff.create', user, '',
                 {'role': role, 'email': email or ''})
    request.session.flash(_translate(request, _(
        'Se creó el usuario ${username} (${role}).',
        mapping={'username': username, 'role': _translate(request, ROLE_LABELS[role])})))
    return HTTPSeeOther(manage_url(request, user))


# -- one staff account ----------------------------------------------------------------------

def _user_values(request, user, **values):
    now = clock.utcnow()
    values.setdefault('errors', {})
    return manage_globals(
        request, user, page_title=user.username, user=user, status=_status(user, now),
        now=now, roles=[(role, ROLE_LABELS[role]) for role in ROLES], role_labels=ROLE_LABELS,
        is_self=request.identity.user is user,
        audit_url=manage_url(request, request.root.audit_log,
                             query={'target': audit.target_path(user)}),
        **values)


def _refuse(request, user, field, message):
    request.response.status = 400
    return _user_values(request, user, errors={field: message})


def _done(request, user, message):
    request.session.flash(_translate(request, message))
    return HTTPSeeOther(manage_url(request, user))


@view_config(route_name=ROUTE, context=StaffUser, permission=VIEW, request_method='GET',
             renderer=USER_TEMPLATE)
def user_page(context, request):
    return _user_values(request, context)


_LAST_ADMIN = _('Debe quedar al menos un administrador activo: nombre otro administrador antes.')


@view_config(route_name=ROUTE, context=StaffUser, name='rol', permission=MANAGE_STAFF,
             request_method='POST', renderer=USER_TEMPLATE)
def change_role(context, request):
    role = request.POST.get('role', '')
    if role not in ROLES:
        return _refuse(request, context, 'role', _('Elija un rol.'))
    if role == context.role:
        return _done(request, context, _('El rol no cambió.'))
    if not leaves_an_admin(request.root, context, role=role):
        return _refuse(request, context, 'role', _LAST_ADMIN)
    before, context.role = context.role, role
    audit.record(request.root, audit.actor_of(request), 'staff.role', context, before, role)
    return _done(request, context, _('Ahora ${username} es ${role}.', mapping={
        'username': context.username, 'role': _translate(request, ROLE_LABELS[role])}))


@view_config(route_name=ROUTE, context=StaffUser, name='deshabilitar', permission=MANAGE_STAFF,
             request_method='POST', renderer=USER_TEMPLATE)
def disable(context, request):
    if context.disabled:
        return _done(request, context, _('La cuenta ya estaba deshabilitada.'))
    if not leaves_an_admin(request.root, context, disabled=True):
        return _refuse(request, context, 'disabled', _LAST_ADMIN)
    context.disabled = True
    # Sessions are checked against the account on every request: both end them now.
    context.end_other_sessions()
    audit.record(request.root, audit.actor_of(request), 'staff.disable', context,
                 'enabled', 'disabled', 'sessions ended')
    return _done(request, context, _('Se deshabilitó la cuenta ${username} y se cerraron sus '
                                     'sesiones.', mapping={'username': context.username}))


@view_config(route_name=ROUTE, context=StaffUser, name='habilitar', permission=MANAGE_STAFF,
             request_method='POST', renderer=USER_TEMPLATE)
def enable(context, request):
    if not context.disabled:
        return _done(request, context, _('La cuenta ya estaba habilitada.'))
    context.disabled = False
    audit.record(request.root, audit.actor_of(request), 'staff.enable', context,
                 'disabled', 'enabled')
    return _done(request, context, _('Se habilitó la cuenta ${username}.',
                                     mapping={'username': context.username}))


@view_config(route_name=ROUTE, context=StaffUser, name='desbloquear', permission=MANAGE_STAFF,
             request_method='POST', renderer=USER_TEMPLATE)
def unlock(context, request):
    locked_until = context.locked_until
    if locked_until is None and not context.failed_logins:
        return _done(request, context, _('La cuenta no estaba bloqueada.'))
    context.unlock()
    audit.record(request.root, audit.actor_of(request), 'staff.unlock', context,
                 f'locked until {locked_until.isoformat()}' if locked_until else 'failed logins',
                 'unlocked')
    return _done(request, context, _('Se desbloqueó la cuenta ${username}.',
                                     mapping={'username': context.username}))


@view_config(route_name=ROUTE, context=StaffUser, name='contrasena', permission=MANAGE_STAFF,
             request_method='POST', renderer=USER_TEMPLATE)
def set_password(context, request):
    password = request.POST.get('password', '')
    problem = passwords.password_problem(password, forbidden=(context.username,))
    if problem:
        return _refuse(request, context, 'password', problem)
    if password != request.POST.get('password_confirmation', ''):
        return _refuse(request, context, 'password_confirmation',
                       _('Las contraseñas no coinciden.'))
    signin.set_password(context, password)   # ends every session of the account
    audit.record(request.root, audit.actor_of(request), 'staff.password', context,
                 note='password set by an admin; sessions ended')
    if request.identity.user is context:
        # An admin changing their own password keeps this session, as on a password change.
        remember(request, context.principal_id)
    return _done(request, context, _('Se cambió la contraseña de ${username} y se cerraron sus '
                                     'sesiones.', mapping={'username': context.username}))
