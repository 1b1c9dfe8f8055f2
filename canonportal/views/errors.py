"""Friendly Spanish error pages: never a traceback."""
import logging

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPClientError, HTTPFound
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_retry import is_error_retryable
from ZODB.POSException import ConflictError
from translationstring import TranslationString

from ..i18n import _
from ..passwords import Busy
from ..paths import loggable
from ..resources import Customer
from ..security import AFTER_SIGN_IN

log = logging.getLogger(__name__)

#: The longest path kept to return to after signing in (the session is a cookie).
MAX_KEPT_PATH = 500


@notfound_view_config(renderer='canonportal:templates/error.pt')
def not_found(request):
    request.response.status = 404
    return {'page_title': _('Página no encontrada'),
            'message': _('La página que busca no existe o no está disponible para su cuenta.')}


@forbidden_view_config(renderer='canonportal:templates/error.pt')
def forbidden(request):
    identity = request.identity
    if identity is None:
        log.info('denied (anonymous): %s %s', request.method, loggable(request.path))
        if request.method == 'GET':
            # A mail's link or a bookmark opened signed out (or after the idle timeout):
            # after signing in the user lands there, if it is theirs (see views.auth.login).
            # Kept server-side from the path asked for, never from a parameter.
            if len(request.path_qs) <= MAX_KEPT_PATH:
                request.session[AFTER_SIGN_IN] = request.path_qs
            return HTTPFound(request.application_url + '/')
    else:
        log.info('denied: %s %s %s', identity.principal_id, request.method, loggable(request.path))
        user = identity.user
        if isinstance(user, Customer) and not user.activated and request.method == 'GET':
            return HTTPFound(request.application_url + '/activar')
    request.response.status = 403
    return {'page_title': _('Acceso denegado'),
            'message': _('No tiene permiso para ver esta página.')}


@exception_view_config(ConflictError, renderer='canonportal:templates/error.pt')
def still_conflicting(exc, request):
    """A write that kept colliding with others after its retries (a burst on one account or
    one index): nothing was written, and asking again in a moment works. Not a 500."""
    if is_error_retryable(request, exc):
        log.info('retrying %s %s after %s', request.method, loggable(request.path), type(exc).__name__)
    else:
        log.warning('gave up after conflicts: %s %s', request.method, loggable(request.path))
    request.response.status = 503
    request.response.headers['Retry-After'] = '2'
    return {'page_title': _('Intente en unos segundos'),
            'message': _('Hay muchas solicitudes al mismo tiempo; intente de nuevo en unos segundos.')}


@exception_view_config(Exception, renderer='canonportal:templates/error.pt')
def server_error(exc, request):
    if is_error_retryable(request, exc):
        # A ZODB conflict that pyramid_retry will run again: not an error yet.
        log.info('retrying %s %s after %s', request.method, loggable(request.path), type(exc).__name__)
    else:
        log.exception('unexpected error on %s %s', request.method, loggable(request.path))
    request.response.status = 500
    return {'page_title': _('Error del sistema'),
            'message': _('Ocurrió un error inesperado. Intente de nuevo más tarde; '
                         'si el problema continúa, escríbanos.')}


@exception_view_config(Busy, renderer='canonportal:templates/error.pt')
def busy(exc, request):
    """Too many sign-ins hashing at once: this one waits outside, not in a waitress thread."""
    request.response.status = 503
    request.response.headers['Retry-After'] = str(exc.retry_after)
    return {'page_title': _('Intente en unos segundos'),
            'message': _('Hay muchas personas iniciando sesión en este momento; '
                         'intente de nuevo en unos segundos.')}


@exception_view_config(BadCSRFToken, renderer='canonportal:templates/error.pt')
def bad_csrf(exc, request):
    log.info('refused: bad CSRF token on %s %s', request.method, loggable(request.path))
    request.response.status = 400
    return {'page_title': _('Solicitud no válida'),
            'message': _('El formulario expiró o no es válido. Vuelva a la página e intente de nuevo.')}


@exception_view_config(HTTPClientError, renderer='canonportal:templates/error.pt')
def client_error(exc, request):
    request.response.status = exc.status_int
    # A view that refuses a request says why with one of our messages; anything
    # else (WebOb's English defaults) gets the generic one.
    message = exc.detail if isinstance(exc.detail, TranslationString) else None
    return {'page_title': _('Solicitud no válida'),
            'message': message or _('No fue posible atender la solicitud.')}
