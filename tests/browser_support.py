"""Browser tests: the portal served by waitress in a thread, driven by Debian's Chromium.

Import the fixtures into a test module to use them::

    from browser_support import browser, live_portal, signed_in  # noqa: F401

``live_portal`` serves a fresh FileStorage with the demo data (rate for today
included) and Canon Mexicana already activated with :data:`conftest.GOOD_PASSWORD`.
A missing /usr/bin/chromium makes the tests FAIL, never skip: CI must not pass
silently without a browser.

``paying_portal`` serves the same portal and, beside it, both sandbox banks on one
waitress server, as development.ini mounts them (the ``sandbox-banks`` filter): the
portal reaches the sandbox Citibanamex over real HTTP and the sandbox sends its
webhooks back the same way. ``new_page(browser, portal)`` opens a signed-in page.
"""
import os
import threading

import pytest
from waitress import wasyncore
from waitress.server import create_server

from canonportal import clock
from canonportal.bootstrap import add_demo_data
from canonportal.resources import ACTIVE
from canonportal.sandbox import mount
from canonportal.signin import set_password
from portal_support import CANON, GOOD_PASSWORD, file_storage_uri, make_app, with_root

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


class LivePortal:
    """A served portal: ``url(path)``, the WSGI ``app`` and its database helpers.

    ``site`` is what the server answers with: the portal itself, or the portal with
    the sandbox banks mounted beside it (``paying_portal``).
    """

    def __init__(self, app, base_url, site=None):
        self.app = app
        self.base_url = base_url
        self.site = site or app

    def url(self, path='/'):
        return self.base_url + path

    def with_root(self, work):
        return with_root(self.app, work)


def activate_customer(root, rfc=CANON, password=GOOD_PASSWORD, email=None):
    """Give a demo customer a password, as if it had gone through activation."""
    customer = root.customers[rfc]
    set_password(customer, password)
    customer.state = ACTIVE
    customer.set_email(email or f'{rfc.lower()}@example.mx')
    return customer


def serve(app, threads=4):
    """Serve ``app`` on a free local port in a daemon thread; returns (server, thread, base URL)."""
    server = create_server(app, host='127.0.0.1', port=0, threads=threads,
                           clear_untrusted_proxy_headers=True)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, name='waitress-test', daemon=True)
    thread.start()
    return server, thread, f'http://127.0.0.1:{port}'


def stop(server, thread):
    """Stop a server from :func:`serve`, kept-alive connections included.

    ``server.close()`` alone closes only the listening socket: the loop goes on
    while clients (httpx pools, sandbox webhooks) hold connections open. Closing
    every channel inside the loop's own thread empties its map and ends it.
    """
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))  # noqa: SLF001
    thread.join(timeout=5)
    server.task_dispatcher.shutdown(timeout=5)


@pytest.fixture
def live_portal(tmp_path):
    """The portal with the demo data on a committed FileStorage, served over HTTP."""
    base = None
    app = make_app(**{'zodbconn.uri': file_storage_uri(tmp_path),
                      'canonportal.public_url': 'http://127.0.0.1'})

    def setup(root):
        add_demo_data(root, today=clock.mexico_today())
        activate_customer(root)

    with_root(app, setup)
    server, thread, base = serve(app)
    try:
        yield LivePortal(app, base)
    finally:
        stop(server, thread)


# Development-only sandbox credentials, as in development.ini's [DEFAULT] section.
SANDBOX_CREDENTIALS = {
    'banamex.merchant_id': 'TESTCANON01',
    'banamex.api_password': 'browser-test-sandbox-banamex-api-password',
    'banamex.notification_secret': 'browser-test-sandbox-banamex-notification-secret',
    'bbva.account': '8001',
    'bbva.secret': 'browser-test-sandbox-bbva-secret',
}


class _Deferred:
    """A WSGI app whose target is set once the server knows its port (and so its URL)."""

    target = None

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


def paying_settings(base):
    """The portal's bank settings of development.ini, for a server at ``base``."""
    return {
        'canonportal.public_url': base,
        'canonportal.banks': 'banamex bbva',
        'banamex.base_url': f'{base}/sandbox/banamex',
        'banamex.api_version': '73',
        'banamex.merchant_id': SANDBOX_CREDENTIALS['banamex.merchant_id'],
        'banamex.api_password': SANDBOX_CREDENTIALS['banamex.api_password'],
        'banamex.notification_secret': SANDBOX_CREDENTIALS['banamex.notification_secret'],
        'banamex.merchant_name': 'Canon Mexicana',
        'bbva.endpoint_url': f'{base}/sandbox/bbva/clb/endpoint/canon',
        'bbva.account': SANDBOX_CREDENTIALS['bbva.account'],
        'bbva.secret': SANDBOX_CREDENTIALS['bbva.secret'],
    }


