"""Sign-in, first-time activation, email confirmation, password recovery, logout."""
from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from .. import accountmail, audit, clock, mail, passwords, signin, tokens
from ..i18n import LANGUAGE_COOKIE, LANGUAGES, _
from ..payments.transactions import in_own_transaction
from ..resources.company_user import CompanyUser
from ..resources import ACTIVE, Customer, PortalRoot, StaffUser
from ..security import AFTER_SIGN_IN
from . import home_url, settings_of, welcome

PUBLIC = NO_PERMISSION_REQUIRED


def _token_of(request):
    """The token of a mailed link (``/restablecer/<token>``) or of the form posting it."""
    return request.params.get('token') or (request.subpath[0] if request.subpath else '')


def _translate(request, message):
    return request.localizer.translate(message)


@view_config(context=PortalRoot, name='', renderer='canonportal:templates/login.pt',
             permission=PUBLIC, request_method='GET')
def login_page(request):
    """The login page; a signed-in user is sent to their home."""
    if request.identity is not None:
        return HTTPFound(home_url(request, request.identity.user))
    return {'page_title': _('Portal clientes'), 'error': None, 'login': ''}


@view_config(context=PortalRoot, name='login', permission=PUBLIC, request_method='GET')
def login_address(request):
    """A reload or bookmark of the address a failed sign-in left behind leads to the form."""
    return HTTPFound(request.resource_url(request.root))


#: Set by deploy/'s nginx as it hands a request to the portal: ``t=<seconds since the epoch>``.
REQUEST_START = 'X-Request-Start'


def _seconds_queued(request):
    """How long a request waited between nginx and this thread (0 without nginx's header)."""
    value = request.headers.get(REQUEST_START, '')[:32].removeprefix('t=')
    try:
        started = float(value)
    except ValueError:
        return 0.0
    queued = clock.utcnow().timestamp() - started
    return queued if 0 <= queued <= 3600 else 0.0      # clocks apart, or a made-up value


#: A sign-in's writes (failures, lock, last sign-in, audit entry) are committed on their own,
#: on a fresh view of the database once the password was checked, and retried alone when
#: they still collide with another sign-in's on a shared index (a bucket of the audit log or
#: the throttle splitting): argon2 and the wait for it never run twice.
SIGN_IN_WRITE_ATTEMPTS = 10


@view_config(context=PortalRoot, name='login', renderer='canonportal:templates/login.pt',
             permission=PUBLIC, request_method='POST')
def login(request):
    if _seconds_queued(request) > passwords.current_gate().wait:
        # It waited its turn in the sign-in lane's queue longer than a sign-in may wait:
        # "try again", before any work (a deep queue drains fast, the next ones get in).
        raise passwords.Busy()
    login_name = request.POST.get('login', '').strip()
    password = request.POST.get('password', '')
    now = clock.utcnow()
    verified = {}

    def attempt():
        outcome, user = signin.authenticate(request.root, login_name, password, now, verified)
        if isinstance(user, StaffUser):
            # Staff sign-ins are staff actions: the audit log shows who came in, and who tried.
            audit.record(request.root, user.principal_id, 'staff.login', user, '', outcome)
        if outcome == signin.OK:
            company = user.customer if isinstance(user, CompanyUser) else user
            if isinstance(company, Customer):
                user.last_sign_in = clock.utcnow()
                audit.record(request.root, user.principal_id, 'company.login', company, '', 'ok')
        return outcome, user

    signin.verify_first(request.root, login_name, password, now, verified)
    outcome, user = in_own_transaction(request.tm, attempt, attempts=SIGN_IN_WRITE_ATTEMPTS)
    if outcome == signin.OK:
        # A page asked for signed out (a mail's link, a bank return, a bookmark after the
        # idle timeout) is where the user lands, if it is one of theirs.
        wanted = request.session.pop(AFTER_SIGN_IN, None) or ''
        headers = remember(request, user.principal_id)
        target = home_url(request, user)
        company = user.customer if isinstance(user, CompanyUser) else user
        if isinstance(company, Customer):
            mine = wanted.startswith(request.resource_path(company))
        else:
            mine = wanted == '/manage' or wanted.startswith('/manage/')
        if mine:
            target = request.application_url + wanted
        return HTTPSeeOther(target, headers=headers)
    if outcome == signin.FIRST_SIGN_IN:
        email = user.contact_email
        sent = accountmail.send_activation(request, user, email)
        request.response.headers['Referrer-Policy'] = 'no-referrer'
        return render_to_response('canonportal:templates/activation_sent.pt', {
            'page_title': _('Activar cuenta'), 'outcome': sent,
            'masked_email': accountmail.mask(email), 'minutes': 60}, request=request)
    error = {
        signin.LOCKED: _('Por seguridad, la cuenta está bloqueada durante 15 minutos '
                         'por demasiados intentos fallidos. Intente más tarde o escríbanos.'),
        signin.DISABLED: _('La cuenta está deshabilitada. Escríbanos para reactivarla.'),
    }.get(outcome, _('Usuario o contraseña incorrectos.'))
    request.response.status = 400 if outcome == signin.BAD_CREDENTIALS else 403
    return {'page_title': _('Portal clientes'), 'error': error, 'login': login_name}


