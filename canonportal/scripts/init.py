"""canonportal-init INI [--demo]: create the database, optionally with the demo data."""
import argparse
import sys

from ..bootstrap import add_demo_data
from .common import open_database, run_in_transaction


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-init', description=__doc__)
    parser.add_argument('config_uri', help='the ini file, e.g. development.ini')
    parser.add_argument('--demo', action='store_true', help='add the demo customers of the manual')
    args = parser.parse_args(argv)
    db, _ = open_database(args.config_uri)

    def work(root):
        if args.demo and len(root.customers) == 0:
            add_demo_data(root)
            return 'created the portal root with the demo data'
        if args.demo:
            return 'the database already has customers; demo data not added'
        return 'the portal root is ready'

    try:
        print(run_in_transaction(db, work))
    finally:
        db.close()
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
