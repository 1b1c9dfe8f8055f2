"""Other customers' SALDOS during a storm of sign-ins (issue 11).

600 sign-ins of unknown names, 100 at a time, against the production settings
(benchmarks/bench.ini); meanwhile one already signed-in customer loads SALDOS again and
again. Reported: that customer's SALDOS p50/p95/max during the storm (target: p95 under
200 ms), and how the sign-ins were answered (400 wrong password, 403 locked, 503 "try
again in a few seconds", anything else).

    python -m benchmarks.signin_storm [--runs 3] [--sign-ins 600] [--parallel 100]
"""
import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from . import loads, run
from .servers import free_port


def storm(base_url, sign_ins, parallel):
    # Names nobody has: each costs a full argon2 verification (a locked account would not).
    def attempt(n):
        with httpx.Client(base_url=base_url, timeout=60) as client:
            try:
                page = client.get('/')
                token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                return client.post('/login', data={'login': f'XAXX{n:09d}', 'password': f'wrong {n}',
                                                   'csrf_token': token}).status_code
            except httpx.HTTPError as error:
                return type(error).__name__
    with ThreadPoolExecutor(parallel) as pool:
        return Counter(pool.map(attempt, range(sign_ins)))


def one_run(server, manifest, args):
    reference = manifest['reference']
    cookie = loads.sign_in(server.base_url, reference, manifest['password'])
    timings, stop = [], threading.Event()

    def watch():
        with httpx.Client(base_url=server.base_url, timeout=60, headers={'Cookie': cookie}) as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get(f'/customers/{reference}/saldos').status_code == 200
                timings.append((time.perf_counter() - started) * 1000)
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    answers = storm(server.base_url, args.sign_ins, args.parallel)
    stop.set()
    watcher.join()
    timings.sort()
    return {'saldos_p50_ms': round(statistics.median(timings), 1),
            'saldos_p95_ms': round(timings[int(len(timings) * 0.95) - 1], 1),
            'saldos_max_ms': round(timings[-1], 1), 'saldos_requests': len(timings),
            'sign_in_answers': {str(k): v for k, v in sorted(answers.items(), key=str)}}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.signin_storm', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--sign-ins', type=int, default=600)
    parser.add_argument('--parallel', type=int, default=100)
    parser.add_argument('--out', default='var/bench/signin-storm.json')
    args = parser.parse_args(argv)
    bench = run.parse_args(['--small-invoices', '2000', '--pool', '20', '--payers', '0'])
    folder, manifest = run.build_database(bench, 'storm', 2000, large=False)
    runs = []
    with run.portal_on(bench, 'storm', folder, free_port()) as server:
        server.wait_ready()
        for number in range(args.runs):
            figures = one_run(server, manifest, args)
            print(f'run {number + 1}: {json.dumps(figures)}', flush=True)
            runs.append(figures)
    summary = {key: statistics.median(r[key] for r in runs)
               for key in ('saldos_p50_ms', 'saldos_p95_ms', 'saldos_max_ms')}
    print(f'median of {len(runs)} runs: {json.dumps(summary)}')
    with open(args.out, 'w', encoding='utf-8') as out:
        json.dump({'runs': runs, 'median': summary}, out, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
