"""Single-use, expiring tokens for activation, email confirmation and password reset, and
the unsubscribe links of the portal's own mails (used as often as wanted until they expire).

The token (128+ bits from :mod:`secrets`) goes only into the mailed link; the
database keeps its SHA-256, so a copy of the database cannot use them.
"""
import datetime
import hashlib
import secrets

CONFIRM_EMAIL = 'confirm-email'
RESET_PASSWORD = 'reset-password'
ACTIVATE = 'activate'
INVITE = 'invite'           # a company administrator invited a colleague
UNSUBSCRIBE = 'unsubscribe'  # a mailed link that turns one kind of mail off for one person

LIFETIMES = {
    CONFIRM_EMAIL: datetime.timedelta(hours=48),
    RESET_PASSWORD: datetime.timedelta(minutes=60),
    ACTIVATE: datetime.timedelta(minutes=60),
    INVITE: datetime.timedelta(hours=72),
    UNSUBSCRIBE: datetime.timedelta(days=120),
}


def _digest(token):
    return hashlib.sha256(token.encode('ascii', 'replace')).hexdigest()


def issue(root, purpose, principal_id, now, data=None):
    """Store a new token for ``principal_id`` and return it (in clear, once)."""
    # 128 bits, 22 URL-safe characters: the link fits on one line of a
    # quoted-printable mail body, so it stays intact even in the raw file.
    token = secrets.token_urlsafe(16)
    root.tokens[_digest(token)] = (purpose, principal_id, now + LIFETIMES[purpose], data)
    _forget_expired(root, now)
    return token


def peek(root, purpose, token, now):
    """Return ``(principal_id, data)`` if the token is valid, without using it."""
    entry = root.tokens.get(_digest(token or ''))
    if entry is None:
        return None
    kind, principal_id, expires, data = entry
    if kind != purpose or now >= expires:
        return None
    return principal_id, data


def consume(root, purpose, token, now):
    """Like :func:`peek`, and the token can never be used again."""
    found = peek(root, purpose, token, now)
    if found is not None:
        del root.tokens[_digest(token)]
    return found


def revoke_all(root, purpose, principal_id):
    """Drop every outstanding token of one purpose for one principal."""
    revoke_for(root, purpose, {principal_id})


def revoke_for(root, purpose, principal_ids):
    """Drop every outstanding token of one purpose for any of ``principal_ids`` (one pass)."""
    doomed = [k for k, v in root.tokens.items() if v[0] == purpose and v[1] in principal_ids]
    for key in doomed:
        del root.tokens[key]


def _forget_expired(root, now, limit=20):
    # Bounded clean-up on each issue keeps the table small without a cron job.
    doomed = []
    for key, entry in root.tokens.items():
        if entry[2] <= now:
            doomed.append(key)
        if len(doomed) >= limit:
            break
    for key in doomed:
        del root.tokens[key]
