"""canonportal-adduser INI USERNAME --role ROLE: create a staff account or set its password.

The password is asked for on the terminal (or read from stdin with
--password-stdin); there is no default password.
"""
import argparse
import getpass
import sys

from .. import audit, passwords, signin
from ..resources import ROLES, StaffUser
from .common import open_database, run_in_transaction


def main(argv=None, stdin=None):
    parser = argparse.ArgumentParser(prog='canonportal-adduser', description=__doc__)
    parser.add_argument('config_uri')
    parser.add_argument('username')
    parser.add_argument('--role', choices=ROLES, default='operator')
    parser.add_argument('--email')
    parser.add_argument('--password-stdin', action='store_true',
                        help='read the password from standard input')
    args = parser.parse_args(argv)
    username = args.username.strip().lower()
    if not username or len(username) < 3 or not username.replace('.', '').replace('-', '').replace('_', '').isalnum():
        parser.error('the username must have 3 or more letters, digits, dots, dashes or underscores')
    if args.password_stdin:
        password = (stdin or sys.stdin).readline().rstrip('\n')
    else:
        password = getpass.getpass('Password: ')
        if password != getpass.getpass('Again: '):
            parser.error('the passwords differ')
    problem = passwords.password_problem(password, forbidden=(username,))
    if problem:
        parser.error(problem)
    db, _ = open_database(args.config_uri)

    def work(root):
        if root.customers.find_by_rfc(username) is not None:
            raise SystemExit('that username is a customer RFC')
        user = root.staff.find(username)
        if user is None:
            user = root.staff.add(username, StaffUser(username, args.role, args.email))
            action, before = 'created', ''
        else:
            action, before = 'updated', f'role={user.role}'
            user.role = args.role
        signin.set_password(user, password)
        audit.record(root, 'console:canonportal-adduser', f'staff.{action}', user,
                     before, f'role={args.role}', 'password set')
        return f'{action} staff user {username} ({args.role})'

    try:
        print(run_in_transaction(db, work))
    finally:
        db.close()
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
