"""The mails that let someone into an account: the activation link of a first sign-in
(or a staff invitation), a company administrator's invitation of a colleague, and the
password-reset link.

A first sign-in with the RFC proves nothing (the RFC is printed on every invoice):
it only mails a single-use link to the address the ERP gave for the customer, and
only that link leads to choosing a password. Both kinds of mail are throttled per
account and per client address, and delivered after the answer, so neither the
count nor the timing of the answers tells an attacker anything.
"""
import re

from . import clock, mail, tokens
from .i18n import _
from .resources.company_user import ADMINISTRADOR, CAPTURA, CONSULTA, PAGO

EMAIL_RE = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')

#: Most account mails per hour: to one account, and asked from one client address.
PER_ACCOUNT = 3
PER_ADDRESS = 20

SENT = 'sent'
THROTTLED = 'throttled'
NO_EMAIL = 'no-email'


def mask(email):
    """``cuentas@abastecedora.example`` → ``c***@abastecedora.example``."""
    local, _, domain = (email or '').partition('@')
    return f'{local[:1]}***@{domain}' if domain else '***'


def allowed(request, principal_id=None, now=None):
    """Count one account mail for this client address (and account); False when over."""
    limits = {f'address:{request.client_addr or "-"}': PER_ADDRESS}
    if principal_id is not None:
        limits[f'account:{principal_id}'] = PER_ACCOUNT
    throttle = request.root.throttle
    if throttle is None:        # a database before the evolve step 'mail-throttle'
        return True
    return throttle.allow(limits, now or clock.utcnow())


def _public_url(request):
    return (request.registry.settings.get('canonportal.public_url')
            or request.application_url).rstrip('/')


def send_activation(request, customer, email, throttle=True):
    """Mail ``customer`` a link to choose its password, sent to ``email``; the
    previous links die. Returns SENT, THROTTLED or NO_EMAIL."""
    if not email:
        return NO_EMAIL
    now = clock.utcnow()
    if throttle and not allowed(request, customer.principal_id, now):
        return THROTTLED
    tokens.revoke_all(request.root, tokens.ACTIVATE, customer.principal_id)
    token = tokens.issue(request.root, tokens.ACTIVATE, customer.principal_id, now, email)
    settings = request.registry.settings
    translate = request.localizer.translate
    body = translate(_(
        'Hola,\n\nPara activar su cuenta del Portal clientes de ${company} (RFC ${rfc}) '
        'y elegir su contraseña abra este enlace (sirve una sola vez y vence en 60 '
        'minutos):\n\n${link}\n\nSi usted no lo solicitó, ignore este mensaje.\n',
        mapping={'company': settings.get('canonportal.company_name', 'Canon Mexicana'),
                 'rfc': customer.rfc, 'link': f'{_public_url(request)}/activar/{token}'}))
    mail.send_after_commit(request, email, translate(_('Active su cuenta')), body)
    return SENT


def send_reset(request, user):
    """Mail ``user`` a password-reset link if it has a confirmed address and is under
    the limits. Every caller gives the same answer whatever happened here."""
    now = clock.utcnow()
    email = getattr(user, 'email', None) if user is not None else None
    usable = user is not None and email and not user.shut_out
    if not allowed(request, user.principal_id if usable else None, now) or not usable:
        return
    tokens.revoke_all(request.root, tokens.RESET_PASSWORD, user.principal_id)
    token = tokens.issue(request.root, tokens.RESET_PASSWORD, user.principal_id, now)
    settings = request.registry.settings
    translate = request.localizer.translate
    body = translate(_(
        'Hola,\n\nRecibimos una solicitud para restablecer la contraseña del Portal '
        'clientes de ${company}. Para elegir una nueva abra este enlace (sirve una sola '
        'vez y vence en 60 minutos):\n\n${link}\n\nSi usted no lo solicitó, ignore este '
        'mensaje; su contraseña no cambia.\n',
        mapping={'company': settings.get('canonportal.company_name', 'Canon Mexicana'),
                 'link': f'{_public_url(request)}/restablecer/{token}'}))
    mail.send_after_commit(request, email, translate(_('Restablecer contraseña')), body)


#: How each role of a company's people is called (the role "Pago" has a context of its
#: own: in English the role is "Payer", a payment is "Payment").
ROLE_LABELS = {
    CONSULTA: _('Consulta'),
    CAPTURA: _('Captura'),
    PAGO: _('Pago', context='rol'),
    ADMINISTRADOR: _('Administrador'),
}


#: What each role lets a person do, as the invitation and the welcome page say it.
ROLE_ALLOWS = {
    CONSULTA: _('ver estados de cuenta, facturas, saldos e historial de pagos, y descargarlos'),
    CAPTURA: _('ver estados de cuenta, facturas, saldos e historial de pagos, y preparar pagos'),
    PAGO: _('ver todo, preparar y hacer pagos, y aprobar los que preparan otras personas'),
    ADMINISTRADOR: _('ver todo, preparar, aprobar y hacer pagos, y administrar las personas de '
                     'la empresa'),
}


def accounts_text(user):
    """The ERP accounts a company user sees, as a sentence part: '005301', or 'todas las
    cuentas de la empresa (005300, 005301)' (a translation string)."""
    if user.accounts:
        return ', '.join(user.accounts)
    return _('todas las cuentas de la empresa (${accounts})',
             mapping={'accounts': ', '.join(user.customer.accounts)})


def send_invitation(request, user):
    """Mail ``user`` a single-use link to its welcome (choose a password, come in); older
    links die. The mail names who invited them and what they may do and see."""
    now = clock.utcnow()
    tokens.revoke_all(request.root, tokens.INVITE, user.principal_id)
    token = tokens.issue(request.root, tokens.INVITE, user.principal_id, now)
    company = request.registry.settings.get('canonportal.company_name', 'Canon Mexicana')
    customer = user.customer
    link = f'{_public_url(request)}/bienvenida/{token}'
    translate = request.localizer.translate
    body = translate(_(
        'Hola ${name},\n\n${inviter} le dio acceso al Portal clientes de ${company} para '
        '${customer} (RFC ${rfc}).\n\nSu rol: ${role}: puede ${allows}.\n'
        'Cuentas que puede ver: ${accounts}.\n\nPara elegir su contraseña y entrar abra este '
        'enlace (sirve una sola vez y vence en 72 horas):\n\n${link}\n\n'
        'Su usuario es su correo, ${email}.\n',
        mapping={'name': user.name, 'inviter': user.invited_by or company, 'company': company,
                 'customer': customer.name, 'rfc': customer.rfc,
                 'role': translate(ROLE_LABELS[user.role]),
                 'allows': translate(ROLE_ALLOWS[user.role]),
                 'accounts': translate(accounts_text(user)), 'link': link,
                 'email': user.email}))
    mail.send(request, user.email, translate(_('Invitación al Portal clientes de ${company}',
                                               mapping={'company': company})), body)