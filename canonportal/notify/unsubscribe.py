"""The one-click unsubscribe link of the notifier's mails (RFC 8058).

Each mail carries a link for its recipient and its kind: ``/baja?k=KIND&u=PERSON&t=TOKEN``
on the configured public URL (``canonportal.public_url``, never a request's host). The
token is a :mod:`canonportal.tokens` token (the database keeps its SHA-256 with the person
and the kind), so a link is good only as issued: another kind, another person or an edited
token finds nothing, and an expired one neither. It may be used again until it expires
(turning off what is off changes nothing).
"""
from urllib.parse import urlencode

from .. import tokens
from ..resources import customer_of
from ..resources.notices import KINDS, choose, wants

#: The portal's page of the link (a view of the root).
VIEW_NAME = 'baja'
#: Bounds of what the link's parameters may be before anything is looked up.
MAX_KIND, MAX_PERSON, MAX_TOKEN = 20, 120, 64


def link(root, public_url, person, kind, now):
    """A new unsubscribe link for ``person`` and ``kind``, stored as a token."""
    token = tokens.issue(root, tokens.UNSUBSCRIBE, person.principal_id, now, kind)
    query = urlencode({'k': kind, 'u': person.principal_id, 't': token})
    return f'{public_url.rstrip("/")}/{VIEW_NAME}?{query}'


def read(root, params, now):
    """``(person, kind)`` of a link's parameters when they are a valid link as issued; else
    None. Reads only what the bounds allow."""
    kind = params.get('k') or ''
    person_id = params.get('u') or ''
    token = params.get('t') or ''
    if (kind not in KINDS or not person_id or len(person_id) > MAX_PERSON
            or not token or len(token) > MAX_TOKEN):
        return None
    found = tokens.peek(root, tokens.UNSUBSCRIBE, token, now)
    if found is None or found != (person_id, kind):
        return None
    person = root.find_principal(person_id)
    return (person, kind) if person is not None else None


def turn_off(person, kind):
    """Turn ``kind`` off for ``person``; True when it was on (something changed)."""
    customer = customer_of(person)
    was_on = wants(person, kind, customer)
    if (person.mail_choices or {}).get(kind) is not False:
        choose(person, kind, False)
    return was_on
