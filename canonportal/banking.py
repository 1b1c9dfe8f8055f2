"""Wiring the bank gateways into the application: the gateways the ini configures, with
their secrets read as the portal reads every secret (``env:NAME``)."""
from urllib.parse import urlsplit

from .gateways import gateways_from_settings
from .security import resolve_secret

#: Settings naming each bank's pages the browser is sent to.
_BANK_URL_SETTINGS = ('banamex.base_url', 'bbva.endpoint_url')


def bank_origins(settings):
    """The origins of the configured banks' pages (for CSP's form-action)."""
    origins = []
    for name in _BANK_URL_SETTINGS:
        url = settings.get(name)
        if url:
            parts = urlsplit(url)
            origin = f'{parts.scheme}://{parts.netloc}'
            if origin not in origins:
                origins.append(origin)
    return origins


def configured_gateways(settings, transport=None):
    """``{name: Gateway}`` for the banks named in ``canonportal.banks``, each secret setting
    read through :func:`canonportal.security.resolve_secret` (``env:NAME``: from the
    environment; a RuntimeError when it is not set), each gateway with its own state (the
    CEP's query limit). The app, the console scripts and the tests build their gateways
    here; tests route server-to-server calls to the sandbox apps with an httpx transport
    (``canonportal.bank_transport``)."""
    if transport is None:
        transport = settings.get('canonportal.bank_transport')
    return gateways_from_settings(settings, resolve_secret, transport)


def includeme(config):
    settings = config.get_settings()
    config.registry.gateways = configured_gateways(settings)
    if 'canonportal.csp_form_action' not in settings:
        settings['canonportal.csp_form_action'] = ' '.join(bank_origins(settings))
