"""USUARIOS: a company administrator's page of the company's people.

Administrators invite colleagues by email (a single-use link, 72 hours, to choose a
password; the address is theirs for signing in once they accept, and the answer to the
administrator is the same whether or not it signs in with another company), change
their role and the ERP accounts they may see, disable them (their sessions end at once)
and enable them again, and see when each last signed in. The
company's own credentials (the RFC) are its first administrator and are not
managed here, so the company never loses its last administrator.
"""
from decimal import Decimal

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from .. import audit, clock, tokens
from ..accountmail import EMAIL_RE, ROLE_LABELS, send_invitation
from ..i18n import _
from ..money import ZERO, AmountError, parse_amount
from ..resources import Customer
from ..resources.customer import APPROVAL_ABOVE, APPROVAL_POLICIES
from ..resources.company_user import (
    ADMINISTRADOR, CAPTURA, COMPANY_ROLES, CONSULTA, PAGO, CompanyUser, new_user_id,
)
from ..resources.notices import KINDS
from .customer import page
from .mail_choices import KIND_LABELS

VIEW_NAME = 'usuarios'
TEMPLATE = 'canonportal:templates/company_users.pt'
PERMISSION = 'manage-company'
#: At most this many people per company (a bound on the page and the index).
MAX_USERS = 200

ROLE_HINTS = {
    CONSULTA: _('estados de cuenta, facturas, saldos e historial; descargas'),
    CAPTURA: _('además prepara pagos'),
    PAGO: _('además aprueba y paga'),
    ADMINISTRADOR: _('además administra los usuarios de la empresa'),
}


def users_values(customer, request, errors=None, form=None):
    users = sorted(customer.users.values(), key=lambda u: (u.name.lower(), u.email))
    return page(customer, request, VIEW_NAME, _('Usuarios'), users=users,
                role_labels=ROLE_LABELS, role_hints=ROLE_HINTS, roles=COMPANY_ROLES,
                errors=errors or {}, form=form or {'role': CONSULTA, 'accounts': ()},
                invite_action=request.resource_url(customer, VIEW_NAME),
                mail_defaults=[(kind, KIND_LABELS[kind], (customer.mail_defaults or {}).get(kind, True))
                               for kind in KINDS])


@view_config(context=Customer, name=VIEW_NAME, permission=PERMISSION, request_method='GET',
             renderer=TEMPLATE)
def users_page(context, request):
    return users_values(context, request)


def _read_user_form(customer, request, email_too=True):
    errors, form = {}, {}
    if email_too:
        form['email'] = (request.POST.get('email') or '').strip().lower()[:254]
        form['name'] = ' '.join((request.POST.get('name') or '').split())[:100]
        if not EMAIL_RE.match(form['email']):
            errors['email'] = _('Escriba un correo electrónico válido, por ejemplo ana@empresa.mx.')
        # Only the company's own people are checked: whether the address signs in with
        # another company is neither told nor an obstacle (it is reserved when an
        # invitation is accepted, and the first acceptance wins).
        elif form['email'] == customer.email or customer.user_with_email(form['email']):
            errors['email'] = _('Ese correo ya es de una persona de su empresa.')
        if not form['name']:
            errors['name'] = _('Escriba el nombre de la persona.')
    form['role'] = request.POST.get('role', '')
    if form['role'] not in COMPANY_ROLES:
        errors['role'] = _('Elija un rol de la lista.')
    accounts = request.POST.getall('accounts')[:len(customer.accounts) + 1]
    form['accounts'] = tuple(a for a in customer.accounts if a in accounts)
    if len(form['accounts']) != len(set(accounts)):
        errors['accounts'] = _('Elija cuentas de su empresa.')
    return form, errors


def _refuse(customer, request, errors, form):
    request.tm.doom()
    response = render_to_response(TEMPLATE, users_values(customer, request, errors, form),
                                  request=request)
    response.status = 400
    return response


def who(request):
    """The name of the signed-in person, as an invitation names its inviter."""
    return request.identity.user.display_name


