"""Driving the load tools: wrk for the pages, locust for the payment round trip.

wrk (C, a few percent of a core) measures throughput and latency of one page
at a fixed number of connections, closed loop. locust runs the payment round
trip, which needs a browser's state: forms, cookies, two hosts.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import lxml.html

from .servers import REPO

LUA = REPO / 'benchmarks' / 'wrk' / 'targets.lua'
LOCUSTFILE = REPO / 'benchmarks' / 'locustfile.py'


def require_tools(skip=()):
    """The missing tools of the parts not in ``skip``, as install hints (empty: all there)."""
    missing = []
    if not shutil.which('wrk') and not {'hello', 'pages'} <= set(skip):
        missing.append('wrk: apt-get install wrk')
    if not locust_command() and 'payments' not in skip:
        missing.append('locust: .venv/bin/pip install "locust >= 2.20"')
    return missing


def locust_command():
    local = Path(sys.executable).parent / 'locust'
    if local.exists():
        return str(local)
    return shutil.which('locust')


# -- sessions ---------------------------------------------------------------------

def login_form(base_url):
    """A fresh anonymous session: ``(cookie header, csrf token)`` of the sign-in form."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=60) as client:
        page = client.get('/')
        token = lxml.html.fromstring(page.text).xpath('//input[@name="csrf_token"]/@value')[0]
        return cookie_header(client), token


def sign_in(base_url, rfc, password):
    """Sign ``rfc`` in; return the session's Cookie header."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=60) as client:
        page = client.get('/')
        token = lxml.html.fromstring(page.text).xpath('//input[@name="csrf_token"]/@value')[0]
        answer = client.post('/login', data={'login': rfc, 'password': password, 'csrf_token': token})
        if answer.status_code != 303:
            raise RuntimeError(f'{rfc} could not sign in: HTTP {answer.status_code}')
        return cookie_header(client)


def cookie_header(client):
    return '; '.join(f'{name}={value}' for name, value in client.cookies.items())


# -- wrk --------------------------------------------------------------------------

def wrk(base_url, targets, duration, connections=8, threads=2, expected_status=200):
    """Run wrk over ``targets`` ([(method, path, cookie, body)]); return its figures.

    ``rps`` counts only answers with ``expected_status``; any other answer is
    reported in ``unexpected``.
    """
    with tempfile.NamedTemporaryFile('w', suffix='.tsv', delete=False, encoding='utf-8') as handle:
        for method, path, cookie, body in targets:
            handle.write('\t'.join((method, path, cookie or '', body or '')) + '\n')
        targets_file = handle.name
    try:
        command = ['wrk', f'-t{min(threads, connections)}', f'-c{connections}', f'-d{duration}s',
                   '--timeout', '30s', '-s', str(LUA), base_url, '--', targets_file, str(expected_status)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    finally:
        os.unlink(targets_file)
    line = next((line for line in done.stdout.splitlines() if line.startswith('WRKJSON ')), None)
    if line is None:
        raise RuntimeError(f'wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}')
    raw = json.loads(line[len('WRKJSON '):])
    seconds = raw['duration_us'] / 1e6
    errors = sum(raw['errors'].values()) - raw['errors']['status']
    good = raw['requests'] - raw['unexpected'] - errors
    latency = raw['latency_us']
    return {
        'requests': raw['requests'], 'seconds': round(seconds, 2),
        'rps': round(good / seconds, 1) if seconds else 0.0,
        'p50_ms': latency['p50'] / 1000, 'p95_ms': latency['p95'] / 1000,
        'p99_ms': latency['p99'] / 1000, 'mean_ms': round(latency['mean'] / 1000, 2),
        'max_ms': latency['max'] / 1000,
        'errors': errors, 'unexpected': raw['unexpected'], 'first_unexpected': raw['first_unexpected'],
        'connections': connections,
    }


def first_hits(base_url, targets, limit=20):
    """Request each distinct target once, one after the other (templates compile, caches fill),
    so that no measurement starts with every thread stuck on the same cold page."""
    seen = set()
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=300) as client:
        for method, path, cookie, body in targets:
            if path in seen or len(seen) >= limit:
                continue
            seen.add(path)
            headers = {'Cookie': cookie} if cookie else {}
            if body:
                headers['Content-Type'] = 'application/x-www-form-urlencoded'
            client.request(method, path, headers=headers, content=body or None)


def drain(base_url, threads):
    """Wait until the server has finished what an earlier load left queued.

    Waitress serves its queue in order: once ``threads`` cheap requests sent
    together have all been answered, every thread has gone through the backlog.
    """
    def one(_):
        httpx.get(base_url + '/', timeout=300)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(threads)))


def probe(base_url, target, samples, cold):
    """Request ``target`` ``samples`` times one after the other, nothing else running, and
    read what each cost (benchmarks/probe.py): ``cold`` empties the process's ZODB caches
    before each. Returns the medians: ``{prefix}_ms`` (as the client saw it),
    ``{prefix}_server_ms`` (in the process) and ``{prefix}_loads`` (persistent objects loaded),
    ``prefix`` being ``cold`` or ``warm``, and each sample's loads."""
    method, path, cookie, _body = target
    headers = {'Cookie': cookie, 'X-Bench-Probe': '1', **({'X-Bench-Cold': '1'} if cold else {})}
    client_ms, server_ms, loads = [], [], []
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=300) as client:
        for _ in range(samples):
            started = time.perf_counter()
            answer = client.request(method, path, headers=headers)
            client_ms.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or 'X-Bench-Loads' not in answer.headers:
                raise RuntimeError(f'{path}: HTTP {answer.status_code} without the probe\'s headers '
                                   '(is benchmarks.probe in the ini\'s pyramid.includes?)')
            server_ms.append(float(answer.headers['X-Bench-Ms']))
            loads.append(int(answer.headers['X-Bench-Loads']))
    prefix = 'cold' if cold else 'warm'
    return {f'{prefix}_ms': round(statistics.median(client_ms), 2),
            f'{prefix}_server_ms': round(statistics.median(server_ms), 2),
            f'{prefix}_loads': statistics.median(loads), f'{prefix}_loads_each': loads}


