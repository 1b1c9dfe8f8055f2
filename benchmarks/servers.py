"""Starting and stopping the served apps, and watching their memory.

Each app runs in its own process (``python -m benchmarks.serve``), so its
resident memory is its own: :class:`Served` samples ``VmRSS`` from /proc while
it runs and reads the kernel's high-water mark ``VmHWM`` for the peak.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
INI = REPO / 'benchmarks' / 'bench.ini'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def proc_memory_mb(pid):
    """``(VmRSS, VmHWM)`` of process ``pid`` in MB, or ``(None, None)`` once it is gone."""
    values = {}
    try:
        with open(f'/proc/{pid}/status', encoding='ascii') as status:
            for line in status:
                name, _, rest = line.partition(':')
                if name in ('VmRSS', 'VmHWM'):
                    values[name] = int(rest.split()[0]) / 1024
    except OSError:
        return None, None
    return values.get('VmRSS'), values.get('VmHWM')


class Served:
    """One app of bench.ini served by waitress in a child process."""

    def __init__(self, app, port, options, ini=INI, log_path=None, env=None):
        self.app = app
        self.port = port
        self.base_url = f'http://127.0.0.1:{port}'
        # [server:main]'s sign-in lane (canonportal/lanes.py), where nginx sends /login.
        options = dict(options)
        self.signin_port = int(options.setdefault('signin_port', free_port()))
        command = [sys.executable, '-m', 'benchmarks.serve', str(ini), f'listen_port={port}',
                   *(f'{k}={v}' for k, v in options.items()), '--app', app]
        self.log = open(log_path or os.devnull, 'ab')  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, **(env or {})))
        self.samples = []
        self._stop_sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self):
        while not self._stop_sampling.wait(0.25):
            rss, _peak = proc_memory_mb(self.process.pid)
            if rss is None:
                return
            self.samples.append((time.monotonic(), rss))

    def wait_ready(self, path='/', timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'[app:{self.app}] exited with {self.process.returncode}: see its log')
            try:
                httpx.get(self.base_url + path, timeout=5)
                return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f'[app:{self.app}] did not answer within {timeout} s')

    def memory(self):
        """``{'rss_mb': now, 'peak_rss_mb': high-water mark}`` of the server process."""
        rss, peak = proc_memory_mb(self.process.pid)
        return {'rss_mb': round(rss, 1) if rss else None, 'peak_rss_mb': round(peak, 1) if peak else None}

    def peak_between(self, start, end):
        """The highest sampled RSS between two ``time.monotonic()`` instants."""
        inside = [rss for when, rss in self.samples if start <= when <= end]
        return round(max(inside), 1) if inside else None

    def stop(self):
        self._stop_sampling.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
