"""Views, one module per resource type or concern. They stay thin over the resources.

Every view needs the ``view`` permission unless it says otherwise; the views
anyone may reach are listed in :data:`PUBLIC_VIEWS` and tested against the
registry.
"""
import datetime
import logging
import random
import time

from pyramid.events import BeforeRender
from pyramid.renderers import get_renderer
from transaction.interfaces import NoTransaction, TransientError

from ..formatting import Formatter
from ..security import Identity

log = logging.getLogger(__name__)

#: Seconds: the random pause before retry n is at most BACKOFF_BASE * 2**n, and BACKOFF_CAP.
BACKOFF_BASE = 0.005
BACKOFF_CAP = 0.25

#: (context type name, view name) of the views open to anonymous users.
PUBLIC_VIEWS = {
    ('PortalRoot', ''), ('PortalRoot', 'login'), ('PortalRoot', 'recuperar-contrasena'),
    ('PortalRoot', 'restablecer'), ('PortalRoot', 'activar'), ('PortalRoot', 'confirmar-correo'), ('PortalRoot', 'idioma'),
    ('PortalRoot', 'logout'), ('PortalRoot', 'banco'), ('PortalRoot', 'reconciliar'),
    # The load balancer's health check and canonportal-pack asking the server.
    ('health', ''), ('PortalRoot', 'empaquetar'),
}


def settings_of(request):
    settings = request.registry.settings
    return {
        'company_name': settings.get('canonportal.company_name', 'Canon Mexicana'),
        'support_email': settings.get('canonportal.support_email', 'itportalsupport@cusa.canon.com'),
        'public_url': settings.get('canonportal.public_url', request.application_url).rstrip('/'),
    }


def home_url(request, user):
    """Where a signed-in user lands."""
    from ..resources import Customer
    if isinstance(user, Customer):
        if not user.activated:
            return request.resource_url(request.root, 'activar')
        return request.resource_url(user, 'estados-de-cuenta')
    return request.resource_url(request.root, 'manage')


def in_own_transaction(request, work, attempts=5):
    """Commit ``work()`` on its own and return its result, retrying conflicts here,
    so the request that already talked to the bank is never re-run by pyramid_retry.

    Between attempts the thread waits a random, growing pause: a burst of payers
    retrying in lockstep would otherwise collide again on the shared indexes.
    Any other exception aborts and propagates; the request then goes on in a
    new transaction.
    """
    tm = request.tm
    try:
        tm.abort()
    except NoTransaction:
        pass  # the caller closed it already, e.g. before asking the bank
    try:
        for number in range(1, attempts + 1):
            tm.begin()
            try:
                result = work()
                tm.commit()
                return result
            except TransientError:
                tm.abort()
                if number == attempts:
                    raise
                log.info('conflict, attempt %d of %d', number, attempts)
                time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** number)))
            except BaseException:
                tm.abort()
                raise
    finally:
        tm.begin()


def add_renderer_globals(event):
    request = event.get('request')
    if request is None:
        return
    identity = request.identity if hasattr(request, 'identity') else None
    event['layout'] = get_renderer('canonportal:templates/layout.pt').implementation()
    event['header'] = get_renderer('canonportal:templates/customer_header.pt').implementation()
    event['portal'] = settings_of(request)
    event['fmt'] = Formatter(request.locale_name)
    event['identity'] = identity if isinstance(identity, Identity) else None
    event['year'] = datetime.date.today().year
    event.setdefault('menu', None)
    event.setdefault('customer', None)
    event.setdefault('page_title', None)


def includeme(config):
    config.set_default_permission('view')
    config.add_subscriber(add_renderer_globals, BeforeRender)
    config.include('.health')