def sandbox_filter_settings(base):
    """The ``[filter:sandbox-banks]`` section of development.ini, for a server at ``base``."""
    return dict(SANDBOX_CREDENTIALS, **{
        'banamex.notification_url': f'{base}/banco/banamex/notificacion'})


def serve_paying_portal(folder, spei=False):
    """The portal and the sandboxes on one waitress server (a generator: yields the
    LivePortal, stops the server when resumed)."""
    front = _Deferred()
    server, thread, base = serve(front, threads=12)
    try:
        settings = paying_settings(base)
        sandbox = sandbox_filter_settings(base)
        if spei:
            settings.update(spei_settings(base))
            sandbox.update(spei_sandbox_settings(base))
        portal = make_app(**{'zodbconn.uri': file_storage_uri(folder), **settings})

        def setup(root):
            add_demo_data(root, today=clock.mexico_today())
            activate_customer(root)

        with_root(portal, setup)
        # What paste does with development.ini's ``filter-with = sandbox-banks``.
        front.target = mount.filter_factory({}, **sandbox)(portal)
        yield LivePortal(portal, base, site=front.target)
    finally:
        # Webhooks under way finish against the live server before it closes.
        for _prefix, sandbox_app in getattr(front.target, 'mounts', ()):
            sandbox_app.deliverer.wait(timeout=5)
        stop(server, thread)


#: development.ini's SPEI settings, for a server at ``base``.
SPEI_SECRET = 'browser-test-sandbox-spei-secret'


def spei_settings(base):
    return {'canonportal.banks': 'banamex bbva spei', 'spei.clabe_prefix': '6461801570',
            'spei.beneficiary': 'Canon Mexicana SA de CV', 'spei.bank': 'STP',
            'spei.notification_secret': SPEI_SECRET, 'spei.cep_url': f'{base}/sandbox/cep'}


def spei_sandbox_settings(base):
    return {'spei.notification_url': f'{base}/spei/abono', 'spei.notification_secret': SPEI_SECRET,
            'spei.account': '646180157000000004'}


@pytest.fixture
def paying_portal(tmp_path):
    """The portal and both sandbox banks on one waitress server, as in ``make run``.

    No httpx transport override: the portal calls the sandbox Citibanamex over real
    HTTP on this same server while it serves the customer's request, hence the
    threads. The demo data (rate for today, payment 228) is committed to a
    FileStorage and Canon Mexicana is activated with ``GOOD_PASSWORD``.
    """
    yield from serve_paying_portal(tmp_path)


@pytest.fixture
def spei_portal_live(tmp_path):
    """``paying_portal`` with SPEI as well: the sandbox SPEI bank and Banxico's CEP."""
    yield from serve_paying_portal(tmp_path, spei=True)


def launch_chromium():
    """Debian's Chromium through Playwright (a generator: yields the browser, closes it
    when resumed); FAILS (not skips) when it is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'{CHROMIUM} is missing: install Debian\'s chromium (apt-get install chromium) '
                    'to run the browser tests.', pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser():
    """Debian's Chromium through Playwright; FAILS (not skips) when it is missing."""
    yield from launch_chromium()


@pytest.fixture(scope='module')
def module_browser():
    """One Chromium for all the tests of a module that only look (each opens its own context)."""
    yield from launch_chromium()


@pytest.fixture(scope='module')
def module_spei_portal(tmp_path_factory):
    """``spei_portal_live`` once for a module whose tests set up their states once and only
    look at them afterwards."""
    yield from serve_paying_portal(tmp_path_factory.mktemp('spei-portal'), spei=True)


def sign_in(page, portal, login=CANON, password=GOOD_PASSWORD):
    """Sign in through the login page; returns the page where the portal landed."""
    page.goto(portal.url('/'))
    page.fill('input[name=login]', login)
    page.fill('input[name=password]', password)
    page.locator('main form button[type=submit]').first.click()
    page.wait_for_load_state()
    return page


def new_page(browser, portal, login=CANON, password=GOOD_PASSWORD, **context_options):
    """A new browser context with one page, signed in to ``portal``; close its ``context``."""
    context = browser.new_context(locale='es-MX', **context_options)
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, portal, login=login, password=password)
    return page


@pytest.fixture
def signed_in(browser, live_portal):
    """A Chromium page signed in as Canon Mexicana (viewport of a 360 px phone if asked)."""
    context = browser.new_context(locale='es-MX')
    page = context.new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_portal)
    try:
        yield page
    finally:
        context.close()
