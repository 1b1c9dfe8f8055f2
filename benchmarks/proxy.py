"""deploy/'s nginx site in front of a served portal, as the Production section runs it.

The site file is used as it is, with only what a test machine must change: its ports,
the upstreams' ports (pages and the sign-in lane), the host name (``localhost``), a self-signed certificate and no
IPv6 listeners (tests/test_deploy_nginx.py renders it the same way). Clients reach it
over HTTPS; each may connect from its own loopback address (127.0.0.0/8 is all local
on Linux), so nginx's per-address limits see many customers, not one.
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from .servers import REPO, free_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
SITE = REPO / 'deploy' / 'nginx' / 'canonportal.conf'


def missing():
    """What is needed and not installed (install hints), for benchmarks.run's check."""
    tools = []
    if not os.path.exists(NGINX):
        tools.append('nginx: apt-get install nginx-light')
    if not shutil.which('openssl'):
        tools.append('openssl: apt-get install openssl')
    return tools


def render(folder, https_port, http_port, app_port, signin_port, drop=(), http_extra='',
           worker_connections=4096):
    """Write ``folder``/nginx.conf: deploy/'s site with this machine's ports and certificate
    (the one renderer of the benchmarks and of tests/test_deploy_nginx.py). ``drop``: parts
    of the site left out (a test of what the app does without a rule); ``http_extra``:
    lines for the http block (the distribution's defaults a test reproduces)."""
    folder = Path(folder)
    site = SITE.read_text(encoding='utf-8')
    for part in drop:
        if part not in site:
            raise ValueError(f'the site has no {part[:60]!r}')
        site = site.replace(part, '')
    site = site.replace('listen 80', f'listen {http_port}').replace('listen 443', f'listen {https_port}')
    site = site.replace('127.0.0.1:6543', f'127.0.0.1:{app_port}')
    site = site.replace('127.0.0.1:6544', f'127.0.0.1:{signin_port}')
    site = site.replace('pagosenlinea.canon.com.mx', 'localhost')
    site = site.replace('/etc/ssl/canonportal/', f'{folder}/')
    site = '\n'.join(line for line in site.splitlines() if 'listen [::]' not in line)
    (folder / 'site.conf').write_text(site, encoding='utf-8')
    # The TLS snippet the site includes, where Debian keeps it (snippets/, beside nginx.conf).
    (folder / 'snippets').mkdir(exist_ok=True)
    shutil.copy(SITE.parent / 'canonportal-tls.conf', folder / 'snippets' / 'canonportal-tls.conf')
    user = 'user root;\n' if os.geteuid() == 0 else ''
    temp = ''.join(f'    {kind}_temp_path {folder}/{kind};\n'
                   for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    (folder / 'nginx.conf').write_text(
        f'{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n'
        f'events {{ worker_connections {worker_connections}; }}\n'
        f'http {{\n    access_log off;\n{http_extra}{temp}    include {folder}/site.conf;\n}}\n',
        encoding='utf-8')


class Proxy:
    """nginx with deploy/'s site in front of the portal on ``app_port`` (and its sign-in
    lane on ``signin_port``); a context manager."""

    def __init__(self, folder, app_port, signin_port):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / 'fullchain.pem').exists():
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                            '-subj', '/CN=localhost', '-keyout', str(self.folder / 'privkey.pem'),
                            '-out', str(self.folder / 'fullchain.pem')], check=True, capture_output=True)
        for _attempt in range(3):      # a free port may be taken by another process meanwhile
            if self._start(app_port, signin_port):
                return
        raise RuntimeError(f'nginx did not start: {self.error}')

    def _start(self, app_port, signin_port):
        self.port = free_port()
        render(self.folder, self.port, free_port(), app_port, signin_port)
        self.base_url = f'https://localhost:{self.port}'
        self.process = subprocess.Popen([NGINX, '-p', str(self.folder), '-c', str(self.folder / 'nginx.conf'),
                                         '-g', 'daemon off;'], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                # Ours, and the portal behind it (a port taken meanwhile answers otherwise).
                page = httpx.get(self.base_url + '/', verify=False, timeout=5)
                if page.status_code == 200 and 'csrf_token' in page.text and self.process.poll() is None:
                    return True
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self.error = self.process.stderr.read().decode()
                return False
            time.sleep(0.1)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def address(block, number):
    """The ``number``-th loopback address of ``block`` (1–250): 127.0.block.x, then the next block."""
    return f'127.0.{block + (number - 1) // 250}.{(number - 1) % 250 + 1}'
