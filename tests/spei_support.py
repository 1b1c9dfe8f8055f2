"""The portal with SPEI configured, the sandbox SPEI bank and the sandbox Banxico CEP,
all in process: the bank posts its deposit notifications to the portal through an
httpx WSGI transport and the portal asks the sandbox CEP the same way (each question
to the CEP is counted in ``banks.cep_queries``)."""
import datetime
from decimal import Decimal

import httpx
import pytest

from canonportal import clock
from canonportal.sandbox import spei as spei_sandbox
from canonportal.sandbox.mount import Mount
from canonportal.spei import abono, clabes
from canonportal.spei.credit import Transfer
from portal_support import CANON, GOOD_PASSWORD, database_of, with_root
from payment_support import PORTAL, Banks, built_paying_portal, no_bank_page, paying_copy

SPEI_SECRET = 'test-spei-notification-secret'
CLABE_PREFIX = '6461801570'
COMPANY_CLABE = '646180157000000004'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')
MANUAL_TOTAL = '36870.80'


class SpeiBanks(Banks):
    """The card sandboxes plus the SPEI bank and Banxico's CEP, on one fake site."""

    def __init__(self):
        super().__init__()
        # The bank's clock is the portal's (frozen_clock moves both).
        self.spei, self.cep = spei_sandbox.make_apps(f'{PORTAL}/spei/abono', SPEI_SECRET,
                                                     COMPANY_CLABE, now=lambda: clock.utcnow())
        self.cep_queries = []
        self.site = Mount(no_bank_page, {'/sandbox/banamex': self.banamex, '/sandbox/bbva': self.bbva,
                                       '/sandbox/spei': self.spei, '/sandbox/cep': self.counted_cep})
        import webtest
        self.browser = webtest.TestApp(self.site)

    def counted_cep(self, environ, start_response):
        """Banxico's CEP site, keeping the path of every question asked."""
        self.cep_queries.append(environ.get('PATH_INFO', ''))
        return self.cep(environ, start_response)

    def connect_to(self, portal_app):
        super().connect_to(portal_app)
        from canonportal.sandbox.common import Deliverer
        self.spei.deliverer = Deliverer(httpx.WSGITransport(app=portal_app))

    def wait_for_deliveries(self):
        super().wait_for_deliveries()
        self.spei.deliverer.wait()

    def send_transfer(self, clabe, amount, reference='', concept='', switches=(), bank='40012'):
        """A tester's transfer on the sandbox bank's page; returns its clave de rastreo."""
        page = self.browser.get('/sandbox/spei/')
        form = page.forms[0]
        form['banco'] = bank
        form['cuenta_beneficiaria'] = clabe
        form['monto'] = amount
        form['referencia'] = reference
        form['concepto'] = concept
        for box in form.fields.get('sw', []):
            if box._value in switches:  # noqa: SLF001
                box.checked = True
        done = form.submit()
        assert done.status_int == 200, done.text
        self.wait_for_deliveries()
        return done.html.find(id='clave').get_text(strip=True)


def spei_settings():
    return {
        'canonportal.banks': 'banamex bbva spei',
        'spei.clabe_prefix': CLABE_PREFIX,
        'spei.beneficiary': 'Canon Mexicana SA de CV',
        'spei.bank': 'STP',
        'spei.notification_secret': SPEI_SECRET,
        'spei.cep_url': 'https://bank.test/sandbox/cep',
        'spei.cep_review_after_minutes': '60',
    }


# In a test module marked ``spei`` (``pytestmark = pytest.mark.spei``), payment_support's
# ``banks`` and ``portal`` are these: its ``payer`` and ``portal_mailer`` then pay at the
# portal with SPEI.

@pytest.fixture
def spei_banks():
    return SpeiBanks()


@pytest.fixture(scope='session')
def built_spei_portal(tmp_path_factory):
    """The paying portal with SPEI configured, built once per test process."""
    return built_paying_portal(tmp_path_factory.mktemp('spei-template'), **spei_settings())


@pytest.fixture
def spei_portal(tmp_path, banks, frozen_clock, built_spei_portal):
    """The paying portal with SPEI configured, talking to the SPEI sandboxes too."""
    app = paying_copy(built_spei_portal, banks, tmp_path)
    yield app
    database_of(app).close()


def customer_clabe(app, rfc=CANON):
    number = with_root(app, lambda root: root.customers[rfc].number)
    return clabes.ClabeRange(CLABE_PREFIX).clabe_for(number)


def a_transfer(tracking_key, amount, clabe, bank='40012', day=None, **fields):
    """A Transfer as a bank would notify it (today, from BBVA México unless told)."""
    fields.setdefault('ordering_account', '012180001234567899' if bank == '40012' else '')
    return Transfer(tracking_key, day or clock.mexico_today(), Decimal(amount), clabe,
                    ordering_bank=bank, source='abono', **fields)


def post_signed(bank_server, body, secret=SPEI_SECRET):
    """POST ``body`` to /spei/abono signed as the bank signs; the portal's answer."""
    return bank_server.post('/spei/abono', body, headers={
        abono.SIGNATURE_HEADER: abono.signature(secret, body)},
        content_type='application/json', status='*')


def post_abono(bank_server, transfer):
    """The bank's signed deposit notification of ``transfer``; the portal's answer."""
    return post_signed(bank_server, abono.abono_body(transfer))


def pay_by_spei(payer, *folios):
    """Tick, "Transferencia SPEI", ACEPTAR: the payment page with the instructions."""
    answer = payer.pay('spei', *folios)
    assert answer.status_int == 303, answer.text[:500]
    return payer.get(answer.location).maybe_follow()


def transfers_of(app):
    """Every transfer recorded: ``{key: (state, amount, related keys, payment)}``."""
    return with_root(app, lambda root: {
        key: (t.state, f'{t.amount:.2f}', tuple(t.related), t.payment_reference)
        for key, t in root.transfers.items()})


def queue_of(app):
    """The keys in the staff's queue "Transferencias sin aplicar"."""
    return with_root(app, lambda root: list(root.transfers.unmatched))


def total_of(app, reference):
    """A payment's amount in pesos, as the transfer must carry it ('27794.52')."""
    return with_root(app, lambda root: f'{root.payments_by_reference[reference].total_mxn:.2f}')


def claim(payer, reference, status=303, **fields):
    """"Ya pagué" on payment ``reference`` with ``fields``; the payment page after it."""
    page = payer.get(f'/customers/{CANON}/payments/{reference}/')
    form = next(f for f in page.forms.values() if f.action.endswith('@@ya-pague'))
    for name, value in fields.items():
        form[name] = value
    return form.submit(status=status).follow()


def sign_in_again(payer):
    """Canon Mexicana signs in again (after the clock moved past its session)."""
    payer.reset()
    payer.login(CANON, GOOD_PASSWORD)


def on_real_time(payer, frozen_clock):
    """The sandbox bank dates transfers by the real clock: the portal's is set there too
    (and the customer signs in again)."""
    frozen_clock.now = datetime.datetime.now(datetime.timezone.utc)
    sign_in_again(payer)
