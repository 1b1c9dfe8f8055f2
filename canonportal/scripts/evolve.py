"""canonportal-evolve INI [name=value ...] [--dry-run]: run the evolve steps this database has
not had yet (``name=value``: the ini file's ``%(name)s`` values, as pserve takes them).

Each step runs and is recorded in its own transaction, so an interrupted run
resumes where it stopped. ``--dry-run`` lists the pending steps and changes
nothing.
"""
import argparse
import sys

import transaction

from .. import audit, evolve
from ..bootstrap import ensure_root
from .common import add_ini_variables, open_database, parse_command_line


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog='canonportal-evolve', description=__doc__)
    parser.add_argument('config_uri')
    add_ini_variables(parser)
    parser.add_argument('--dry-run', action='store_true', help='list the pending steps only')
    args, options = parse_command_line(parser, argv)
    db, _ = open_database(args.config_uri, options=options)
    manager = transaction.TransactionManager(explicit=True)
    connection = db.open(transaction_manager=manager)
    try:
        with manager:
            root = connection.root().get('app_root')
            if root is None:
                print('the database is empty: canonportal-init creates it up to date', file=out)
                return 0
            pending = [name for name, _ in evolve.pending_steps(root)]
        if not pending:
            print('nothing to do: every evolve step is done', file=out)
            return 0
        for name in pending:
            if args.dry_run:
                print(f'would run {name}', file=out)
                continue
            with manager:
                root = ensure_root(connection.root())
                function = dict(evolve.STEPS)[name]
                function(root)
                evolve.mark_done(root, name)
                audit.record(root, 'console:canonportal-evolve', 'evolve.step', '/', '', name)
            print(f'ran {name}', file=out)
    finally:
        connection.close()
        db.close()
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
