"""Server-to-server HTTP for the gateways: httpx with timeouts, retries only where safe.

A POST that creates something at the bank (a checkout session) is sent once:
a retry after a timeout could create a second one. Only idempotent GETs
(order retrieval) are retried, on transport errors and 502/503/504.
"""
import logging
import time

import httpx

from .base import GatewayError

log = logging.getLogger('canonportal.gateways')

TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
RETRY_STATUSES = frozenset({502, 503, 504})
_sleep = time.sleep


def make_client(transport=None, timeout=TIMEOUT):
    """An ``httpx.Client`` for talking to a bank.

    ``transport``: e.g. ``httpx.WSGITransport(app=sandbox_app)`` in tests;
    None means real HTTP. Redirects are not followed: a bank API never
    redirects, and following one could leak the credentials elsewhere.
    """
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False,
                        headers={'User-Agent': 'canonportal'})


def post_once(client, url, **kwargs):
    """POST exactly once; any transport failure becomes a :class:`GatewayError`."""
    try:
        return client.post(url, **kwargs)
    except httpx.HTTPError as error:
        raise GatewayError(f'POST failed: {type(error).__name__}') from error


def get_with_retries(client, url, attempts=3, backoff=0.5, sleep=None, **kwargs):
    """GET ``url``, retrying transport errors and 502/503/504 up to ``attempts`` times."""
    last = None
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(url, **kwargs)
        except httpx.HTTPError as error:
            last = GatewayError(f'GET failed: {type(error).__name__}')
            last.__cause__ = error
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            last = GatewayError(f'GET answered {response.status_code}')
        if attempt < attempts:
            log.info('bank GET attempt %d failed (%s); retrying', attempt, last)
            (sleep or _sleep)(backoff * attempt)
    raise last
