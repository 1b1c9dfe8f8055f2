"""A portal wired to the sandbox banks in process, and a customer's browser that pays.

The portal reaches the banks (session API, order retrieval) through an httpx
WSGI transport; the sandboxes reach the portal (webhooks, BBVA server-to-server
post-backs) the same way. Nothing is mocked: both sides speak the protocol.
"""
import contextlib
import datetime
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import webtest
from pyramid_mailer import get_mailer

from canonportal.bootstrap import add_demo_data
from canonportal.sandbox import banamex as banamex_sandbox
from canonportal.sandbox import bbva as bbva_sandbox
from canonportal.sandbox.common import Deliverer
from canonportal.sandbox.mount import Mount
from portal_support import (
    CANON, Client, built_once, database_of, file_storage_uri, make_app, on_a_copy, with_root)

PORTAL = 'https://portal.example.mx'
BANK = 'https://bank.test'
BANAMEX_MERCHANT = 'TESTCANON01'
BANAMEX_PASSWORD = 'test-banamex-api-password'
BANAMEX_WEBHOOK_SECRET = 'test-banamex-webhook-secret'
BBVA_ACCOUNT = '8001'
BBVA_SECRET = 'test-bbva-secret'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')
#: The reference of the first payment made in a test (the demo data's counter stands at 228).
FIRST = '229'


def no_bank_page(environ, start_response):
    """What a bank's site answers at any other address."""
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'no such bank page']


class Banks:
    """Both sandbox banks on one fake site, https://bank.test/sandbox/<bank>/…"""

    def __init__(self):
        self.banamex = banamex_sandbox.make_app(
            BANAMEX_MERCHANT, BANAMEX_PASSWORD,
            notification_url=f'{PORTAL}/banco/banamex/notificacion',
            notification_secret=BANAMEX_WEBHOOK_SECRET)
        self.bbva = bbva_sandbox.make_app(BBVA_ACCOUNT, BBVA_SECRET)
        self.site = Mount(no_bank_page, {'/sandbox/banamex': self.banamex, '/sandbox/bbva': self.bbva})
        self.browser = webtest.TestApp(self.site)

    def connect_to(self, portal_app):
        """Let the sandboxes deliver notifications to ``portal_app``."""
        transport = httpx.WSGITransport(app=portal_app)
        self.banamex.deliverer = Deliverer(transport)
        self.bbva.deliverer = Deliverer(transport)

    def behave(self, bank, behaviour, **extra):
        """Set a misbehaviour switch through the sandbox's own control endpoint."""
        self.browser.post(f'/sandbox/{bank}/_control', dict(behaviour=behaviour, **extra))

    def wait_for_deliveries(self):
        for sandbox in (self.banamex, self.bbva):
            for thread in list(getattr(sandbox.deliverer, '_threads', [])):
                thread.join(timeout=10)


def bank_settings(transport):
    return {
        'canonportal.banks': 'banamex bbva',
        'banamex.base_url': f'{BANK}/sandbox/banamex',
        'banamex.api_version': '73',
        'banamex.merchant_id': BANAMEX_MERCHANT,
        'banamex.api_password': BANAMEX_PASSWORD,
        'banamex.notification_secret': BANAMEX_WEBHOOK_SECRET,
        'banamex.merchant_name': 'Canon Mexicana',
        'bbva.endpoint_url': f'{BANK}/sandbox/bbva/clb/endpoint/canon',
        'bbva.account': BBVA_ACCOUNT,
        'bbva.secret': BBVA_SECRET,
        'canonportal.bank_transport': transport,
    }


def make_paying_portal(folder, banks, today=datetime.date(2026, 11, 29), **overrides):
    """The portal with the demo data, talking to ``banks``."""
    settings = bank_settings(httpx.WSGITransport(app=banks.site))
    settings['zodbconn.uri'] = file_storage_uri(folder)
    settings.update(overrides)
    app = make_app(**settings)
    with_root(app, lambda root: add_demo_data(root, today=today))
    banks.connect_to(app)
    return app


