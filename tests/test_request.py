"""Every request is a plain PortalRequest: no per-request class built for library properties."""
from pyramid.interfaces import INewRequest, IRequestExtensions, IRequestFactory
from pyramid.request import apply_request_extensions
from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer

from canonportal.request import PortalRequest


def test_a_request_of_the_portal_is_its_own_class_with_the_transaction_manager(app):
    registry = app.registry
    extensions = registry.queryUtility(IRequestExtensions)
    # A reified request property would make Pyramid build a class for every request.
    assert extensions is None or not extensions.descriptors
    request = registry.queryUtility(IRequestFactory).blank('/')
    request.registry = registry
    apply_request_extensions(request)
    assert type(request) is PortalRequest
    manager = request.tm
    assert manager is request.tm                     # one manager for the whole request
    assert manager.explicit                          # tm.manager_hook: the explicit manager
    assert get_mailer(registry) is registry.getUtility(IMailer)   # what canonportal.mail reads


def test_the_requests_of_a_served_page_are_portal_requests(app, client):
    seen = []

    def record(event):
        seen.append(type(event.request))

    app.registry.registerHandler(record, (INewRequest,))
    try:
        assert client.get('/').status_int == 200
    finally:
        app.registry.unregisterHandler(record, (INewRequest,))
    assert seen == [PortalRequest]