@view_config(context=PortalRoot, name='logout', permission=PUBLIC, request_method='POST')
def logout(request):
    """End the session: a copy of the signed cookie must not work afterwards either."""
    identity = request.identity
    if identity is not None:
        # A signed cookie cannot be revoked by itself; a new session generation
        # makes every cookie issued to this user so far worthless.
        identity.user.end_other_sessions()
        if identity.is_staff:
            audit.record(request.root, identity.principal_id, 'staff.logout', identity.user)
    headers = forget(request)
    return HTTPSeeOther(request.resource_url(request.root), headers=headers)


@view_config(context=PortalRoot, name='activar', permission=PUBLIC,
             renderer='canonportal:templates/activate.pt')
def activate(request):
    """The mailed link of a first sign-in: choose a password. Nothing of the customer
    shows without a valid link; the address it was mailed to becomes the sign-in email."""
    request.response.headers['Referrer-Policy'] = 'no-referrer'
    token = _token_of(request)
    now = clock.utcnow()
    found = tokens.peek(request.root, tokens.ACTIVATE, token, now)
    customer = request.root.find_principal(found[0]) if found else None
    if not isinstance(customer, Customer) or customer.activated or customer.shut_out:
        request.response.status = 400
        return {'page_title': _('Activar cuenta'), 'valid': False, 'errors': {}, 'token': '',
                'customer': None}
    email = found[1]
    errors = {}
    if request.method == 'POST':
        password = request.POST.get('password', '')
        problem = passwords.password_problem(password, forbidden=(customer.rfc,))
        if problem:
            errors['password'] = problem
        elif password != request.POST.get('password_confirmation', ''):
            errors['password_confirmation'] = _('Las contraseñas no coinciden.')
        if not errors:
            tokens.consume(request.root, tokens.ACTIVATE, token, now)
            signin.set_password(customer, password)
            customer.state = ACTIVE
            customer.set_email(email)
            headers = remember(request, customer.principal_id)
            request.session.flash(_translate(request, _(
                'Listo. Su cuenta está activa; en adelante ingrese con su RFC y su contraseña.')))
            return HTTPSeeOther(home_url(request, customer), headers=headers)
        request.response.status = 400
    return {'page_title': _('Activar cuenta'), 'valid': True, 'errors': errors, 'token': token,
            'customer': customer, 'masked_email': accountmail.mask(email)}


def send_email_confirmation(request, customer, email):
    now = clock.utcnow()
    customer.pending_email = email
    tokens.revoke_all(request.root, tokens.CONFIRM_EMAIL, customer.principal_id)
    token = tokens.issue(request.root, tokens.CONFIRM_EMAIL, customer.principal_id, now, email)
    settings = settings_of(request)
    link = f"{settings['public_url']}/confirmar-correo/{token}"
    body = _translate(request, _(
        'Hola,\n\nPara confirmar este correo en el Portal clientes de ${company} '
        '(RFC ${rfc}) abra este enlace:\n\n${link}\n\nEl enlace vence en 48 horas. '
        'Si usted no lo solicitó, ignore este mensaje.\n',
        mapping={'company': settings['company_name'], 'rfc': customer.rfc, 'link': link}))
    mail.send(request, email, _translate(request, _('Confirme su correo electrónico')), body)


