"""Who the request is and what they may do: the Pyramid 2 security policy.

The session (a signed cookie, JSON) carries only the principal id, the
session generation it was issued under, its start time and the time it was
last used. Each request checks the generation against the user in the
database, so a password change or a disabled account ends other sessions on
every app server at once. A principal that is shut out (disabled, or one of the
people of a company staff disabled: ``Credentials.shut_out``) has no identity on
any request, whatever page or bank return it reaches; this is the one place
that rule is enforced for sessions. The idle and absolute timeouts are checked here
against :mod:`canonportal.clock` (the session factory's own timeout reads
``time.time()``, which tests cannot move).
"""
import os
from functools import cached_property

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.request import RequestLocalCache
from pyramid.settings import asbool

from . import clock
from .resources import PENDING_ACTIVATION, portal_root, Customer, StaffUser, customer_principal, role_principal
from .resources.company_user import CompanyUser
from .sessions import session_factory

SESSION_USER = 'uid'
#: A page of the portal to show after the next sign-in (a bank return seen signed out).
AFTER_SIGN_IN = 'after_sign_in'
SESSION_GENERATION = 'gen'
SESSION_STARTED = 't0'
SESSION_SEEN = 'seen'
#: The last-use time is rewritten at most this often (seconds), not on every request.
SEEN_RESOLUTION = 60


class Identity:
    """The signed-in user as seen by one request."""

    def __init__(self, user):
        self.user = user

    @property
    def is_staff(self):
        return isinstance(self.user, StaffUser)

    @property
    def is_customer(self):
        """A person of a customer company: its RFC credentials or one of its users."""
        return isinstance(self.user, (Customer, CompanyUser))

    @property
    def customer(self):
        """The customer company the user belongs to (None for staff)."""
        if isinstance(self.user, Customer):
            return self.user
        if isinstance(self.user, CompanyUser):
            return self.user.customer
        return None

    @property
    def principal_id(self):
        return self.user.principal_id

    @property
    def accounts(self):
        """The ERP accounts this person may see: a set, or None for every account."""
        if isinstance(self.user, CompanyUser) and self.user.accounts:
            return set(self.user.accounts)
        return None

    @cached_property
    def principals(self):
        """:func:`principals_for` this identity: worked out once per request, however many
        permissions the page asks about (a customer page asks three or more)."""
        return tuple(principals_for(self))

    @property
    def signature(self):
        """``(principal id, name)`` recorded on what this user does (prepared, approved)."""
        user = self.user
        return (user.principal_id, getattr(user, 'display_name', None)
                or getattr(user, 'username', ''))


def principals_for(identity):
    principals = [Everyone]
    if identity is None:
        return principals
    user = identity.user
    principals += [Authenticated, user.principal_id]
    if isinstance(user, Customer):
        principals.append(customer_principal(user.rfc) if user.activated else PENDING_ACTIVATION)
    elif isinstance(user, CompanyUser):
        principals += user.principals()
    elif isinstance(user, StaffUser):
        principals += ['staff', role_principal(user.role)]
    return principals


class PortalSecurityPolicy:
    """Session-based identity, ACL-based permissions."""

    def __init__(self, absolute_seconds, idle_seconds=30 * 60):
        self.absolute_seconds = absolute_seconds
        self.idle_seconds = idle_seconds
        self.cache = RequestLocalCache(self._load_identity)
        self.acl = ACLHelper()

    def _load_identity(self, request):
        session = request.session
        principal_id = session.get(SESSION_USER)
        if not principal_id:
            return None
        root = portal_root(request)
        user = root.find_principal(principal_id) if root is not None else None
        now = clock.utcnow().timestamp()
        started = session.get(SESSION_STARTED, 0)
        seen = session.get(SESSION_SEEN, started)
        expired = (now - started > self.absolute_seconds
                   or now - seen > self.idle_seconds)
        if (user is None or user.shut_out or expired
                or session.get(SESSION_GENERATION) != user.session_generation):
            session.invalidate()
            return None
        if now - seen >= SEEN_RESOLUTION:
            session[SESSION_SEEN] = now
        return Identity(user)

    def identity(self, request):
        return self.cache.get_or_create(request)

    def authenticated_userid(self, request):
        identity = self.identity(request)
        return identity.principal_id if identity else None

    def _principals(self, request):
        identity = self.identity(request)
        return identity.principals if identity is not None else principals_for(None)

    def effective_principals(self, request):
        return list(self._principals(request))

    def permits(self, request, context, permission):
        return self.acl.permits(context, self._principals(request), permission)

    def remember(self, request, userid, **kw):
        """Start a fresh session for ``userid`` (a principal id): new cookie, new CSRF token."""
        user = portal_root(request).find_principal(userid)
        session = request.session
        session.invalidate()
        session[SESSION_USER] = userid
        session[SESSION_GENERATION] = user.session_generation
        session[SESSION_STARTED] = session[SESSION_SEEN] = clock.utcnow().timestamp()
        request.session.new_csrf_token()
        self.cache.clear(request)
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        self.cache.clear(request)
        return []


def resolve_secret(value):
    """Settings may say ``env:NAME`` to read a secret from the environment."""
    if value and value.startswith('env:'):
        name = value[4:]
        secret = os.environ.get(name)
        if not secret:
            raise RuntimeError(f'environment variable {name} is not set')
        return secret
    return value


def includeme(config):
    settings = config.get_settings()
    secret = resolve_secret(settings.get('canonportal.session_secret'))
    if not secret or len(secret) < 32:
        raise RuntimeError('canonportal.session_secret must be at least 32 characters')
    idle = int(settings.get('canonportal.session_idle_minutes', 30)) * 60
    absolute = int(settings.get('canonportal.session_absolute_hours', 12)) * 3600
    config.set_session_factory(session_factory(
        secret,
        cookie_name='canonportal',
        httponly=True,
        samesite='Lax',
        secure=asbool(settings.get('canonportal.session_secure', False)),
        timeout=idle,
        reissue_time=60,
    ))
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(PortalSecurityPolicy(absolute, idle))
