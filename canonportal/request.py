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

Its ``cookies`` are WebOb's parse of the ``Cookie:`` header, remembered per process for
headers seen before (a browser sends the same header until a cookie changes) and read-only:
the session and the language are read from them on every page.
"""
from functools import lru_cache
from types import MappingProxyType

from pyramid.decorator import reify
from pyramid.request import Request
from pyramid_tm import create_tm
from webob.cookies import RequestCookies

#: ``Cookie:`` headers whose parse is remembered, per process.
REMEMBERED_HEADERS = 1024
#: A longer header, or one with more cookies, is parsed each time and not remembered: what
#: is remembered stays a few MB whatever headers anyone sends (the portal sets two cookies).
MAX_REMEMBERED_HEADER = 2048
MAX_REMEMBERED_COOKIES = 8


def _parse(header):
    """WebOb's parse of a ``Cookie:`` header, read-only."""
    return MappingProxyType(dict(RequestCookies({'HTTP_COOKIE': header})))


_parsed = lru_cache(maxsize=REMEMBERED_HEADERS)(_parse)


class PortalRequest(Request):
    """A Pyramid request whose transaction manager (``tm``) is part of the class."""

    @reify
    def tm(self):
        """pyramid_tm's manager for this request (its ``tm.manager_hook``: the explicit one)."""
        return create_tm(self)

    @property
    def cookies(self):
        """The request's cookies, by name (read-only: answers set cookies on the response)."""
        header = self.environ.get('HTTP_COOKIE', '')
        if len(header) > MAX_REMEMBERED_HEADER or header.count(';') >= MAX_REMEMBERED_COOKIES:
            return _parse(header)
        return _parsed(header)

