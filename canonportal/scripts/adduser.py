"""canonportal-adduser INI USERNAME --role ROLE: create a staff account or set its password.

The password is asked for on the terminal (or read from stdin with
--password-stdin); there is no default password.

While the serving portal holds the embedded FileStorage (``make run``, or the
single-process service), the script asks that portal to do it: ``POST /alta-personal``
straight to the waitress address of the ini's ``[server:main]``, with a token derived
from the session secret, the password in the body of the request (never in a URL, never
in a log). Add ``http_port=PORT`` anywhere on the command line when it serves on another
port, as for pserve.
"""
import argparse
import configparser
import getpass
import sys

from plaster.exceptions import PlasterError
from zc.lockfile import LockError

from .. import staff_accounts
from ..localonly import ADDUSER
from ..resources import ROLES
from .common import (
    add_ini_variables, ask_the_portal, ini_settings, open_database, parse_command_line,
    run_in_transaction, waitress_url,
)

#: Exit status when the account was not made (argparse uses 2 for a bad command line).
FAILED = 1


def read_password(args, stdin):
    """The password, from stdin or asked twice on the terminal; None when the two differ."""
    if args.password_stdin:
        return (stdin or sys.stdin).readline().rstrip('\n')
    password = getpass.getpass('Password: ')
    return password if password == getpass.getpass('Again: ') else None


def _fail(message):
    print(f'canonportal-adduser: {message}', file=sys.stderr)
    return FAILED


def main(argv=None, stdin=None):
    parser = argparse.ArgumentParser(prog='canonportal-adduser', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', help='the ini file, e.g. development.ini')
    parser.add_argument('username')
    parser.add_argument('--role', choices=ROLES, default='operator')
    parser.add_argument('--email')
    parser.add_argument('--password-stdin', action='store_true',
                        help='read the password from standard input')
    add_ini_variables(parser)
    args, options = parse_command_line(parser, argv)
    username = staff_accounts.normal_username(args.username)
    email = (args.email or '').strip().lower()
    problem = staff_accounts.username_problem(username) or staff_accounts.email_problem(email)
    if problem:
        parser.error(staff_accounts.plain(problem))
    try:
        settings = ini_settings(args.config_uri, options)   # before asking for the password
    except (OSError, LookupError, ValueError, configparser.Error, PlasterError) as error:
        return _fail(f'cannot read {args.config_uri}: {error}. Give the path of the ini '
                     'file the portal runs with (e.g. development.ini in the checkout).')
    try:
        password = read_password(args, stdin)
    except (EOFError, KeyboardInterrupt):
        return _fail('no password given; nothing changed.')
    if password is None:
        parser.error('the passwords differ')
    problem = staff_accounts.request_problem(username, args.role, email, password)
    if problem:
        parser.error(staff_accounts.plain(problem))

    try:
        db, settings = open_database(args.config_uri, options=options)
    except LockError:
        return ask_the_portal(waitress_url(args.config_uri, options), settings, 'alta-personal',
                              ADDUSER, data={'username': username, 'role': args.role,
                                             'email': email, 'password': password})
    except OSError as error:
        return _fail(f'cannot open the database: {error}. Create it first: make run (or '
                     f'canonportal-init {args.config_uri}).')
    try:
        print(run_in_transaction(db, lambda root: staff_accounts.add_or_update(
            root, username, args.role, email, password)))
    except staff_accounts.Refused as refused:
        return _fail(f'{refused}; nothing changed.')
    finally:
        db.close()
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
