""""Recuperar contraseña" for an existing and an unknown RFC: the same answer in the same
time (issue 11; before: existing 18.7 ms, unknown 9.0 ms median).

Serves development.ini with the demo data in a temporary folder (what `make run` serves),
activates CME930812PW3 through its mailed link, then alternates recovery requests for it
and for an unknown RFC and prints the median and p90 of each. The account mails are
throttled (3 an hour per account), so most requests past the first ones send nothing:
the throttle itself must not show in the timing either.

    python -m benchmarks.recovery_timing [--requests 200]
"""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .servers import free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KNOWN, UNKNOWN = 'CME930812PW3', 'XAXX010101000'
PASSWORD = 'un pájaro azul sobre el volcán'


def token_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def activate(client, folder):
    first = client.post('/login', data={'login': KNOWN, 'password': KNOWN, 'csrf_token': token_of(client.get('/'))})
    assert first.status_code == 200, first.status_code
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for mail in (folder / 'var/mail/new').iterdir():
            found = re.search(r'/activar/[\w\-]+', mail.read_text('latin-1'))
            if found:
                page = client.get(found.group(0))
                done = client.post(found.group(0), data={'password': PASSWORD, 'password_confirmation': PASSWORD,
                                                         'csrf_token': token_of(page)})
                assert done.status_code == 303, done.status_code
                client.post('/logout', data={'csrf_token': token_of(client.get('/recuperar-contrasena'))})
                return
        time.sleep(0.05)
    raise RuntimeError('no activation mail')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.recovery_timing', description=__doc__)
    parser.add_argument('--requests', type=int, default=200, help='requests per RFC')
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix='canonportal-timing-'))
    shutil.copy(REPO / 'development.ini', folder)
    (folder / 'var/blobs').mkdir(parents=True)
    subprocess.run([BIN / 'canonportal-init', folder / 'development.ini', '--demo'], check=True,
                   capture_output=True, cwd=folder)
    port = free_port()
    server = subprocess.Popen([BIN / 'pserve', folder / 'development.ini', f'http_port={port}'], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f'http://localhost:{port}', timeout=30) as client:
            for _ in range(100):
                try:
                    client.get('/')
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            activate(client, folder)
            token = token_of(client.get('/recuperar-contrasena'))
            timings = {KNOWN: [], UNKNOWN: []}
            bodies = set()
            for _ in range(args.requests):
                for rfc in (KNOWN, UNKNOWN):
                    started = time.perf_counter()
                    answer = client.post('/recuperar-contrasena', data={'login': rfc, 'csrf_token': token})
                    timings[rfc].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200
                    bodies.add(re.sub(r'name="csrf_token" value="[^"]+"', '', answer.text))
        for rfc, values in timings.items():
            values.sort()
            print(f'{"existing" if rfc == KNOWN else "unknown "} {rfc}: median {statistics.median(values):.1f} ms, '
                  f'p90 {values[int(len(values) * 0.9)]:.1f} ms ({len(values)} requests)')
        print(f'distinct answers: {len(bodies)}')
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
