"""python -m benchmarks.ab: the reference customer's pages, uncrowded and crowded, side by side.

On a machine others share, two measurements minutes apart see different loads. This serves
the large database and its crowded copy (both made by ``benchmarks.run``, in ``--work``) at
the same time, each in its own process, and requests each page from one, then from the
other (each round the other one first), one request at a time: cold (``X-Bench-Cold``, the ZODB caches emptied
before each request) and warm, ``--rounds`` times. Whatever the machine does meanwhile falls
on both alike. Prints, and writes to ``--out``, the median time in the process and as the
client saw it, and the objects each request loaded (benchmarks/probe.py).
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

from . import loads
from .report import ab_table
from .served_pages import page_targets, portal_on, sessions
from .servers import INI, REPO, free_port

PAGES = (('saldos-20', 'SALDOS'), ('historial', 'HISTORIAL'))


def compare(args, work, manifest, rounds):
    """Serve both databases of ``work`` at once and alternate the probes; returns
    ``[{page, database, cold, requests, ms, server_ms, loads}]`` (medians)."""
    names = (f'large-{args.invoices}', f'crowded-{args.invoices}')
    with portal_on(args, 'ab-large', work / names[0], free_port()) as plain, \
            portal_on(args, 'ab-crowded', work / names[1], free_port()) as crowded:
        servers = dict(zip(names, (plain.wait_ready(), crowded.wait_ready())))
        targets = {name: {key: page_targets(key, manifest, sessions(server, [manifest['reference']],
                                                                      manifest['password']))[0]
                          for key, _label in PAGES}
                   for name, server in servers.items()}
        samples = {}
        for number in range(rounds):
            # Each round asks the other database first: neither always follows the other.
            order = list(servers.items())[::-1 if number % 2 else 1]
            for key, _label in PAGES:
                for cold in (True, False):
                    for name, server in order:
                        figures = loads.probe(server.base_url, targets[name][key], 1, cold)
                        samples.setdefault((key, name, cold), []).append(figures)
    results = []
    for (key, name, cold), figures in samples.items():
        prefix = 'cold' if cold else 'warm'
        results.append({'page': key, 'database': name, 'cold': cold, 'requests': len(figures),
                        **{measure: statistics.median(f[f'{prefix}_{measure}'] for f in figures)
                           for measure in ('ms', 'server_ms', 'loads')}})
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.ab', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work', default='var/bench')
    parser.add_argument('--invoices', type=int, default=1_000_000)
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    args.ini, args.env = str(INI), {}
    work = (REPO / args.work).resolve()
    manifest = json.loads((work / f'large-{args.invoices}' / 'manifest.json').read_text(encoding='utf-8'))
    results = compare(args, work, manifest, args.rounds)
    print('\n'.join(ab_table(results)))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1), encoding='utf-8')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
