"""Endpoints for this machine's console scripts only: ``local_only=True`` on a view, and
the token each script proves itself with.

``canonportal-reconcile``, ``canonportal-pack``, ``canonportal-adduser`` and
``canonportal-notify`` ask the waitress process that holds the embedded FileStorage
(``POST /reconciliar``, ``POST /empaquetar``, ``POST /alta-personal``, ``POST /notificar``;
:mod:`.views.maintenance`). Such a view
answers only a request made straight to waitress from this machine:

* the peer (``REMOTE_ADDR``) is a loopback address, and
* the request carries none of the headers a proxy adds (:data:`PROXY_HEADERS`).

A proxy says whom it forwards in one of those headers (deploy/'s nginx sets
``X-Forwarded-For`` and ``X-Real-IP``; waitress drops an ``X-Forwarded-For`` from a peer
that is not its ``trusted_proxy``, but never ``X-Real-IP``), and with ``trusted_proxy``
(production.ini) waitress puts the client's own address in ``REMOTE_ADDR``. So whatever
spelling of the URL the proxy lets through, a request from outside does not reach the
view: the predicate does not match and the answer is our 404 page, the same as for a URL
that does not exist.

Then the script proves it may ask: :data:`TOKEN_HEADER` carries :func:`script_token`, an
HMAC of the script's name under the session secret, which only whoever reads the ini file
(or its environment) has; one script's token opens no other script's endpoint.
"""
import hashlib
import hmac
import ipaddress
import logging

from .paths import loggable
from .security import resolve_secret

log = logging.getLogger(__name__)

#: Headers by which a proxy tells the app whom it forwards. ``X-Forwarded-Proto`` is not
#: among them: the scripts send it (with ``Host``) to look like a request for the public
#: host (``scripts.common.public_host_headers``).
PROXY_HEADERS = ('X-Forwarded-For', 'X-Real-IP', 'Forwarded', 'X-Forwarded-Host', 'Via')
#: ``REMOTE_ADDR`` of a peer on waitress's Unix socket listener.
UNIX_SOCKET_PEER = 'localhost'
#: The header that carries :func:`script_token`.
TOKEN_HEADER = 'X-Script-Token'
#: The scripts that may ask the serving portal, each at its own endpoint.
RECONCILE, PACK, ADDUSER = 'canonportal-reconcile', 'canonportal-pack', 'canonportal-adduser'
NOTIFY = 'canonportal-notify'


def script_token(settings, script):
    """The token that lets ``script`` (e.g. :data:`PACK`) ask the server: derived from the
    session secret (``canonportal.session_secret``, or the environment it names)."""
    secret = resolve_secret(settings.get('canonportal.session_secret', '')) or ''
    return hmac.new(secret.encode(), script.encode(), hashlib.sha256).hexdigest()


def has_script_token(request, script):
    """Whether ``request`` carries ``script``'s token (compared in constant time)."""
    expected = script_token(request.registry.settings, script)
    return hmac.compare_digest(request.headers.get(TOKEN_HEADER, '').encode(), expected.encode())


def is_loopback(address):
    """True for 127.0.0.0/8, ::1 (with or without brackets), their IPv4-mapped form, and
    waitress's name for a Unix socket peer; False for anything else, malformed included."""
    address = (address or '').strip()
    if address == UNIX_SOCKET_PEER:
        return True
    try:
        parsed = ipaddress.ip_address(address.removeprefix('[').removesuffix(']'))
    except ValueError:
        return False
    mapped = getattr(parsed, 'ipv4_mapped', None)
    return (mapped or parsed).is_loopback


def straight_from_this_machine(request):
    """The request came from loopback to waitress itself, through no proxy."""
    if not is_loopback(request.environ.get('REMOTE_ADDR')):
        return False
    return not any(name in request.headers for name in PROXY_HEADERS)


class LocalOnlyPredicate:
    """The view predicate ``local_only=True``: matches only :func:`straight_from_this_machine`."""

    def __init__(self, value, config):
        self.value = bool(value)

    def text(self):
        return f'local_only = {self.value}'

    phash = text

    def __call__(self, context, request):
        if not self.value or straight_from_this_machine(request):
            return True
        log.warning('refused %s %s: not straight from this machine (peer %s, proxy headers: %s)',
                    request.method, loggable(request.path),
                    loggable(request.environ.get('REMOTE_ADDR', '-')),
                    ', '.join(name for name in PROXY_HEADERS if name in request.headers) or 'none')
        return False


def includeme(config):
    config.add_view_predicate('local_only', LocalOnlyPredicate)
