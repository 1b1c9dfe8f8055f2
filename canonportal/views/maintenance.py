"""``POST /empaquetar``: ``canonportal-pack`` when the embedded FileStorage is held by this server.

Authenticated by a token derived from the session secret, which only whoever
can read the ini file (or its environment) has. The nginx site of deploy/
does not even pass this path on: the script talks to waitress directly.
"""
import hmac
import logging

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import packing
from ..resources import PortalRoot

log = logging.getLogger(__name__)


@view_config(context=PortalRoot, name='empaquetar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST')
def pack_endpoint(request):
    given = request.headers.get(packing.TOKEN_HEADER, '')
    expected = packing.pack_token(request.registry.settings)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning('refused a pack request without the right token')
        return Response('forbidden\n', status=403, content_type='text/plain')
    try:
        days = packing.read_days(request.POST.get('days', ''))
    except ValueError:
        return Response(f'days must be a whole number from 0 to {packing.MAX_DAYS}\n',
                        status=400, content_type='text/plain')
    summary = packing.pack(request.registry._zodb_databases[''], days)  # noqa: SLF001
    log.info('%s (asked by canonportal-pack)', summary)
    return Response(summary + '\n', content_type='text/plain')
