"""What ``make run`` serves, as a subprocess: development.ini (sandbox banks included)
copied into a temporary folder, the demo data of ``canonportal-init --demo`` in its
``var/``, and ``pserve`` on a free port. For the attack tests that need a real server:
its memory, its threads, its log: the ``dev_server`` fixture, one per test module."""
import contextlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server_support import _DIE_WITH_PARENT, AppServer, free_port, stop_process

class PortTaken(Exception):
    """pserve could not bind the port chosen for it."""


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class DevServer:
    def __init__(self, folder, settings=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ini = self.folder / 'development.ini'
        text = (ROOT / 'development.ini').read_text(encoding='utf-8')
        for name, value in (settings or {}).items():
            # A setting of the app changed or added in its [app:main] section.
            line = f'{name} = {value}'
            pattern = re.compile(rf'^{re.escape(name)}\s*=.*$', re.M)
            text = pattern.sub(line, text) if pattern.search(text) else text.replace(
                '[app:main]\n', f'[app:main]\n{line}\n', 1)
        self.ini.write_text(text, encoding='utf-8')
        (self.folder / 'var' / 'blobs').mkdir(parents=True)
        self.port = free_port()
        self.base_url = f'http://localhost:{self.port}'
        self.log_path = self.folder / 'server.log'
        self.process = None

    # A console script on this server's ini file, as for the scale-out servers.
    run_script = AppServer.run_script

    def start(self, attempts=3):
        """Serve and wait for the first page. A free port can be taken by another test's
        server between the probe and pserve's bind (on 127.0.0.1 or ::1, which "localhost"
        also binds): then another port is tried."""
        for attempt in range(attempts):
            try:
                return self._start()
            except PortTaken:
                if attempt == attempts - 1:
                    raise
                self.port = free_port()
                self.base_url = f'http://localhost:{self.port}'
        return self

    def _start(self):
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-c', _DIE_WITH_PARENT, str(BIN / 'pserve'), str(self.ini),
                 f'http_port={self.port}'],
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                if 'Address already in use' in log[-4000:]:
                    self.log_path.write_text('', 'utf-8')
                    raise PortTaken(self.port)
                raise RuntimeError(f'pserve exited:\n{log[-4000:]}')
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url('/'), timeout=5).status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f'pserve did not answer:\n{self.log()[-4000:]}')

    def url(self, path='/'):
        return self.base_url + path

    def peak_rss_kb(self):
        """The server's peak resident memory so far (VmHWM)."""
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
        raise AssertionError('no VmHWM')

    def log(self):
        return self.log_path.read_text('utf-8', 'replace') if self.log_path.exists() else ''

    def mails(self):
        folder = self.folder / 'var' / 'mail' / 'new'
        return sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime) if folder.exists() else []

    def stop(self):
        stop_process(self.process)


def start_dev_server(folder, settings=None):
    """``make run``'s portal in ``folder``, with ``settings`` of [app:main] changed."""
    server = DevServer(folder, settings)
    server.run_script('canonportal-init', '--demo')
    return server.start()


@pytest.fixture(scope='module')
def dev_server(tmp_path_factory):
    """What ``make run`` serves, started once for the test module that asks for it."""
    server = start_dev_server(tmp_path_factory.mktemp('dev-server'))
    yield server
    server.stop()
