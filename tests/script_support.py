"""The console scripts' tests: an ini file over a FileStorage in a temporary folder."""
from pathlib import Path

import pytest

import transaction
from pyramid_zodbconn import db_from_uri

from canonportal.resources import get_root_from_connection

INI = """\
[app:main]
use = egg:canonportal
pyramid.default_locale_name = es
zodbconn.uri = file://{folder}/Data.fs?blobstorage_dir={folder}/blobs
tm.manager_hook = pyramid_tm.explicit_manager
retry.attempts = 3
mail.default_sender = portal@example.mx
canonportal.testing_mailer = true
canonportal.company_name = Canon Mexicana
canonportal.issuer_rfc = CMX800101AB1
canonportal.support_email = itportalsupport@cusa.canon.com
canonportal.public_url = http://localhost:6543
canonportal.session_secret = scripts-test-secret-0123456789abcdefghijklmnop
canonportal.session_secure = false
canonportal.session_idle_minutes = 30
canonportal.session_absolute_hours = 12
canonportal.hsts = false
canonportal.rate_max_age_days = 30

[pshell]
setup = canonportal.pshell.setup
"""


def write_ini(folder, name='test.ini'):
    """Write the scripts' ini file into ``folder`` (its database goes there too); its path."""
    path = Path(folder) / name
    path.write_text(INI.format(folder=folder))
    return str(path)


def uri_of(ini_path):
    folder = Path(ini_path).parent
    return f'file://{folder}/Data.fs?blobstorage_dir={folder}/blobs'


def last_tid(ini_path):
    """The last transaction committed to the ini's database: a script that changed nothing
    (the audit log is in the database too) leaves it as it was."""
    db = db_from_uri(uri_of(ini_path), 'unnamed', {})
    try:
        return db.lastTransaction()
    finally:
        db.close()


def on_connection(uri, work, commit=False):
    """Run ``work(connection)`` on the database at ``uri``, commit if asked, close it again."""
    db = db_from_uri(uri, 'unnamed', {})
    manager = transaction.TransactionManager()
    conn = db.open(transaction_manager=manager)
    try:
        result = work(conn)
        if commit:
            manager.commit()
        return result
    finally:
        manager.abort()
        conn.close()
        db.close()


def read_root(ini_path, work):
    """Run ``work(portal_root)`` on the ini's database and close it again."""
    return on_connection(uri_of(ini_path), lambda conn: work(get_root_from_connection(conn)))


def change_root(ini_path, work):
    """Run ``work(portal_root)`` on the ini's database, commit and close it again."""
    return on_connection(uri_of(ini_path), lambda conn: work(get_root_from_connection(conn)),
                         commit=True)


# -- fixtures (registered by conftest) -----------------------------------------------------------

@pytest.fixture
def ini(tmp_path):
    """The scripts' ini file in the test's folder, its database not created yet."""
    return write_ini(tmp_path)


@pytest.fixture
def demo_ini(tmp_path):
    """The scripts' ini file with the demo data loaded by ``canonportal-init --demo``."""
    from canonportal.scripts import init
    path = write_ini(tmp_path)
    assert init.main([path, '--demo']) == 0
    return path
