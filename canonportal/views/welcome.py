"""The invitee's welcome: the link a company administrator's invitation mails.

It says where they arrive (the company, who invited them), what they may do there (their
role and the accounts they see) and that their email is their user name; choosing a
password accepts the invitation and signs them in, landing on their home. The link is
single use and nothing about the company shows without a valid one. A link whose email
another company's invitation took first is refused (409) and stays as it was; a refused
password changes nothing either.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.security import NO_PERMISSION_REQUIRED, remember
from pyramid.view import view_config

from .. import accountmail, audit, clock, passwords, signin, tokens
from ..i18n import _
from ..resources import PortalRoot
from ..resources.company_user import CompanyUser
from . import home_url, settings_of

VIEW_NAME = 'bienvenida'
TEMPLATE = 'canonportal:templates/welcome.pt'
#: The action of the audit log when an invitation is accepted.
ACCEPTED = 'company.accept'


def invitee(request, token, now):
    """The invited person a valid, unused link names, or None."""
    found = tokens.peek(request.root, tokens.INVITE, token, now)
    user = request.root.find_principal(found[0]) if found is not None else None
    return user if isinstance(user, CompanyUser) and not user.shut_out else None


def is_invitation(request, token, now):
    """Whether ``token`` is a valid invitation (the older mails linked it to /restablecer)."""
    return invitee(request, token, now) is not None


def _values(request, user, token, errors=None, state='ok'):
    values = {'page_title': _('Le damos la bienvenida'), 'state': state, 'token': token,
              'errors': errors or {}, 'user': None}
    if user is not None and state == 'ok':
        customer = user.customer
        values.update(
            user=user, company=customer,
            inviter=user.invited_by or settings_of(request)['company_name'],
            role=accountmail.ROLE_LABELS[user.role], allows=accountmail.ROLE_ALLOWS[user.role],
            accounts=accountmail.accounts_text(user))
    return values


def _render(request, values, status=200):
    response = render_to_response(TEMPLATE, values, request=request)
    response.status = status
    response.headers['Referrer-Policy'] = 'no-referrer'
    return response


@view_config(context=PortalRoot, name=VIEW_NAME, permission=NO_PERMISSION_REQUIRED,
             request_method=('GET', 'POST'))
def welcome(request):
    """``/bienvenida/<token>``: the welcome, and the password that accepts the invitation."""
    token = (request.params.get('token') or (request.subpath[0] if request.subpath else ''))[:200]
    return respond(request, token)


def respond(request, token):
    """The welcome of the invitation ``token`` (GET) or its acceptance (POST)."""
    now = clock.utcnow()
    user = invitee(request, token, now)
    if user is None:
        return _render(request, _values(request, None, '', state='invalid'), 400)
    customers = request.root.customers
    if not customers.may_claim_email(user):
        # Another company's invitation to this address was accepted first.
        return _render(request, _values(request, None, '', state='taken'), 409)
    if request.method != 'POST':
        return _render(request, _values(request, user, token))
    password = request.POST.get('password', '')
    errors = {}
    problem = passwords.password_problem(password, forbidden=(user.email, user.customer.rfc))
    if problem:
        errors['password'] = problem
    elif password != request.POST.get('password_confirmation', ''):
        errors['password_confirmation'] = _('Las contraseñas no coinciden.')
    if errors:
        request.tm.doom()
        return _render(request, _values(request, user, token, errors), 400)
    tokens.consume(request.root, tokens.INVITE, token, now)
    customers.claim_email(user)
    signin.set_password(user, password)
    user.last_sign_in = now
    audit.record(request.root, user.principal_id, ACCEPTED, user, '', user.role, when=now)
    headers = remember(request, user.principal_id)     # a new session: flash after it
    request.session.flash(request.localizer.translate(_(
        'Listo, ${name}: su contraseña quedó guardada y ya entró al portal por ${company}. '
        'La próxima vez entre con su correo, ${email}, y esa contraseña.',
        mapping={'name': user.name, 'company': user.customer.name, 'email': user.email})))
    return HTTPSeeOther(home_url(request, user), headers=headers)