class BankSite:
    """The banks a portal built once per test session talks to: each test's own sandboxes
    (``site`` is set to them when the test starts)."""

    site = None

    def __call__(self, environ, start_response):
        return self.site(environ, start_response)


def built_paying_portal(folder, **overrides):
    """``(app, template folder, BankSite)``: a paying portal built once, on a template of
    the demo database (see ``portal_support.on_a_copy``)."""
    site = BankSite()
    settings = bank_settings(httpx.WSGITransport(app=site))
    settings.update(overrides)
    app, template = built_once(folder, **settings)
    return app, template, site


def paying_copy(built, banks, folder):
    """The once-built paying portal on a fresh copy of its demo database, its banks ``banks``."""
    app, template, site = built
    site.site = banks.site
    on_a_copy(app, template, folder)
    banks.connect_to(app)
    return app


class Payer(Client):
    """A customer's browser: the portal is this client, the banks are ``banks.browser``."""

    banks = None

    def choose(self, *folios, rfc=CANON):
        """SALDOS with the given invoices ticked (amounts left to the server)."""
        page = self.get(f'/customers/{rfc}/saldos')
        form = page.forms['saldos-form']
        for field in form.fields.get('pick', []):
            if field._value in folios:  # noqa: SLF001 - WebTest's checkbox value
                field.checked = True
        return form

    def pay(self, bank, *folios, rfc=CANON):
        """Tick, click the bank, ACEPTAR on the confirmation page; returns the portal's answer."""
        form = self.choose(*folios, rfc=rfc)
        # The bank buttons carry formaction="…/pagar", which WebTest does not follow.
        button = form.html.find('button', attrs={'name': 'bank', 'value': bank})
        assert button is not None, f'no button for {bank}'
        fields = form.submit_fields() + [('bank', bank)]
        confirm = self.post(urlsplit(button['formaction']).path, fields)
        assert '¿Desea continuar con el pago?' in confirm.text, confirm.text[:2000]
        return confirm.forms[len(confirm.forms) - 1].submit('confirmado')

    def at_bank(self, answer, expiry='01/39', action='pay', csc='100'):
        """Fill the sandbox bank's page with a test card; follow the bank back to the portal.

        Returns the portal's response to the return (a 303 to the result page) or
        the bank's own last page when it does not send the browser back.
        """
        bank = self.banks.browser
        if answer.status_int in (302, 303):
            page = bank.get(urlsplit(answer.location).path)
        else:
            form = answer.html.find('form', id='bank-form')
            fields = {i['name']: i.get('value', '') for i in form.find_all('input')}
            page = bank.post(urlsplit(form['action']).path, fields)
        while page.status_int in (302, 303) and not page.location.startswith(PORTAL):
            page = bank.get(urlsplit(page.location).path)
        form = page.forms[0]
        form['card_number'] = '5123450000000008'
        form['expiry'] = expiry
        if 'csc' in form.fields:
            form['csc'] = csc
        done = form.submit('action', value=action)
        if done.status_int in (302, 303):
            target = urlsplit(done.location)
            assert done.location.startswith(PORTAL), done.location
            return self.get(target.path + ('?' + target.query if target.query else ''))
        back = done.html.find('form')
        if back is None or not back.get('action', '').startswith(PORTAL):
            return done
        fields = {i['name']: i.get('value', '') for i in back.find_all('input')}
        return self.post(urlsplit(back['action']).path, fields)


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- what a payment test looks at and does ------------------------------------------------------

