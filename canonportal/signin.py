"""Signing in: who is trying, whether they may, and what happens next.

Kept apart from the views so the rules (first login with the RFC, lockout,
disabled accounts and companies: ``Credentials.shut_out``) are plain functions over the tree.
"""
import logging

from . import passwords
from .resources.credentials import LOCKOUT_THRESHOLD, LOCKOUT_WINDOW
from .resources.customer import Customer

log = logging.getLogger(__name__)

OK = 'ok'
BAD_CREDENTIALS = 'bad-credentials'
LOCKED = 'locked'
DISABLED = 'disabled'
#: The RFC as user and password of a customer never activated: no session, only a mailed link.
FIRST_SIGN_IN = 'first-sign-in'


def find_user(root, login):
    """Return the customer (by RFC, any case), company user (by email) or staff user
    (by username)."""
    login = (login or '').strip()
    if not login:
        return None
    if '@' in login:
        return root.customers.find_user_by_email(login)
    return root.customers.find_by_rfc(login) or root.staff.find(login)


def authenticate(root, login, password, now, verified=None):
    """Check a login attempt and record its outcome on the user.

    Returns ``(outcome, user)``. A locked user is refused even with the right
    password; unknown users cost one password verification too, so the
    answer's timing does not reveal whether an RFC exists. ``verified`` (a dict
    kept by the caller) remembers each verification, so that the same attempt
    run again after a write conflict does not hash again.
    """
    user = find_user(root, login)
    if user is None:
        _password_matches(None, password or '', verified)
        log.info('login failed: unknown user')
        # Unknown names lock like real accounts, or the lock would tell which exist.
        throttle = root.throttle
        if throttle is not None and not throttle.allow(
                {'unknown-login:' + login.strip().upper()[:100]: LOCKOUT_THRESHOLD - 1}, now,
                window=LOCKOUT_WINDOW):
            return LOCKED, None
        return BAD_CREDENTIALS, None
    if _is_first_sign_in(user, password or ''):
        # Proves nothing and opens nothing, so it neither counts as a failure nor
        # is refused by a lock that someone else's guesses caused.
        log.info('first sign-in asked: %s', user.principal_id)
        return FIRST_SIGN_IN, user
    if user.is_locked(now):
        log.info('login refused: %s locked', user.principal_id)
        return LOCKED, user
    if _password_matches(user.password_hash, password or '', verified):
        if user.shut_out:
            log.info('login refused: %s disabled', user.principal_id)
            return DISABLED, user
        user.record_successful_login()
        log.info('login ok: %s', user.principal_id)
        return OK, user
    user.record_failed_login(now)
    log.info('login failed: %s', user.principal_id)
    if user.is_locked(now):
        return LOCKED, user
    return BAD_CREDENTIALS, user


def verify_first(root, login, password, now, verified):
    """The slow part of :func:`authenticate` alone, before anything is written: argon2 (and
    the wait for a place) for the hash it will check, remembered in ``verified``. Run in a
    transaction the caller then drops, so that :func:`authenticate` writes on a fresh view
    of the database instead of one as old as the wait (sign-ins that waited together would
    otherwise collide on every bucket split of the audit log and the throttle). Answers that
    need no argon2 (a first sign-in, a locked account) cost none here either."""
    user = find_user(root, login)
    if user is not None and (_is_first_sign_in(user, password or '') or user.is_locked(now)):
        return
    _password_matches(user.password_hash if user is not None else None, password or '', verified)


def _is_first_sign_in(user, password):
    """The manual's first step: user and password are the RFC, for a customer that
    has never chosen a password (an active customer never accepts the RFC again)."""
    if not isinstance(user, Customer) or user.password_hash is not None or user.shut_out:
        return False
    return password.strip().upper() == user.rfc


def _password_matches(password_hash, password, verified=None):
    """argon2 once per stored hash and attempt (``verified``: hash → whether it matched)."""
    if verified is not None and password_hash in verified:
        return verified[password_hash]
    matches = passwords.verify_password(password_hash, password)
    if verified is not None:
        verified[password_hash] = matches
    return matches


def set_password(user, password):
    """Store a new password hash and end every other session of the user."""
    user.password_hash = passwords.hash_password(password)
    user.end_other_sessions()
    user.unlock()