def get_targets(paths_and_cookies):
    return [('GET', path, cookie, '') for path, cookie in paths_and_cookies]


def login_targets(base_url, rfcs, password):
    """POST /login for each RFC, each from its own anonymous session with its CSRF token."""
    targets = []
    for rfc in rfcs:
        cookie, token = login_form(base_url)
        body = urlencode({'login': rfc, 'password': password, 'csrf_token': token})
        targets.append(('POST', '/login', cookie, body))
    return targets


# -- locust -----------------------------------------------------------------------

def payment_burst(base_url, rfcs, password, bank, work_dir, tabs=1, picks=3, timeout=600):
    """``len(rfcs) × tabs`` customers pay at once through the sandbox ``bank`` (locust headless)."""
    work_dir = Path(work_dir)
    payers = work_dir / 'payers.json'
    result = work_dir / 'payments.json'
    payers.write_text(json.dumps({'password': password, 'rfcs': list(rfcs)}), encoding='utf-8')
    if result.exists():
        result.unlink()
    users = len(rfcs) * tabs
    env = dict(os.environ, BENCH_PAYERS=str(payers), BENCH_BANK=bank, BENCH_TABS=str(tabs),
               BENCH_PICKS=str(picks), BENCH_RESULT=str(result))
    command = [locust_command(), '-f', str(LOCUSTFILE), '--headless', '--only-summary',
               '-u', str(users), '-r', str(users), '-t', f'{timeout}s', '--stop-timeout', '30',
               '--host', base_url, '--loglevel', 'WARNING']
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=timeout + 120)
    (work_dir / 'locust.log').write_text(done.stdout + done.stderr, encoding='utf-8')
    if not result.exists():
        raise RuntimeError(f'locust wrote no result ({done.returncode}): {done.stderr[-3000:]}')
    outcome = json.loads(result.read_text(encoding='utf-8'))
    outcome['locust_exit'] = done.returncode
    return outcome
