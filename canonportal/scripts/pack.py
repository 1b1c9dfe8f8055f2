"""canonportal-pack INI --days N: pack the database, keeping N days of history.

With ZEO or RelStorage, or with the portal stopped, the script packs itself.
While the running portal holds the embedded FileStorage (ZODB's lock), only
that process can pack it: the script asks it (``POST /empaquetar`` on the
waitress address of the ini's ``[server:main]``, or ``--url``, with a token
derived from the session secret) and waits for the answer. On a FileStorage
it holds the same lock as canonportal-backup, so a pack never deletes blob
files a running backup still has to copy.
"""
import argparse
import contextlib
import sys

from zc.lockfile import LockError

from .. import packing
from ..localonly import PACK
from .backup import BUSY, NotAFileStorage, file_storage_paths, maintenance_lock
from .common import (
    add_ini_variables, ask_the_portal, ini_settings, open_database, parse_command_line,
    waitress_url,
)

#: Seconds to wait for the server's answer: packing a large FileStorage takes minutes.
SERVER_TIMEOUT = 6 * 3600


def ask_the_server(url, settings, days):
    """Let the server holding the FileStorage pack it; returns the exit status."""
    return ask_the_portal(url, settings, 'empaquetar', PACK, data={'days': str(days)},
                          timeout=SERVER_TIMEOUT)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-pack', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', help='the ini file, e.g. production.ini')
    parser.add_argument('--days', required=True, type=packing.read_days,
                        help=f'days of history to keep (0 to {packing.MAX_DAYS})')
    parser.add_argument('--url', help='the waitress server to ask when it holds the database '
                                      '(default: the ini\'s [server:main] listen address)')
    add_ini_variables(parser)
    args, options = parse_command_line(parser, argv)
    settings = ini_settings(args.config_uri, options)
    try:
        data_fs, _blobs = file_storage_paths(settings)
        lock = maintenance_lock(data_fs)
    except NotAFileStorage:
        lock = contextlib.nullcontext()
    try:
        with lock:
            try:
                db, settings = open_database(args.config_uri, options=options)
            except LockError:
                url = (args.url or waitress_url(args.config_uri, options)).rstrip('/')
                return ask_the_server(url, settings, args.days)
            try:
                print(packing.pack(db, args.days))
            finally:
                db.close()
    except SystemExit as exit:
        if exit.code == BUSY:
            print('a backup or another pack is running; try again later', file=sys.stderr)
        raise
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
