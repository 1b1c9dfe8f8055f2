"""The ceiling: a bare Pyramid "hello" view, served exactly like the portal.

No transaction manager, no database, no session, no templates: what Pyramid
and waitress cost by themselves on this machine. Every portal page's
throughput is reported as a ratio to this one, measured in the same run.
"""
from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    return Response('Hello', content_type='text/plain')


def main(global_config, **settings):
    """paste.app_factory, used as ``use = call:benchmarks.hello:main``."""
    with Configurator(settings=settings) as config:
        config.add_route('hello', '/')
        config.add_view(hello, route_name='hello')
    return config.make_wsgi_app()
