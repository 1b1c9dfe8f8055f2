"""The portal's configuration, in include order (templates → tm → retry → zodbconn → security)."""
import logging

from pyramid.events import ApplicationCreated

from . import memory, passwords

log = logging.getLogger(__name__)


class DatabaseBehind(RuntimeError):
    """The database misses evolve steps the code relies on: the app does not start."""


def refuse_a_database_that_is_behind(event):
    """Refuse to start on a database that misses evolve steps (canonportal-evolve runs
    them): the code reads what the steps build (e.g. each customer's open-invoice
    index) and has no slower way around a missing one."""
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
        message = (f'the database misses the evolve steps {", ".join(missing)}: '
                   'run canonportal-evolve with this ini file, then start again')
        log.error(message)
        db.close()      # let canonportal-evolve open it
        raise DatabaseBehind(message)


def includeme(config):
    memory.return_large_blocks_to_the_system()
    settings = config.get_settings()
    passwords.set_gate(passwords.gate_from_settings(settings))
    passwords.set_cost(*passwords.cost_from_settings(settings))
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
    config.add_subscriber(refuse_a_database_that_is_behind, ApplicationCreated)
