"""Browser tests: the portal served by waitress in a thread, driven by Debian's Chromium.

Import the fixtures into a test module to use them::

    from browser_support import browser, live_portal, signed_in  # noqa: F401

``live_portal`` serves a fresh FileStorage with the demo data (rate for today
included) and Canon Mexicana already activated with :data:`conftest.GOOD_PASSWORD`.
A missing /usr/bin/chromium makes the tests FAIL, never skip: CI must not pass
silently without a browser.
"""
import os
import threading

import pytest
from waitress.server import create_server

from canonportal import selection
from canonportal.bootstrap import add_demo_data
from canonportal.resources import ACTIVE
from canonportal.signin import set_password
from conftest import CANON, GOOD_PASSWORD, file_storage_uri, make_app, with_root

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


class LivePortal:
    """A served portal: ``url(path)``, the WSGI ``app`` and its database helpers."""

    def __init__(self, app, base_url):
        self.app = app
        self.base_url = base_url

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


def serve(app):
    """Serve ``app`` on a free local port in a daemon thread; returns (server, base URL)."""
    server = create_server(app, host='127.0.0.1', port=0, threads=4, clear_untrusted_proxy_headers=True)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, name='waitress-test', daemon=True)
    thread.start()
    return server, thread, f'http://127.0.0.1:{port}'


@pytest.fixture
def live_portal(tmp_path):
    """The portal with the demo data on a committed FileStorage, served over HTTP."""
    base = None
    app = make_app(**{'zodbconn.uri': file_storage_uri(tmp_path),
                      'canonportal.public_url': 'http://127.0.0.1'})

    def setup(root):
        add_demo_data(root, today=selection.mexico_today())
        activate_customer(root)

    with_root(app, setup)
    server, thread, base = serve(app)
    try:
        yield LivePortal(app, base)
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def browser():
    """Debian's Chromium through Playwright; FAILS (not skips) when it is missing."""
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


def sign_in(page, portal, login=CANON, password=GOOD_PASSWORD):
    """Sign in through the login page; returns the page where the portal landed."""
    page.goto(portal.url('/'))
    page.fill('input[name=login]', login)
    page.fill('input[name=password]', password)
    page.locator('main form button[type=submit]').first.click()
    page.wait_for_load_state()
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