def new_payer(portal, banks):
    client = Payer(portal, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    client.banks = banks
    return client


@pytest.fixture
def bank_server(portal):
    """What the banks' servers look like to the portal: no session, no cookies."""
    return webtest.TestApp(portal, extra_environ={'HTTP_HOST': 'portal.example.mx'})


def payment_of(app, reference=FIRST):
    """What a payment looks like in the database: a plain dict."""
    def read(root):
        payment = root.payments_by_reference[reference]
        return {'state': payment.state, 'bank_reference': payment.bank_reference,
                'history': [(old, new, source) for _when, old, new, source, _note in payment.history],
                'notes': [note for *_rest, note in payment.history],
                'pending': reference in root.pending_payments}
    return with_root(app, read)


def in_progress(app, rfc=CANON):
    """The references in the customer's own index of payments in progress (the banner's),
    after checking it lists exactly its pending and requested payments, each the object the
    root's ``pending_payments`` lists too."""
    def read(root):
        customer = root.customers[rfc]
        listed = sorted(customer.in_progress.keys(), key=int)
        assert listed == sorted((reference for reference, payment in customer.payments.items()
                                 if payment.state in ('pending', 'requested')), key=int)
        assert all(root.pending_payments.get(reference) is customer.in_progress[reference]
                   for reference in listed)
        assert sorted(reference for reference, payment in root.pending_payments.items()
                      if payment.customer_rfc == rfc) == sorted(listed)
        return listed
    return with_root(app, read)


def state_of(app, reference=FIRST):
    return payment_of(app, reference)['state']


def in_transit(app, folio, rfc=CANON):
    return with_root(app, lambda root: root.customers[rfc].invoices[folio].in_transit)


def snapshot(app):
    """Everything a payment could change: counter, payments, every invoice's reservations."""
    def read(root):
        found = {'counter': root.payment_counter.value,
                 'pending': sorted(root.pending_payments.keys())}
        for customer in root.customers.values():
            for key, invoice in customer.invoices.items():
                found[(customer.rfc, key)] = (tuple(invoice.reservations), invoice.balance)
            for reference, payment in customer.payments.items():
                found[(customer.rfc, 'payment', reference)] = (
                    payment.state, len(payment.history), payment.bank_reference)
        return found
    return with_root(app, read)


def receipts(mailer):
    return [m for m in mailer.outbox if m.subject.startswith('Recibo de pago')]


def transitions(app, reference=FIRST):
    return [h for h in payment_of(app, reference)['history'] if h[0] is not None]


BACKWARDS = {('approved', 'pending'), ('approved', 'declined'), ('approved', 'cancelled'),
             ('approved', 'expired'), ('declined', 'pending'), ('cancelled', 'pending'),
             ('declined', 'approved'), ('cancelled', 'approved'), ('expired', 'approved'),
             ('expired', 'pending')}


def backwards(app, reference=FIRST):
    return [h for h in transitions(app, reference) if (h[0], h[1]) in BACKWARDS]


def confirmation(payer, bank, amounts, rfc=CANON):
    """SALDOS with ``amounts`` ({folio: None (all), ('mxn'|'usd', text)}) and a bank button:
    the confirmation page."""
    form = payer.choose(*amounts, rfc=rfc)
    for folio, amount in amounts.items():
        if amount is not None:
            field, text = amount
            form[f'{field}-{folio}'] = text
    fields = form.submit_fields() + [('bank', bank)]
    confirm = payer.post(f'/customers/{rfc}/pagar', fields)
    assert confirm.html.find(id='confirm-title') is not None, confirm.text[:2000]
    return confirm


def accept(confirm, status='*'):
    """ACEPTAR on a confirmation page."""
    return confirm.forms[len(confirm.forms) - 1].submit('confirmado', status=status)


def result_page(payer, back):
    """The result page the bank's return sends the browser to."""
    assert back.status_int == 303, back.status
    assert urlsplit(back.location).path.startswith(f'/customers/{CANON}/payments/')
    return payer.get(urlsplit(back.location).path)


def facts(page):
    """The result page's facts as {label: value}."""
    dl = page.html.find('dl', class_='facts')
    return {dt.get_text(strip=True): dt.find_next_sibling('dd').get_text(' ', strip=True)
            for dt in dl.find_all('dt')}


def bbva_sign(secret, *parts):
    return hmac.new(secret.encode(), ''.join(parts).encode(), hashlib.sha256).hexdigest()


def bbva_postback(order=FIRST, amount='36870.80', authorization='482913', response='00',
                  reference=CANON, currency='1', secret=BBVA_SECRET, **changes):
    """A BBVA post-back as the bank signs it (the test holds the sandbox merchant's secret)."""
    fields = {
        'mp_account': '8001', 'mp_order': order, 'mp_reference': reference, 'mp_amount': amount,
        'mp_currency': currency, 'mp_response': response,
        'mp_responsemsg': 'Transacción aprobada' if response == '00' else 'Declinada',
        'mp_authorization': authorization,
        'mp_signature': bbva_sign(secret, order, reference, amount, authorization),
        'mp_pan': '512345******0008', 'mp_date': '2026-11-29 12:00:00.000', 'mp_folio': '100001',
    }
    fields.update(changes)
    return fields


def misbehave(banks, bank, *behaviours, **extra):
    """Switch on several misbehaviours at once, through the sandbox's control endpoint."""
    banks.browser.post(f'/sandbox/{bank}/_control', dict(behaviour=list(behaviours), **extra))
    state = banks.browser.get(f'/sandbox/{bank}/_control', headers={'Accept': 'application/json'})
    assert sorted(state.json['switches']['default']) == sorted(behaviours)


def bank_answer(banks, order=FIRST):
    """The post-back the sandbox BBVA produced for ``order`` (signed by the bank)."""
    answers = [sale['done'] for sale in banks.bbva.sales.values()
               if sale['done'] and sale['done']['mp_order'] == order]
    assert len(answers) == 1
    return dict(answers[0])


# -- fixtures of the modules that pay through the sandboxes (registered by conftest) ----------

@pytest.fixture
def banks(request):
    """Both sandbox card banks, in process; in a module marked ``spei`` the SPEI bank and
    Banxico's CEP service too (spei_support's ``spei_banks``)."""
    if request.node.get_closest_marker('spei'):
        return request.getfixturevalue('spei_banks')
    return Banks()


@pytest.fixture(scope='session')
def built_portal(tmp_path_factory):
    """The paying portal, built once per test process (``portal`` serves copies of its data)."""
    return built_paying_portal(tmp_path_factory.mktemp('paying-template'))


@pytest.fixture
def portal(request, tmp_path, banks, frozen_clock):
    """The portal with the demo data paying at ``banks`` (with SPEI in a ``spei`` module)."""
    if request.node.get_closest_marker('spei'):
        yield request.getfixturevalue('spei_portal')
        return
    app = paying_copy(request.getfixturevalue('built_portal'), banks, tmp_path)
    yield app
    database_of(app).close()


@pytest.fixture
def portal_mailer(portal):
    """The paying portal's testing mailer (conftest's ``mailer`` belongs to ``app``)."""
    mailer = get_mailer(portal.registry)
    mailer.outbox.clear()
    return mailer


@pytest.fixture
def payer(portal, banks, portal_mailer):
    """Canon Mexicana at the paying portal, activated (the mailed link confirms its email)."""
    client = Payer(portal, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    client.banks = banks
    client.sign_in_active()
    portal_mailer.outbox.clear()
    return client


def payments_loaded(monkeypatch):
    """The references of the payments the database loads from now on (filled as it does)."""
    from persistent import Persistent

    from canonportal.resources import Payment
    loaded = []

    def unghost(self, state):
        loaded.append(state.get('reference'))
        return Persistent.__setstate__(self, state)
    monkeypatch.setattr(Payment, '__setstate__', unghost)
    return loaded


@contextlib.contextmanager
def objects_loaded(app):
    """Yields a list that gets, for each request served meanwhile, the number of persistent
    objects its ZODB connection loaded (unghosted), from the connection's own counter."""
    from pyramid_zodbconn import ZODBConnectionOpened, ZODBConnectionWillClose
    counts = []

    def opened(event):
        event.conn.getTransferCounts(clear=True)

    def closing(event):
        counts.append(event.conn.getTransferCounts()[0])
    registry = app.registry
    registry.registerHandler(opened, (ZODBConnectionOpened,))
    registry.registerHandler(closing, (ZODBConnectionWillClose,))
    try:
        yield counts
    finally:
        registry.unregisterHandler(opened, (ZODBConnectionOpened,))
        registry.unregisterHandler(closing, (ZODBConnectionWillClose,))
