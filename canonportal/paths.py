"""Request lines: paths refused when they are not UTF-8 and masked before they reach a
log; hosts refused when they are not the portal's.

A path such as ``/%ff`` cannot be decoded, and every piece of code that reads
``request.path`` (traversal, the error views, the security headers) then fails, so
waitress answered with its own bare 500. The outermost tween swaps such a path for
``/`` and a tween inside the exception view refuses the request, so the answer is
our 400 page with our headers.

Mailed links carry their secret in the path (``/restablecer/<token>``,
``/activar/<token>``, ``/confirmar-correo/<token>``, ``/bienvenida/<token>``):
:func:`loggable` masks it.

Pyramid builds absolute URLs (redirects, form actions) from the request's Host
header; a forged ``Host: evil.example`` would put the attacker's site into them.
Only the host of ``canonportal.public_url`` (and loopback, which no outsider can
name usefully) is served, or exactly those of ``canonportal.allowed_hosts``.
"""
import re
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import EXCVIEW, INGRESS

from .i18n import _

BAD_PATH = 'canonportal.bad_path'
BAD_HOST = 'canonportal.bad_host'
MSG_BAD_PATH = _('La dirección no es válida.')
LOOPBACK = ('localhost', '127.0.0.1', '[::1]')
#: First path segments whose next segment is a secret token.
TOKEN_PATHS = ('restablecer', 'activar', 'confirmar-correo', 'bienvenida')
_TOKEN_SEGMENT = re.compile(r'^(/(?:@@)?(?:%s)/)[^/?#]+' % '|'.join(TOKEN_PATHS))


def loggable(path):
    """``path`` fit for a log line: token segments masked, bounded, printable."""
    path = _TOKEN_SEGMENT.sub(r'\1***', path or '')
    return re.sub(r'[\x00-\x1f\x7f]', '?', path[:200])


def is_utf8(environ):
    try:
        environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
        environ.get('SCRIPT_NAME', '').encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


def allowed_hosts(settings):
    """The host names (without port) the portal answers for."""
    configured = (settings.get('canonportal.allowed_hosts') or '').split()
    if configured:
        return frozenset(host.lower() for host in configured)
    public = urlsplit(settings.get('canonportal.public_url') or '').hostname
    return frozenset(filter(None, (public, *LOOPBACK)))


def host_name(host_header):
    """``Host: Portal.Example:443`` → ``portal.example``; None when malformed."""
    host = (host_header or '').strip().lower()
    if host.startswith('['):
        name, _, rest = host.partition(']')
        name += ']'
        port = rest[1:] if rest.startswith(':') else rest
    else:
        name, _, port = host.partition(':')
    if not re.fullmatch(r'[a-z0-9.\-]{1,253}|\[[0-9a-f:.]{2,45}\]', name) or (port and not port.isdigit()):
        return None
    return name


def path_check_tween_factory(handler, registry):
    hosts = allowed_hosts(registry.settings)
    canonical = urlsplit(registry.settings.get('canonportal.public_url') or '').netloc \
        or sorted(hosts)[0]

    def path_check_tween(request):
        environ = request.environ
        if not is_utf8(environ):
            environ[BAD_PATH] = True
            environ['PATH_INFO'] = '/'
            environ['SCRIPT_NAME'] = ''
        if host_name(environ.get('HTTP_HOST') or environ.get('SERVER_NAME')) not in hosts:
            # Nothing built for this request may name the forged host.
            environ[BAD_HOST] = environ.get('HTTP_HOST', '')[:100]
            environ['HTTP_HOST'] = canonical
        return handler(request)
    return path_check_tween


def bad_path_tween_factory(handler, registry):
    def bad_path_tween(request):
        if request.environ.get(BAD_PATH):
            raise HTTPBadRequest(MSG_BAD_PATH)
        if BAD_HOST in request.environ:
            raise HTTPBadRequest(MSG_BAD_PATH)
        return handler(request)
    return bad_path_tween


def includeme(config):
    config.add_tween('canonportal.paths.path_check_tween_factory', under=INGRESS)
    config.add_tween('canonportal.paths.bad_path_tween_factory', under=EXCVIEW)
