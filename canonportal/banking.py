"""Wiring the bank gateways into the application."""
from urllib.parse import urlsplit

from .gateways import gateways_from_settings

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


def configured_gateways(settings):
    """The gateways the settings name, each with its own state (e.g. the CEP's query limit).
    Tests route server-to-server calls to the sandbox apps with an httpx transport."""
    return gateways_from_settings(settings, transport=settings.get('canonportal.bank_transport'))


def includeme(config):
    settings = config.get_settings()
    config.registry.gateways = configured_gateways(settings)
    if 'canonportal.csp_form_action' not in settings:
        settings['canonportal.csp_form_action'] = ' '.join(bank_origins(settings))
