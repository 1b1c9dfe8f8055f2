"""The console scripts' endpoints, for when the embedded FileStorage is held by this server:
``POST /reconciliar`` (``canonportal-reconcile``) and ``POST /empaquetar``
(``canonportal-pack``).

Both answer only a request made straight to waitress from this machine
(``local_only=True``, :mod:`canonportal.localonly`): through any proxy, under any
spelling of the URL, they are our 404 page. The script then proves it may ask with a
token derived from the session secret, which only whoever can read the ini file (or
its environment) has. deploy/'s nginx site refuses these paths as well.
"""
import hmac
import io
import logging

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from pyramid_mailer.interfaces import IMailer

from .. import packing
from ..payments.reconciliation import TOKEN_HEADER, reconcile, reconcile_token
from ..resources import PortalRoot

log = logging.getLogger(__name__)


def _has_token(request, header, expected):
    return hmac.compare_digest(request.headers.get(header, '').encode(), expected.encode())


def _database(request):
    return request.registry._zodb_databases['']  # noqa: SLF001 - pyramid_zodbconn's registry


@view_config(context=PortalRoot, name='reconciliar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def reconcile_endpoint(request):
    if not _has_token(request, TOKEN_HEADER, reconcile_token(request.registry.settings)):
        log.warning('refused a reconcile request without the right token')
        return Response('forbidden', status=403, content_type='text/plain')
    out = io.StringIO()
    counts = reconcile(_database(request), request.registry.settings,
                       request.registry.gateways, request.registry.getUtility(IMailer), out=out)
    summary = ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) or 'nothing pending'
    return Response(out.getvalue() + f'reconciled: {summary}\n', content_type='text/plain')


@view_config(context=PortalRoot, name='empaquetar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def pack_endpoint(request):
    if not _has_token(request, packing.TOKEN_HEADER, packing.pack_token(request.registry.settings)):
        log.warning('refused a pack request without the right token')
        return Response('forbidden\n', status=403, content_type='text/plain')
    try:
        days = packing.read_days(request.POST.get('days', ''))
    except ValueError:
        return Response(f'days must be a whole number from 0 to {packing.MAX_DAYS}\n',
                        status=400, content_type='text/plain')
    summary = packing.pack(_database(request), days)
    log.info('%s (asked by canonportal-pack)', summary)
    return Response(summary + '\n', content_type='text/plain')
