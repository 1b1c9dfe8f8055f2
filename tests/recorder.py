"""A WSGI app standing for the portal's notification endpoint: it records what the banks POST."""
import threading

import pytest
from webob import Request


class Recorder:
    """Records every request it receives (path, headers, raw body, form) and answers 200."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.calls.append({'path': request.path, 'headers': dict(request.headers),
                               'body': request.body, 'form': dict(request.POST)})
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']


@pytest.fixture
def recorder():
    """A fresh :class:`Recorder` for the sandbox banks to notify."""
    return Recorder()
