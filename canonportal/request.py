"""The portal's request class: what libraries add to every request, defined once on the class.

Pyramid applies each ``add_request_method(..., reify=True)`` to every request by building a
new class for that one request (``InstancePropertyHelper.apply_properties``); the new class
also misses zope.interface's caches, so each adapter and security lookup after it is slower.
pyramid_tm adds ``request.tm`` that way, pyramid_mailer ``request.mailer``. Here ``tm`` is a
reified attribute of :class:`PortalRequest` itself and pyramid_tm's registration is
overridden (by :func:`canonportal.configure.includeme`, which includes pyramid_tm: a
statement of the including configuration wins over the included one's of the same name);
the mailer is registered as a utility without the request property (the portal reads it
from the registry: :mod:`canonportal.mail`). Every request is then a plain
:class:`PortalRequest`, and a test asserts that it stays so.
"""
from pyramid.decorator import reify
from pyramid.request import Request
from pyramid_tm import create_tm


class PortalRequest(Request):
    """A Pyramid request whose transaction manager (``tm``) is part of the class."""

    @reify
    def tm(self):
        """pyramid_tm's manager for this request (its ``tm.manager_hook``: the explicit one)."""
        return create_tm(self)

