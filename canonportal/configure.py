"""The portal's configuration, in include order (templates → tm → retry → zodbconn → security)."""
import logging

from pyramid.events import ApplicationCreated

from . import bankdays, dates, evolve, memory, passwords
from .complements import deadline_day
from .payments import approval_rule
from .resources import get_root_from_connection, root_factory
from .request import PortalRequest

log = logging.getLogger(__name__)


class DatabaseBehind(RuntimeError):
    """The database misses evolve steps the code relies on: the app does not start."""


def refuse_a_database_that_is_behind(event):
    """Refuse to start on a database that misses evolve steps (canonportal-evolve runs
    them): the code reads what the steps build (e.g. each customer's open-invoice
    index) and has no slower way around a missing one."""
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


def extra_bank_holidays(settings):
    """The days of ``canonportal.bank_holidays`` (ISO dates, space or comma separated)."""
    text = settings.get('canonportal.bank_holidays') or ''
    return [dates.parse(word, formats=('%Y-%m-%d',)) for word in text.replace(',', ' ').split()]


def apply_process_settings(settings):
    """Set what the settings decide for the whole process rather than for one app: the
    sign-ins hashed or waiting at once, argon2's cost, the extra bank holidays."""
    passwords.set_gate(passwords.gate_from_settings(settings))
    passwords.set_cost(*passwords.cost_from_settings(settings))
    bankdays.set_extra_holidays(extra_bank_holidays(settings))


def includeme(config):
    memory.return_large_blocks_to_the_system()
    settings = config.get_settings()
    apply_process_settings(settings)
    # A mistyped approval window stops the start, instead of every payment of a colleague.
    approval_rule.window_days(settings)
    deadline_day(settings)      # the same for the REP's deadline
    config.include('pyramid_chameleon')
    config.include('pyramid_tm')
    # request.tm as part of the request class (see canonportal.request); made here, this
    # statement overrides pyramid_tm's per-request property of the same name.
    config.set_request_factory(PortalRequest)
    config.add_request_method(None, name='tm')
    config.include('pyramid_retry')
    config.include('pyramid_zodbconn')
    config.include('.mail')
    config.include('.i18n')
    config.include('.security')
    config.include('.banking')
    config.include('.headers')
    config.include('.bodylimit')
    config.include('.paths')
    config.include('.localonly')
    config.include('.views')
    config.add_static_view('static', 'canonportal:static/', cache_max_age=3600)
    # The management views: /manage + the path of any object in the tree.
    config.add_route('manage', '/manage*traverse', factory=root_factory)
    config.include('.views.manage')
    config.scan('.views')
    config.add_subscriber(refuse_a_database_that_is_behind, ApplicationCreated)