@view_config(context=PortalRoot, name='confirmar-correo', permission=PUBLIC,
             renderer='canonportal:templates/confirm_email.pt')
def confirm_email(request):
    """GET shows the address and a button; only the POST confirms (no GET writes)."""
    token = _token_of(request)
    now = clock.utcnow()
    found = tokens.peek(request.root, tokens.CONFIRM_EMAIL, token, now)
    if found is None:
        request.response.status = 400
        return {'page_title': _('Confirmar correo'), 'valid': False, 'done': False, 'token': ''}
    principal_id, email = found
    if request.method == 'POST':
        tokens.consume(request.root, tokens.CONFIRM_EMAIL, token, now)
        customer = request.root.find_principal(principal_id)
        customer.set_email(email)
        return {'page_title': _('Confirmar correo'), 'valid': True, 'done': True,
                'email': email, 'token': ''}
    return {'page_title': _('Confirmar correo'), 'valid': True, 'done': False,
            'email': email, 'token': token}


@view_config(context=PortalRoot, name='recuperar-contrasena', permission=PUBLIC,
             renderer='canonportal:templates/recover.pt')
def recover(request):
    """Mail a reset link to the confirmed address; the same answer for every RFC."""
    if request.method != 'POST':
        return {'page_title': _('Recuperar contraseña'), 'sent': False}
    accountmail.send_reset(request, signin.find_user(request.root, request.POST.get('login', '')))
    return {'page_title': _('Recuperar contraseña'), 'sent': True}


@view_config(context=PortalRoot, name='restablecer', permission=PUBLIC,
             renderer='canonportal:templates/reset.pt')
def reset(request):
    """Choose a new password with a mailed token; no automatic sign-in afterwards. An
    invitation's link of the older mails (``/restablecer/<token>``) opens its welcome."""
    request.response.headers['Referrer-Policy'] = 'no-referrer'
    token = _token_of(request)
    now = clock.utcnow()
    found = tokens.peek(request.root, tokens.RESET_PASSWORD, token, now)
    if found is None and welcome.is_invitation(request, token, now):
        return welcome.respond(request, token)
    user = request.root.find_principal(found[0]) if found is not None else None
    if user is not None and user.shut_out:
        user = None
    result = {'page_title': _('Restablecer contraseña'), 'valid': user is not None,
              'token': token, 'errors': {}, 'done': False}
    if user is None:
        request.response.status = 400
        return result
    if request.method == 'POST':
        password = request.POST.get('password', '')
        forbidden = (getattr(user, 'rfc', None), getattr(user, 'username', None))
        problem = passwords.password_problem(password, forbidden=forbidden)
        if problem:
            result['errors']['password'] = problem
        elif password != request.POST.get('password_confirmation', ''):
            result['errors']['password_confirmation'] = _('Las contraseñas no coinciden.')
        if result['errors']:
            request.response.status = 400
            return result
        tokens.consume(request.root, tokens.RESET_PASSWORD, token, now)
        signin.set_password(user, password)
        if isinstance(user, Customer) and not user.activated:
            user.state = ACTIVE
        mail.send(request, user.email, _translate(request, _('Su contraseña cambió')),
                  _translate(request, _(
                      'Hola,\n\nLa contraseña de su cuenta del Portal clientes acaba de '
                      'cambiar y se cerraron sus otras sesiones. Si no fue usted, escríbanos '
                      'de inmediato a ${support}.\n',
                      mapping={'support': settings_of(request)['support_email']})))
        forget(request)
        result['done'] = True
        result['token'] = ''
    return result


@view_config(context=PortalRoot, name='idioma', permission=PUBLIC, request_method='POST')
def choose_language(request):
    """Remember the chosen language in a cookie and go back where the user was."""
    language = request.POST.get('lang')
    came_from = request.POST.get('came_from', '/')
    if not came_from.startswith('/') or came_from.startswith('//'):
        came_from = '/'
    response = HTTPSeeOther(request.application_url + came_from)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600,
                            samesite='Lax', httponly=True)
    return response
