"""``/salud``: the load balancer's health check.

200 ``ok`` when the database answers, 503 ``unavailable`` otherwise; nothing
else in the body. It is a route of its own with a factory that does not touch
the database, so traversal cannot fail before the check runs, and it reads no
session and no identity, so it never sets a cookie.
"""
import logging

import transaction
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from ZODB.utils import z64

log = logging.getLogger(__name__)

ROUTE = 'health'
PATH = '/salud'


class HealthCheck:
    """The route's context: no database object, no ACL needed (the view is public)."""

    def __init__(self, request):
        self.request = request


def database_answers(db):
    """True when ``db`` can be read now: connected, the root object loads from storage.

    The root is read with ``storage.load`` rather than through a pooled connection,
    whose cache would answer from memory; the explicit transaction makes RelStorage
    poll the database. A disconnected ZEO client says so at once instead of waiting
    for its server.
    """
    if db is None:
        return False
    storage = db.storage
    is_connected = getattr(storage, 'is_connected', None)
    if is_connected is not None and not is_connected():
        return False
    manager = transaction.TransactionManager(explicit=True)
    try:
        connection = db.open(transaction_manager=manager)
    except Exception:  # noqa: BLE001 - any failure to open is "unavailable"
        log.warning('health check: the database cannot be opened', exc_info=True)
        return False
    try:
        manager.begin()
        try:
            connection.root()['app_root']
            storage.load(z64)
        finally:
            manager.abort()
        return True
    except Exception:  # noqa: BLE001 - any failure to read is "unavailable"
        log.warning('health check: the database cannot be read', exc_info=True)
        return False
    finally:
        connection.close()


@view_config(route_name=ROUTE, permission=NO_PERMISSION_REQUIRED)
def health(request):
    db = request.registry._zodb_databases.get('')  # noqa: SLF001 - pyramid_zodbconn's registry
    if database_answers(db):
        return Response('ok\n', content_type='text/plain')
    return Response('unavailable\n', status=503, content_type='text/plain')


def includeme(config):
    config.add_route(ROUTE, PATH, factory=HealthCheck)
