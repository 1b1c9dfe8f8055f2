"""canonportal: the customer payment portal of Canon Mexicana.

A Pyramid application using traversal over a ZODB object tree.
"""
from pyramid.config import Configurator

from .resources import root_factory


def main(global_config, **settings):
    """Return the portal's WSGI application."""
    settings.setdefault('tm.manager_hook', 'pyramid_tm.explicit_manager')
    settings.setdefault('retry.attempts', '3')
    settings.setdefault('pyramid.default_locale_name', 'es')
    with Configurator(settings=settings, root_factory=root_factory) as config:
        config.include('.configure')
    return config.make_wsgi_app()
