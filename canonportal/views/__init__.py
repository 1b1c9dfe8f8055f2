"""Views, one module per resource type or concern. They stay thin over the resources.

Every view needs the ``view`` permission unless it says otherwise; the views
anyone may reach are listed in :data:`PUBLIC_VIEWS` and tested against the
registry.
"""
from functools import partial

from pyramid.events import BeforeRender
from pyramid.renderers import get_renderer

from .. import mail
from ..formatting import Formatter
from ..payments import receipts, request_notices
from ..resources import Customer
from ..resources.company_user import CompanyUser
from ..security import Identity
from .kept import copyright_year, live_part


#: (context type name, view name) of the views open to anonymous users.
PUBLIC_VIEWS = {
    ('PortalRoot', ''), ('PortalRoot', 'login'), ('PortalRoot', 'recuperar-contrasena'),
    ('PortalRoot', 'restablecer'), ('PortalRoot', 'bienvenida'), ('PortalRoot', 'activar'), ('PortalRoot', 'confirmar-correo'), ('PortalRoot', 'idioma'),
    ('PortalRoot', 'logout'), ('PortalRoot', 'banco'), ('PortalRoot', 'reconciliar'),
    ('PortalRoot', 'spei'),   # the receiving bank's deposit notifications (signed)
    # The load balancer's health check; canonportal-pack and canonportal-adduser asking the
    # server (loopback only, with their tokens: views/maintenance.py).
    ('health', ''), ('PortalRoot', 'empaquetar'), ('PortalRoot', 'alta-personal'),
    ('PortalRoot', 'notificar'),
    # The one-click unsubscribe link of the portal's mails (a stored token: views/unsubscribe.py).
    ('PortalRoot', 'baja'),
}


def settings_of(request):
    settings = request.registry.settings
    return {
        'company_name': settings.get('canonportal.company_name', 'Canon Mexicana'),
        'support_email': settings.get('canonportal.support_email', 'itportalsupport@cusa.canon.com'),
        'public_url': settings.get('canonportal.public_url', request.application_url).rstrip('/'),
    }


def receipt_sender(request):
    """``send(payment)``: mail a payment's receipt in the request's language, once the
    transaction that approved it commits."""
    settings = settings_of(request)

    def send(payment):
        receipts.send_receipt(payment, lambda *parts: mail.send(request, *parts),
                              settings['company_name'], settings['public_url'],
                              request.localizer.translate, request.locale_name)
    return send


def preparer_sender(request):
    """``tell(payment)``: mail who prepared a request what was just decided about it, in the
    request's language, once the transaction that decided commits."""
    public_url = settings_of(request)['public_url']

    def tell(payment):
        request_notices.tell_preparer(payment, lambda *parts: mail.send(request, *parts),
                                      public_url, request.localizer.translate,
                                      request.locale_name)
    return tell


def home_url(request, user):
    """Where a signed-in user lands."""
    if isinstance(user, Customer):
        if not user.activated:
            return request.resource_url(request.root, 'activar')
        return request.resource_url(user, 'estados-de-cuenta')
    if isinstance(user, CompanyUser):
        return request.resource_url(user.customer, 'estados-de-cuenta')
    return request.resource_url(request.root, 'manage')


def add_renderer_globals(event):
    request = event.get('request')
    if request is None:
        return
    identity = request.identity if hasattr(request, 'identity') else None
    event['layout'] = get_renderer('canonportal:templates/layout.pt').implementation()
    event['header'] = get_renderer('canonportal:templates/customer_header.pt').implementation()
    event['rep'] = get_renderer('canonportal:templates/complements.pt').implementation()
    event['portal'] = settings_of(request)
    event['fmt'] = Formatter(request.locale_name)
    event['identity'] = identity if isinstance(identity, Identity) else None
    event['year'] = copyright_year()
    event['came_from'] = request.path_qs
    event['live'] = partial(live_part, request, event.rendering_val)
    event.setdefault('menu', None)
    event.setdefault('customer', None)
    event.setdefault('page_title', None)


def includeme(config):
    config.set_default_permission('view')
    config.add_subscriber(add_renderer_globals, BeforeRender)
    config.include('.health')
