"""The console scripts' endpoints, for when the embedded FileStorage is held by this server:
``POST /reconciliar`` (``canonportal-reconcile``), ``POST /empaquetar``
(``canonportal-pack``), ``POST /alta-personal`` (``canonportal-adduser``) and
``POST /notificar`` (``canonportal-notify``).

Each answers only a request made straight to waitress from this machine
(``local_only=True``, :mod:`canonportal.localonly`): through any proxy, under any
spelling of the URL, they are our 404 page. The script then proves it may ask with its
token (:func:`canonportal.localonly.script_token`), derived from the session secret, which
only whoever can read the ini file (or its environment) has. deploy/'s nginx site refuses
these paths as well. What a script sends (a staff password included) is in the body of the
POST, never in the URL, and nothing of the body is logged.
"""
import io
import logging

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from pyramid_mailer.interfaces import IMailer

from .. import packing, staff_accounts
from .. import dates
from ..localonly import ADDUSER, NOTIFY, PACK, RECONCILE, has_script_token
from ..notify.run import notify
from ..payments.reconciliation import reconcile
from ..resources import PortalRoot

log = logging.getLogger(__name__)


def _text(body, status=200):
    return Response(body, status=status, content_type='text/plain')


def _forbidden(script):
    log.warning('refused a %s request without the right token', script)
    return _text('forbidden\n', 403)


def _database(request):
    return request.registry._zodb_databases['']  # noqa: SLF001 - pyramid_zodbconn's registry


@view_config(context=PortalRoot, name='reconciliar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def reconcile_endpoint(request):
    if not has_script_token(request, RECONCILE):
        return _forbidden(RECONCILE)
    out = io.StringIO()
    counts = reconcile(_database(request), request.registry.settings,
                       request.registry.gateways, request.registry.getUtility(IMailer), out=out)
    summary = ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) or 'nothing pending'
    return _text(out.getvalue() + f'reconciled: {summary}\n')


@view_config(context=PortalRoot, name='empaquetar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def pack_endpoint(request):
    if not has_script_token(request, PACK):
        return _forbidden(PACK)
    try:
        days = packing.read_days(request.POST.get('days', ''))
    except ValueError:
        return _text(f'days must be a whole number from 0 to {packing.MAX_DAYS}\n', 400)
    summary = packing.pack(_database(request), days)
    log.info('%s (asked by canonportal-pack)', summary)
    return _text(summary + '\n')


@view_config(context=PortalRoot, name='alta-personal', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def adduser_endpoint(request):
    """Create a staff account or set its role and password, as the script would on the
    database it could not open; every rule checked again here."""
    if not has_script_token(request, ADDUSER):
        return _forbidden(ADDUSER)
    form = request.POST
    try:
        done = staff_accounts.add_or_update(
            request.root, form.get('username', '')[:staff_accounts.MAX_USERNAME + 1],
            form.get('role', ''), form.get('email', '')[:staff_accounts.MAX_EMAIL + 1],
            form.get('password', '')[:staff_accounts.MAX_PASSWORD + 1])
    except staff_accounts.Refused as refused:
        request.tm.doom()
        return _text(f'{refused}\n', 400)
    log.info('%s (asked by canonportal-adduser)', done)
    return _text(done + '\n')


@view_config(context=PortalRoot, name='notificar', permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method='POST', local_only=True)
def notify_endpoint(request):
    """canonportal-notify's run, on this server's database and mailer."""
    if not has_script_token(request, NOTIFY):
        return _forbidden(NOTIFY)
    today = None
    if request.POST.get('today'):
        try:
            today = dates.parse(request.POST['today'][:20], ('%Y-%m-%d',))
        except ValueError:
            return _text('today must be a date YYYY-MM-DD from 2000 to 2100\n', 400)
    out = io.StringIO()
    counts = notify(_database(request), request.registry.settings,
                    request.registry.getUtility(IMailer), today=today,
                    dry_run=bool(request.POST.get('dry_run')), out=out)
    return _text(out.getvalue())
