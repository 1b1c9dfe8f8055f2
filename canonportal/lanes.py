"""pserve's server for the portal (``use = egg:canonportal#lanes``): waitress, and a lane of
threads of its own for sign-ins.

A sign-in costs argon2id, tens of milliseconds of a core; in waitress's one queue a burst
of them makes every page wait behind it. With ``signin_listen`` in ``[server:main]`` a
second waitress listens there with ``signin_threads`` threads (default 4) and a queue of
its own; deploy/'s nginx sends /login to it. Sign-ins and pages then wait apart, in one
process (the embedded FileStorage allows only one) on one database. Every other setting
of ``[server:main]`` applies to both; without ``signin_listen`` this is plain waitress.
"""
import threading

from waitress.server import create_server

#: Where a lane's listen address or threads would not work.
MAX_SIGNIN_THREADS = 64


def servers(app, signin_listen=None, signin_threads='4', **settings):
    """``(pages, sign-in lane or None)``: waitress servers of ``app``, bound, not yet running."""
    lane = None
    if signin_listen:
        threads = int(signin_threads)
        if not 1 <= threads <= MAX_SIGNIN_THREADS:
            raise ValueError(f'signin_threads must be between 1 and {MAX_SIGNIN_THREADS}')
        shared = {k: v for k, v in settings.items()
                  if k not in ('listen', 'host', 'port', 'threads', 'sockets', 'unix_socket')}
        lane = create_server(app, listen=signin_listen, threads=threads, **shared)
    return create_server(app, **settings), lane


def serve(app, global_conf=None, **settings):
    """paste.server_runner: serve until the process is stopped."""
    pages, lane = servers(app, **settings)
    if lane is not None:
        lane.print_listen('Sign-ins (their own threads) on http://{}:{}')
        threading.Thread(target=lane.run, name='signin-lane', daemon=True).start()
    pages.print_listen('Serving on http://{}:{}')
    pages.run()
    return 0
