"""Serve the sandbox banks beside the portal, for development.

Two ways to mount them from an ini file:

* as a filter on the portal app (what development.ini does, so that
  ``get_appsettings(ini, 'main')`` still returns the portal's settings for the
  console scripts)::

      [app:main]
      use = egg:canonportal
      filter-with = sandbox-banks

      [filter:sandbox-banks]
      use = egg:canonportal#sandboxes
      banamex.merchant_id = TESTCANON01
      ...

* as a composite (``use = egg:canonportal#with_sandboxes``, ``portal = portal``)
  with the same sandbox settings.

Settings: ``banamex.path`` (default /sandbox/banamex), ``banamex.merchant_id``,
``banamex.api_password``, ``banamex.notification_url``,
``banamex.notification_secret``; ``bbva.path`` (default /sandbox/bbva),
``bbva.account``, ``bbva.secret``; ``spei.path`` (default /sandbox/spei),
``spei.notification_url``, ``spei.notification_secret``, ``spei.account`` (the CLABE its
statements are of) and ``cep.path`` (default /sandbox/cep) for the SPEI bank and
Banxico's CEP service. A bank without its credentials is not mounted.
"""
from . import banamex, bbva, spei


class Mount:
    """Dispatch on path prefixes; everything else goes to ``default``."""

    def __init__(self, default, mounts):
        self.default = default
        self.mounts = sorted(mounts.items(), key=lambda item: -len(item[0]))

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        for prefix, app in self.mounts:
            if path == prefix or path.startswith(prefix + '/'):
                environ = dict(environ)
                environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME', '') + prefix
                environ['PATH_INFO'] = path[len(prefix):]
                return app(environ, start_response)
        return self.default(environ, start_response)


def sandboxes(conf, transport=None):
    """``{path: sandbox app}`` from the settings described in the module docstring."""
    apps = {}
    if conf.get('banamex.merchant_id') and conf.get('banamex.api_password'):
        apps[conf.get('banamex.path', '/sandbox/banamex')] = banamex.make_app(
            merchant_id=conf['banamex.merchant_id'],
            api_password=conf['banamex.api_password'],
            notification_url=conf.get('banamex.notification_url'),
            notification_secret=conf.get('banamex.notification_secret'),
            transport=transport,
        )
    if conf.get('bbva.account') and conf.get('bbva.secret'):
        apps[conf.get('bbva.path', '/sandbox/bbva')] = bbva.make_app(
            account=conf['bbva.account'], secret=conf['bbva.secret'], transport=transport)
    if conf.get('spei.notification_url') and conf.get('spei.notification_secret'):
        bank, cep = spei.make_apps(conf['spei.notification_url'], conf['spei.notification_secret'],
                                   conf.get('spei.account', ''), transport=transport)
        apps[conf.get('spei.path', '/sandbox/spei')] = bank
        apps[conf.get('cep.path', '/sandbox/cep')] = cep
    return apps


def with_sandboxes(portal, conf, transport=None):
    """The portal with the sandbox banks mounted beside it."""
    return Mount(portal, sandboxes(conf, transport))


def composite(loader, global_conf, **local_conf):
    """paste.composite_factory: ``portal = <app section name>`` plus the sandbox settings."""
    portal = loader.get_app(local_conf.pop('portal', 'portal'), global_conf=global_conf)
    return with_sandboxes(portal, local_conf)


def filter_factory(global_conf, **local_conf):
    """paste.filter_factory: wraps the app it filters with the sandbox banks."""
    def wrap(app):
        return with_sandboxes(app, local_conf)
    return wrap
