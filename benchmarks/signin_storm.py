"""Sign-ins arriving together, through deploy/'s nginx site in front of one portal process
(the README's Production section), on benchmarks/bench.ini (production's settings).

Two cases, parts of ``benchmarks.run`` (``--skip signin-30 signin-flood-saldos``):

* ``signin-30``: 30 distinct customers, each from its own address, have the sign-in form
  open and press "Iniciar sesión" in the same instant. Target: all 30 signed in, p95 under
  5 s, no 503, no conflict (issue 20: 27 of 30 were refused).
* ``signin-flood-saldos``: 600 sign-ins of names nobody has (each a full argon2
  verification), 100 at a time from 200 addresses, while a signed-in customer reloads
  SALDOS. Target: that customer's SALDOS p95 under 200 ms. How the sign-ins were answered
  is reported (400 wrong, 429 refused by nginx past its queue, 503 refused by the portal).

Conflicts are read from the portal's log: "gave up after conflicts" (a 503), and each
retried write or request (benchmarks.serve logs those at INFO).

Only these cases, three times, on a database of 100,000 invoices, then their medians::

    python -m benchmarks.run --invoices 100000 --skip hello pages payments small --out var/bench/signins-1.json
    python -m benchmarks.run --invoices 100000 --reuse --skip hello pages payments small --out var/bench/signins-2.json
    ...
    python -m benchmarks.median var/bench/signins-*.json
"""
import json
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import lxml.html

from . import loads
from .proxy import Proxy, address

#: A browser gives up after this (connect, read, write, pool): no case ever hangs.
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CASES = ('signin-30', 'signin-flood-saldos')
#: Loopback address blocks (127.0.B.x) of each kind of client, so nginx sees them apart.
CUSTOMERS_BLOCK, WATCHER_BLOCK, FLOOD_BLOCK = 1, 9, 10


def browser(base_url, source):
    """An HTTPS client connecting from the loopback address ``source`` (its own cookies)."""
    return httpx.Client(base_url=base_url, timeout=TIMEOUT, follow_redirects=False,
                        transport=httpx.HTTPTransport(local_address=source, verify=False))


def open_form(client):
    """GET the sign-in page; its CSRF token."""
    page = client.get('/')
    return lxml.html.fromstring(page.text).xpath('//input[@name="csrf_token"]/@value')[0]


def percentile(values, share):
    """Nearest-rank percentile of ``values`` (ms), rounded to 0.1."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(int(-(-share * len(ordered) // 1)) - 1, 0)
    return round(ordered[min(rank, len(ordered) - 1)], 1)


# -- the cases ---------------------------------------------------------------------------------

def customers_at_once(base_url, rfcs, password):
    """Every customer of ``rfcs`` presses "Iniciar sesión" in the same instant."""
    clients = [browser(base_url, address(CUSTOMERS_BLOCK, n + 1)) for n in range(len(rfcs))]
    try:
        tokens = [open_form(client) for client in clients]      # the forms open, then all at once
        start = threading.Barrier(len(rfcs))

        def press(n):
            start.wait()
            started = time.perf_counter()
            try:
                status = clients[n].post('/login', data={'login': rfcs[n], 'password': password,
                                                         'csrf_token': tokens[n]}).status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            return status, (time.perf_counter() - started) * 1000
        with ThreadPoolExecutor(len(rfcs)) as pool:
            answers = list(pool.map(press, range(len(rfcs))))
    finally:
        for client in clients:
            client.close()
    times = [ms for _, ms in answers]
    statuses = Counter(str(status) for status, _ in answers)
    return {'customers': len(rfcs), 'signed_in': statuses.get('303', 0),
            'answers': dict(sorted(statuses.items())),
            'p50_ms': percentile(times, 0.5), 'p95_ms': percentile(times, 0.95),
            'max_ms': round(max(times), 1)}


def flood_while_saldos(base_url, reference, password, sign_ins=600, parallel=100, addresses=200):
    """``sign_ins`` sign-ins of unknown names, ``parallel`` at a time from ``addresses``
    addresses, while ``reference`` (signed in) reloads SALDOS every 20 ms."""
    watcher = browser(base_url, address(WATCHER_BLOCK, 1))
    signed = watcher.post('/login', data={'login': reference, 'password': password,
                                          'csrf_token': open_form(watcher)})
    if signed.status_code != 303:
        raise RuntimeError(f'{reference} could not sign in: HTTP {signed.status_code}')
    watcher.get(f'/customers/{reference}/saldos')     # once before: templates compiled, caches warm
    timings, other, stop = [], Counter(), threading.Event()

    def watch():
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = watcher.get(f'/customers/{reference}/saldos').status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                other[str(status)] += 1
            time.sleep(0.02)

    names = secrets.token_hex(3).upper()    # names of this flood only: none locked by an earlier one

    def attempt(n):
        with browser(base_url, address(FLOOD_BLOCK, n % addresses + 1)) as client:
            try:
                token = open_form(client)
                return client.post('/login', data={'login': f'X{names}{n:06d}', 'password': f'wrong {n}',
                                                   'csrf_token': token}).status_code
            except httpx.HTTPError as error:
                return type(error).__name__

    thread = threading.Thread(target=watch)
    thread.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(parallel) as pool:
            answers = Counter(str(status) for status in pool.map(attempt, range(sign_ins)))
    finally:
        stop.set()
        thread.join()
        watcher.close()
    return {'sign_ins': sign_ins, 'parallel': parallel, 'addresses': addresses,
            'seconds': round(time.monotonic() - started, 1),
            'answers': dict(sorted(answers.items())),
            'saldos_requests': len(timings), 'saldos_not_200': dict(other),
            'saldos_p50_ms': percentile(timings, 0.5), 'saldos_p95_ms': percentile(timings, 0.95),
            'saldos_max_ms': round(max(timings), 1)}


# -- through nginx, with the portal's log -------------------------------------------------------

def conflicts_in(text):
    """What the portal's log says about conflicts: requests given up (503), writes retried
    alone, whole requests retried."""
    return {'gave_up': text.count('gave up after conflicts'),
            'writes_retried': text.count('conflict, attempt'),
            'requests_retried': text.count('retrying ')}


def run_cases(portal, log_path, work, manifest, skip=()):
    """Each case not in ``skip``, through a fresh nginx in front of ``portal``; their figures."""
    results = {}
    for case in CASES:
        if case in skip:
            continue
        before = log_path.stat().st_size if log_path.exists() else 0
        loads.drain(portal.base_url, 8)
        with Proxy(work / 'nginx' / case, portal.port, portal.signin_port) as proxy:
            print(f'  {case}: through nginx at {proxy.base_url}', flush=True)
            if case == 'signin-30':
                figures = customers_at_once(proxy.base_url, manifest['customers'][:30], manifest['password'])
            else:
                figures = flood_while_saldos(proxy.base_url, manifest['reference'], manifest['password'])
        time.sleep(1)       # the log's last lines
        with open(log_path, 'rb') as log:
            log.seek(before)
            figures['conflicts'] = conflicts_in(log.read().decode('utf-8', 'replace'))
        with open('/proc/loadavg', encoding='ascii') as load:
            figures['load_average'] = load.read().split()[:3]
        print(f'    {json.dumps(figures)}', flush=True)
        results[case] = figures
    return results
