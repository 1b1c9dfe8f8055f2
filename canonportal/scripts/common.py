"""What the console scripts share: their command line, reading the ini file, opening the
database, and asking the waitress server that holds it (:func:`ask_the_portal`)."""
import logging.config
import re
import sys
from urllib.parse import urlsplit

import httpx
import transaction
from pyramid.paster import get_appsettings, setup_logging
from pyramid_zodbconn import db_from_uri

from ..bootstrap import ensure_root
from ..localonly import TOKEN_HEADER, script_token


#: Values the ini files may interpolate that pserve passes on its command line.
SCRIPT_DEFAULTS = {'http_port': '6543'}
#: ``NAME=VALUE`` on a command line: a value for ``%(NAME)s`` in the ini file, as for pserve.
INI_VARIABLE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*=')


def add_ini_variables(parser):
    """Let ``parser`` take ``NAME=VALUE`` arguments (e.g. ``http_port=6544``); parse with
    :func:`parse_command_line`."""
    parser.add_argument('ini_variables', nargs='*', metavar='NAME=VALUE',
                        help='values for %%(NAME)s in the ini file, as pserve takes them '
                             '(e.g. http_port=6544), anywhere on the command line')


def parse_command_line(parser, argv=None):
    """``(args, options)``: ``argv`` parsed by ``parser`` (made with :func:`add_ini_variables`),
    with the ``NAME=VALUE`` arguments taken out first wherever they stand (before the ini
    file, between or after the options); ``options`` is them as a dict, the last one of a
    name winning, as in pserve."""
    argv = sys.argv[1:] if argv is None else list(argv)
    variables = [item for item in argv if INI_VARIABLE.match(item)]
    args = parser.parse_intermixed_args([item for item in argv if not INI_VARIABLE.match(item)])
    if args.ini_variables:
        parser.error(f'expected NAME=VALUE, got {args.ini_variables[0]!r}')
    return args, dict(item.split('=', 1) for item in variables)


def ini_settings(config_uri, options=None, name='main'):
    """The settings of the ini's app section, ``options`` filling its ``%(name)s`` values."""
    return get_appsettings(config_uri, name=name, options=dict(SCRIPT_DEFAULTS, **(options or {})))


def open_database(config_uri, name='main', options=None):
    """Return ``(db, settings)`` for the app section of ``config_uri``.

    ``options`` fill ``%(name)s`` values of the ini file, like pserve's
    ``http_port=…`` arguments (default port 6543).
    """
    setup_logging(config_uri)
    settings = ini_settings(config_uri, options, name)
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


__all__ = ['open_database', 'run_in_transaction', 'ask_the_portal', 'logging']


def waitress_url(config_uri, options=None):
    """``http://host:port`` of the ini's ``[server:main]`` (its first ``listen`` address)."""
    import plaster
    loader = plaster.get_loader(config_uri, protocols=['wsgi'])
    server = loader.get_settings('server:main', defaults=dict(SCRIPT_DEFAULTS, **(options or {})))
    listen = (server.get('listen') or '').split()
    if listen:
        address = listen[0]
        host, _, port = address.rpartition(':')
    else:
        host, port = server.get('host', '127.0.0.1'), server.get('port', '8080')
    if host in ('', '*', '0.0.0.0'):  # noqa: S104 - a wildcard address: reach it on loopback
        host = '127.0.0.1'
    elif host in ('[::]', '::'):
        host = '[::1]'
    return f'http://{host}:{port}'


def public_host_headers(settings):
    """Headers that make a request to waitress on 127.0.0.1 look like one for the public
    host: the portal answers only for its own host names."""
    public = urlsplit(settings.get('canonportal.public_url', ''))
    if not public.netloc:
        return {}
    return {'Host': public.netloc, 'X-Forwarded-Proto': public.scheme}


#: What to do when the portal does not do what the script asked, by its answer's status.
_WHAT_TO_DO = {
    403: 'the portal refused the token: it runs with another canonportal.session_secret '
         'than this ini file gives (another ini file, or another environment). Run this '
         'with the ini file and environment the portal was started with.',
    404: 'the server at {url} does not offer /{endpoint} to this machine: give the address '
         'of the portal\'s own waitress (not a proxy), e.g. http_port=PORT, or stop the '
         'portal and run this again.',
}
#: When nobody answers at the waitress address.
_UNREACHABLE = ('could not reach the portal: {error}\n'
                'Another process holds the database. If it is the portal serving on another '
                'port, add http_port=PORT to this command (as pserve and make run PORT=... '
                'were given it); otherwise wait until that process ends, or stop it, and '
                'run this again.')


def ask_the_portal(url, settings, endpoint, script, data=None, timeout=120, out=None, err=None):
    """The embedded FileStorage is held by the portal serving at ``url`` (its waitress
    address, :func:`waitress_url`): ask it to do ``script``'s work, ``POST url/endpoint``
    straight to waitress with the script's token (:mod:`canonportal.localonly`) and ``data``
    in the body, never in the URL. Prints the answer, or what to do; returns the exit
    status (0: done)."""
    out, err = out or sys.stdout, err or sys.stderr
    target = f'{url.rstrip("/")}/{endpoint}'
    print(f'the database is in use by the running portal; asking it: {target}', file=out)
    headers = {TOKEN_HEADER: script_token(settings, script), **public_host_headers(settings)}
    try:
        response = httpx.post(target, data=data or {}, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        print(_UNREACHABLE.format(error=error), file=err)
        return 1
    answer = response.text.strip()
    if response.status_code == 200:
        print(answer, file=out)
        return 0
    if response.status_code in _WHAT_TO_DO:
        print(_WHAT_TO_DO[response.status_code].format(url=url, endpoint=endpoint), file=err)
    elif response.status_code == 400 and response.headers.get('content-type', '').startswith(
            'text/plain'):
        print(answer, file=err)
    else:
        print(f'the portal answered {response.status_code}; its log says why.', file=err)
    return 1
