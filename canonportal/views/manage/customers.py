"""A customer's management page and the staff's actions on its sign-in.

Actions: unlock (after too many failed logins), mail a password reset link to
the confirmed address (the same token and page, /restablecer, as the
customer's own "forgot my password"), disable (shuts out the whole company: the
RFC and every colleague; ends all their sessions at once and voids their
outstanding reset links) and enable. Each one is a POST with CSRF that
needs ``manage`` and leaves an audit entry with the state before and after.
"""
from pyramid.view import view_config

from ... import accountmail, audit, clock, mail, tokens
from ...i18n import _
from ...resources import Customer
from .. import settings_of
from ..mail_choices import KIND_LABELS
from . import MANAGE, ROUTE, VIEW, manage_url
from ...resources.customer import Customers
from .contents import back_to, object_values, refuse
from .labels import CUSTOMER_STATE_LABELS
from .listing import Cells, Column, Kind, register_listing

TEMPLATE = 'canonportal:templates/manage/customer.pt'
#: The notifier's newest mails shown on the page.
SHOWN_MAILS = 50


CUSTOMER_COLUMNS = (
    Column('name', _('Razón social'), lambda c, x: c.name, lambda c: (c.name or '').casefold()),
    Column('accounts', _('Cuentas'), lambda c, x: ', '.join(c.accounts)),
    Column('state', _('Acceso'), lambda c, x: x.label(CUSTOMER_STATE_LABELS, c.state),
           lambda c: c.state),
    Column('email', _('Correo confirmado'), lambda c, x: c.email or '—',
           lambda c: c.email or ''),
    Column('disabled', _('Deshabilitado'), lambda c, x: x.yes_no(c.disabled),
           lambda c: bool(c.disabled)),
)

register_listing(Kind('customers', _('RFC'), CUSTOMER_COLUMNS), folder_type=Customers)


def sign_in_state(customer, now):
    """What staff need to know about a customer's access, as a dict of plain values."""
    return {
        'state': customer.state,
        'locked': customer.is_locked(now),
        'locked_until': customer.locked_until if customer.is_locked(now) else None,
        'failed_logins': len(customer.failed_logins or ()),
        'disabled': bool(customer.disabled),
    }


def fiscal_summary(customer, translate):
    """The company's fiscal data in one line, saying whether the ERP has it yet."""
    if customer.fiscal_changed is None:
        return '—'
    text = (f'{customer.fiscal_name} · {translate(_("Régimen"))} {customer.fiscal_regime} · '
            f'{translate(_("C.P."))} {customer.fiscal_zip} · CFDI {customer.cfdi_use}')
    if customer.fiscal_pending:
        text += ' · ' + translate(_('sin exportar al ERP'))
    return text


def customer_values(context, request, error=None):
    cells = Cells(request)
    fmt, translate = cells.fmt, cells.translate
    now = clock.utcnow()
    access = sign_in_state(context, now)
    locked = (translate(_('Sí, hasta ${when}', mapping={'when': fmt.timestamp(access['locked_until'])}))
              if access['locked'] else cells.yes_no(False))
    properties = [
        (_('RFC'), context.rfc),
        (_('Razón social'), context.name),
        (_('Cuentas ERP'), ', '.join(context.accounts) or '—'),
        (_('Correo de contacto (ERP)'), context.contact_email or '—'),
        (_('Correo confirmado'), context.email or '—'),
        (_('Correo por confirmar'), context.pending_email or '—'),
        (_('Acceso'), cells.label(CUSTOMER_STATE_LABELS, context.state)),
        (_('Bloqueado'), locked),
        (_('Intentos fallidos recientes'), str(access['failed_logins'])),
        (_('Deshabilitado'), cells.yes_no(access['disabled'])),
        (_('Recordatorios de vencimiento por correo'), cells.yes_no(not context.reminders_off)),
        (_('Facturas'), str(len(context.invoices)), manage_url(request, context.invoices)),
        (_('Estados de cuenta'), str(len(context.statements)), manage_url(request, context.statements)),
        (_('Pagos'), str(len(context.payments)), manage_url(request, context.payments)),
        (_('Usuarios'), str(len(context.users)) if context.users is not None else '0',
         manage_url(request, context.users) if context.users is not None else None),
        (_('Datos fiscales'), fiscal_summary(context, translate),
         manage_url(request, request.root, '@@datos-fiscales') if context.fiscal_pending
         else None),
        (_('Constancia de situación fiscal'),
         fmt.timestamp(context.fiscal_constancia_uploaded) if context.fiscal_constancia
         else '—',
         manage_url(request, context, '@@constancia-fiscal.pdf') if context.fiscal_constancia
         else None),
    ]
    return object_values(
        request, context, page_title=context.title, properties=properties, access=access,
        error=error,
        can_unlock=access['locked'] or access['failed_logins'] > 0,
        can_reset=bool(context.email) and not access['disabled'],
        can_invite=not context.activated and not access['disabled'],
        invite_email=context.contact_email or '',
        action_url=lambda name: manage_url(request, context, '@@' + name),
        mails=context.notices.newest(SHOWN_MAILS) if context.notices is not None else [],
        mail_kinds=KIND_LABELS, customer_reminders_off=bool(context.reminders_off),
    )


