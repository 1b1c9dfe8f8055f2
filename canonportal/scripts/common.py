"""What the console scripts share: reading the ini file and opening the database."""
import logging.config

import transaction
from pyramid.paster import get_appsettings, setup_logging
from pyramid_zodbconn import db_from_uri

from ..bootstrap import ensure_root


#: Values the ini files may interpolate that pserve passes on its command line.
SCRIPT_DEFAULTS = {'http_port': '6543'}


def open_database(config_uri, name='main', options=None):
    """Return ``(db, settings)`` for the app section of ``config_uri``.

    ``options`` fill ``%(name)s`` values of the ini file, like pserve's
    ``http_port=…`` arguments (default port 6543).
    """
    setup_logging(config_uri)
    settings = get_appsettings(config_uri, name=name, options=dict(SCRIPT_DEFAULTS, **(options or {})))
    uri = settings.get('zodbconn.uri')
    if not uri:
        raise SystemExit(f'{config_uri} has no zodbconn.uri')
    return db_from_uri(uri, 'unnamed', {}), settings


def run_in_transaction(db, work):
    """Run ``work(portal_root)`` in a transaction, retrying on conflicts."""
    manager = transaction.TransactionManager(explicit=True)
    connection = db.open(transaction_manager=manager)
    try:
        for attempt in manager.attempts():
            with attempt:
                result = work(ensure_root(connection.root()))
        return result
    finally:
        connection.close()


__all__ = ['open_database', 'run_in_transaction', 'logging']
