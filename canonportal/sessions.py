"""The session cookie: signed with HMAC-SHA512 (Pyramid's signed cookie sessions, JSON), with
the cookies this process has already verified remembered.

A signed-in person's browser sends the same session cookie with every request until the
session changes or is reissued (once a minute): checking its signature (base64, HMAC) and
parsing the ``Cookie:`` header each time cost about a tenth of a kept SALDOS page. Here a
cookie whose signature was checked once is remembered by its exact bytes, and only its
JSON is read again; a cookie that fails the check is never remembered, so a forged one is
checked (and refused) every time. The cookies' format is Pyramid's own
(``SignedCookieSessionFactory`` with its ``JSONSerializer``): sessions issued before stay
valid.
"""
import json
from functools import lru_cache

from pyramid.session import BaseCookieSessionFactory
from webob.cookies import SignedSerializer

#: Pyramid's SignedCookieSessionFactory's defaults, kept so that existing cookies stay valid.
SALT = 'pyramid.session.'
HASHALG = 'sha512'
#: Verified cookies remembered per process (a session cookie is about 350 bytes).
REMEMBERED = 4096
#: A longer cookie value is checked each time and not remembered (a signed-in session's is
#: about 350 bytes; what is remembered stays under about 8 MB).
MAX_REMEMBERED_BYTES = 1024


class _Bytes:
    """The signed payload as it is: the JSON bytes, decoded by :class:`VerifiedCookies`."""

    @staticmethod
    def loads(bstruct):
        return bstruct

    @staticmethod
    def dumps(appstruct):
        return appstruct


class VerifiedCookies:
    """The session serializer: JSON inside Pyramid's signed cookie, signatures checked once."""

    def __init__(self, secret):
        self.signed = SignedSerializer(secret, SALT, HASHALG, serializer=_Bytes())
        self._verified = lru_cache(maxsize=REMEMBERED)(self.signed.loads)

    def dumps(self, appstruct):
        return self.signed.dumps(json.dumps(appstruct).encode('utf-8'))

    def loads(self, bstruct):
        """The session's value, or ValueError for a cookie that is not ours (a wrong
        signature, bad base64 or bad JSON)."""
        payload = (self._verified(bstruct) if len(bstruct) <= MAX_REMEMBERED_BYTES
                   else self.signed.loads(bstruct))
        return json.loads(payload.decode('utf-8'))


def session_factory(secret, **options):
    """Pyramid's cookie session factory over :class:`VerifiedCookies` (``options``: those of
    ``BaseCookieSessionFactory``: cookie name, flags, timeouts)."""
    return BaseCookieSessionFactory(VerifiedCookies(secret), **options)
