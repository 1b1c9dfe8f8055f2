"""The portal's configuration, in include order (templates → tm → retry → zodbconn → security)."""
import logging

from pyramid.events import ApplicationCreated

from . import memory, passwords

log = logging.getLogger(__name__)


def warn_if_database_is_behind(event):
    """Say at start-up when the database misses evolve steps (canonportal-evolve runs them)."""
    from . import evolve
    from .resources import get_root_from_connection
    db = event.app.registry._zodb_databases.get('')
    if db is None:
        return
    connection = db.open()
    try:
        root = get_root_from_connection(connection)
        missing = [name for name, _ in evolve.pending_steps(root)] if root is not None else []
    finally:
        connection.transaction_manager.abort()
        connection.close()
    if missing:
        log.warning('the database misses evolve steps %s: run canonportal-evolve', ', '.join(missing))


def includeme(config):
    memory.return_large_blocks_to_the_system()
    passwords.set_in_flight_limit(config.get_settings().get(
        'canonportal.signin_concurrency', passwords.DEFAULT_IN_FLIGHT))
    config.include('pyramid_chameleon')
    config.include('pyramid_tm')
    config.include('pyramid_retry')
    config.include('pyramid_zodbconn')
    config.include('.mail')
    config.include('.i18n')
    config.include('.security')
    config.include('.banking')
    config.include('.headers')
    config.include('.bodylimit')
    config.include('.paths')
    config.include('.views')
    config.add_static_view('static', 'canonportal:static/', cache_max_age=3600)
    # The management views: /manage + the path of any object in the tree.
    from .resources import root_factory
    config.add_route('manage', '/manage*traverse', factory=root_factory)
    config.scan('.views')
    config.add_subscriber(warn_if_database_is_behind, ApplicationCreated)