@view_config(route_name=ROUTE, context=Customer, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def customer_view(context, request):
    return customer_values(context, request)


def _record(request, context, action, before, after, note=''):
    audit.record(request.root, audit.actor_of(request), action, context, before, after, note)


@view_config(route_name=ROUTE, context=Customer, name='desbloquear', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def unlock(context, request):
    before = sign_in_state(context, clock.utcnow())
    if not (before['locked'] or before['failed_logins']):
        return refuse(request, customer_values, context,
                      _('La cuenta no está bloqueada ni tiene intentos fallidos.'))
    context.unlock()
    _record(request, context, 'customer.unlock',
            {'locked_until': before['locked_until'] or '', 'failed_logins': before['failed_logins']},
            {'locked_until': '', 'failed_logins': 0})
    return back_to(request, context, _('Cuenta desbloqueada: el cliente ya puede volver a entrar.'))


@view_config(route_name=ROUTE, context=Customer, name='enviar-restablecimiento', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def send_reset_link(context, request):
    """Mail the customer's confirmed address a link to /restablecer (valid 60 minutes, once)."""
    if context.disabled:
        return refuse(request, customer_values, context,
                      _('La cuenta está deshabilitada; habilítela antes de enviar el enlace.'))
    if not context.email:
        return refuse(request, customer_values, context,
                      _('El cliente no tiene un correo confirmado; no se puede enviar el enlace. '
                        'Mientras no active su cuenta entra con su RFC como usuario y contraseña.'))
    now = clock.utcnow()
    tokens.revoke_all(request.root, tokens.RESET_PASSWORD, context.principal_id)
    token = tokens.issue(request.root, tokens.RESET_PASSWORD, context.principal_id, now)
    settings = settings_of(request)
    link = f"{settings['public_url']}/restablecer/{token}"
    translate = request.localizer.translate
    body = translate(_(
        'Hola,\n\nA petición suya, el personal de ${company} le envía un enlace para elegir una '
        'nueva contraseña del Portal clientes (RFC ${rfc}). Sirve una sola vez y vence en 60 '
        'minutos:\n\n${link}\n\nSi usted no lo pidió, ignore este mensaje; su contraseña no '
        'cambia. Dudas: ${support}.\n',
        mapping={'company': settings['company_name'], 'rfc': context.rfc, 'link': link,
                 'support': settings['support_email']}))
    mail.send(request, context.email, translate(_('Restablecer contraseña')), body)
    _record(request, context, 'customer.reset-link', '', {'sent_to': context.email})
    return back_to(request, context, _('Enlace para restablecer la contraseña enviado a ${email}.',
                                       mapping={'email': context.email}))


@view_config(route_name=ROUTE, context=Customer, name='enviar-invitacion', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def send_invitation(context, request):
    """Mail an activation link to an address staff type: for a customer the ERP gave no
    email (or the wrong one). The address becomes the account's email once the link is used."""
    if context.activated or context.disabled:
        return refuse(request, customer_values, context,
                      _('Solo una cuenta sin activar y habilitada recibe una invitación.'))
    email = (request.POST.get('email') or '').strip().lower()
    if len(email) > 254 or not accountmail.EMAIL_RE.match(email):
        return refuse(request, customer_values, context, _('Escriba un correo electrónico válido.'))
    accountmail.send_activation(request, context, email, throttle=False)
    _record(request, context, 'customer.invite', '', {'sent_to': email})
    return back_to(request, context, _('Invitación enviada a ${email}: el enlace sirve una vez '
                                       'y vence en 60 minutos.', mapping={'email': email}))


@view_config(route_name=ROUTE, context=Customer, name='deshabilitar', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def disable(context, request):
    if context.disabled:
        return refuse(request, customer_values, context, _('La cuenta ya está deshabilitada.'))
    context.disabled = True
    # Everyone of the company is shut out while it is disabled (Credentials.shut_out, checked
    # on every request); their sessions also end for good, so enabling needs fresh sign-ins.
    context.end_company_sessions()
    people = {person.principal_id for person in context.people()}
    tokens.revoke_for(request.root, tokens.RESET_PASSWORD, people)
    _record(request, context, 'customer.disable', {'disabled': False}, {'disabled': True},
            f'people={len(people)}')
    return back_to(request, context, _('Cuenta deshabilitada: se cerraron las sesiones de la '
                                       'empresa y nadie de ella podrá entrar hasta que la '
                                       'habilite.'))


@view_config(route_name=ROUTE, context=Customer, name='habilitar', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def enable(context, request):
    if not context.disabled:
        return refuse(request, customer_values, context, _('La cuenta ya está habilitada.'))
    context.disabled = False
    _record(request, context, 'customer.enable', {'disabled': True}, {'disabled': False})
    return back_to(request, context, _('Cuenta habilitada: el cliente puede volver a entrar.'))


@view_config(route_name=ROUTE, context=Customer, name='recordatorios', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def reminders_switch(context, request):
    """Staff turn the company's due-date reminders off (``apagar``) or on again (``encender``)."""
    wanted = {'apagar': True, 'encender': False}.get(request.POST.get('accion', ''))
    if wanted is None or wanted == context.reminders_off:
        return refuse(request, customer_values, context, _('Los recordatorios ya están así.'))
    context.reminders_off = wanted
    _record(request, context, 'customer.reminders', {'reminders_off': not wanted},
            {'reminders_off': wanted})
    return back_to(request, context, _('Recordatorios apagados para este cliente.') if wanted
                   else _('Recordatorios encendidos para este cliente.'))