@view_config(context=Customer, name=VIEW_NAME, permission=PERMISSION, request_method='POST')
def invite(context, request):
    form, errors = _read_user_form(context, request)
    if len(context.users) >= MAX_USERS:
        errors['email'] = _('La empresa ya tiene el máximo de usuarios.')
    if errors:
        return _refuse(context, request, errors, form)
    user = CompanyUser(form['email'], form['name'], form['role'], form['accounts'],
                       created=clock.utcnow())
    user.__name__ = new_user_id()
    user.invited_by = who(request)
    context.add_user(user)
    send_invitation(request, user)
    audit.record(request.root, audit.actor_of(request), 'company.invite', user, '', user.role,
                 f'{user.email} accounts={",".join(user.accounts) or "all"}')
    request.session.flash(request.localizer.translate(_(
        'Enviamos la invitación a ${email}.', mapping={'email': user.email})))
    return HTTPSeeOther(request.resource_url(context, VIEW_NAME))


MAX_THRESHOLD = Decimal('999999999.99')


@view_config(context=Customer, name='aprobacion', permission=PERMISSION, request_method='POST')
def approval_policy(context, request):
    """Whether payments a Captura user prepares wait for an approver: never, always, above."""
    policy = request.POST.get('politica', '')
    text = (request.POST.get('monto') or '')[:40]
    threshold = None
    if policy == APPROVAL_ABOVE:
        try:
            threshold = parse_amount(text, trailing_zeros=True)
        except AmountError:
            threshold = None
        if threshold is None or not ZERO < threshold <= MAX_THRESHOLD:
            return _refuse(context, request, {'approval': _(
                'Escriba el monto a partir del cual se pide aprobación, por ejemplo 10000.00.')},
                None)
    elif policy not in APPROVAL_POLICIES:
        return _refuse(context, request, {'approval': _('Elija una opción de la lista.')}, None)
    before = f'{context.approval_policy} {context.approval_threshold or ""}'.strip()
    context.approval_policy, context.approval_threshold = policy, threshold
    audit.record(request.root, audit.actor_of(request), 'company.approval', context, before,
                 f'{policy} {threshold or ""}'.strip())
    request.session.flash(request.localizer.translate(_('Se guardó la regla de aprobación.')))
    return HTTPSeeOther(request.resource_url(context, VIEW_NAME))


@view_config(context=CompanyUser, name='cambiar', permission=PERMISSION, request_method='POST')
def change(context, request):
    customer = context.customer
    form, errors = _read_user_form(customer, request, email_too=False)
    if errors:
        return _refuse(customer, request, {context.__name__: next(iter(errors.values()))}, None)
    before = f'{context.role} {",".join(context.accounts) or "all"}'
    context.role, context.accounts = form['role'], form['accounts']
    # What the user may see and do changed: its sessions start again with the new rights.
    context.end_other_sessions()
    audit.record(request.root, audit.actor_of(request), 'company.role', context, before,
                 f'{context.role} {",".join(context.accounts) or "all"}')
    request.session.flash(request.localizer.translate(_(
        'Se cambió el acceso de ${name}.', mapping={'name': context.name})))
    return HTTPSeeOther(request.resource_url(customer, VIEW_NAME))


@view_config(context=CompanyUser, name='deshabilitar', permission=PERMISSION,
             request_method='POST')
def disable(context, request):
    context.disabled = True
    context.end_other_sessions()              # its sessions end at once
    tokens.revoke_all(request.root, tokens.INVITE, context.principal_id)
    audit.record(request.root, audit.actor_of(request), 'company.disable', context, '', '')
    request.session.flash(request.localizer.translate(_(
        '${name} ya no puede entrar al portal.', mapping={'name': context.name})))
    return HTTPSeeOther(request.resource_url(context.customer, VIEW_NAME))


@view_config(context=CompanyUser, name='habilitar', permission=PERMISSION, request_method='POST')
def enable(context, request):
    context.disabled = False
    audit.record(request.root, audit.actor_of(request), 'company.enable', context, '', '')
    return HTTPSeeOther(request.resource_url(context.customer, VIEW_NAME))


@view_config(context=CompanyUser, name='reenviar', permission=PERMISSION, request_method='POST')
def resend(context, request):
    if not context.shut_out and context.password_hash is None:
        send_invitation(request, context)
        request.session.flash(request.localizer.translate(_(
            'Enviamos la invitación a ${email}.', mapping={'email': context.email})))
    return HTTPSeeOther(request.resource_url(context.customer, VIEW_NAME))
