"""The bank plug-ins, chosen and configured in the ini file.

Settings::

    canonportal.banks = banamex bbva

    banamex.base_url = https://banamex.dialectpayments.com
    banamex.api_version = 73
    banamex.merchant_id = TESTCANON01
    banamex.api_password = env:CANONPORTAL_BANAMEX_API_PASSWORD
    banamex.notification_secret = env:CANONPORTAL_BANAMEX_NOTIFICATION_SECRET
    banamex.merchant_name = Canon Mexicana

    bbva.endpoint_url = https://prepro.adquiracloud.mx/clb/endpoint/canon
    bbva.account = 1234
    bbva.secret = env:CANONPORTAL_BBVA_SECRET

Secret settings go through the ``resolve`` the caller hands to
:func:`gateways_from_settings`: the portal's (``canonportal.banking``) reads a value
written ``env:NAME`` from the environment variable NAME. This package knows nothing of
the portal's resources, views or security.
"""
from . import banamex, bbva, spei
from .base import (  # noqa: F401 - the public interface
    APPROVED, CANCELLED, DECLINED, OUTCOMES, PENDING, UNKNOWN, DECLINE_REASONS,
    REASON_AUTHENTICATION, REASON_BLOCKED, REASON_CANCELLED, REASON_CARD_DETAILS,
    REASON_DECLINED, REASON_EXPIRED_CARD, REASON_INSUFFICIENT_FUNDS, REASON_LIMIT,
    REASON_SYSTEM_ERROR, REASON_TIMED_OUT,
    SOURCE_NOTIFICATION, SOURCE_QUERY, SOURCE_RETURN,
    BankResult, Gateway, GatewayError, PaymentInfo, RejectedMessage, StartResult,
)
from .base import translatable

#: Every plug-in, by the name payments store.
PLUGINS = {gateway.name: gateway
           for gateway in (banamex.BanamexGateway, bbva.BBVAGateway, spei.SpeiGateway)}

#: What customers and staff read for each bank: pages, mails, PDFs, exports and charts.
#: A label to translate ("Transferencia SPEI") is a translation string of the portal's
#: catalog, Spanish wherever it is used as text (exports); pages and mails translate it.
LABELS = {name: translatable(gateway.title) for name, gateway in PLUGINS.items()}


def bank_label(bank):
    """The label of ``bank`` (its id when the portal does not know it), a translation
    string either way."""
    return LABELS.get(bank) or translatable(str(bank))


def decline_reason(bank, raw):
    """``(reason, code)`` of a payment ``bank`` declined with the verified fields ``raw``
    (:meth:`Gateway.decline_reason`); a bank the portal does not know gives
    ``(REASON_DECLINED, '')``."""
    plugin = PLUGINS.get(bank)
    return plugin.decline_reason(raw) if plugin is not None else (REASON_DECLINED, '')


FACTORIES = {
    'banamex': banamex.from_settings,
    'bbva': bbva.from_settings,
    'spei': spei.from_settings,
}


def gateways_from_settings(settings, resolve, transport=None):
    """``{name: Gateway}`` for the banks named in ``canonportal.banks``.

    ``resolve(value)`` turns each secret setting (passwords, signing secrets) into the
    secret itself; it is required, so that no caller sends a bank the setting's text by
    forgetting it. ``transport`` (an httpx transport) routes server-to-server calls, e.g.
    ``httpx.WSGITransport(app=sandbox_app)`` in tests; or a dict ``{name: transport}``
    to give each bank its own.
    """
    names = (settings.get('canonportal.banks') or '').split()
    gateways = {}
    for name in names:
        if name not in FACTORIES:
            raise ValueError(f'canonportal.banks: unknown bank {name!r}')
        own = transport.get(name) if isinstance(transport, dict) else transport
        gateways[name] = FACTORIES[name](settings, prefix=f'{name}.', transport=own,
                                         resolve=resolve)
    return gateways
