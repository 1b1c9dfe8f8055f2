"""The portal with SPEI configured, the sandbox SPEI bank and the sandbox Banxico CEP,
all in process: the bank posts its deposit notifications to the portal through an
httpx WSGI transport and the portal asks the sandbox CEP the same way."""
import httpx
import pytest

from canonportal.sandbox import spei as spei_sandbox
from canonportal.sandbox.mount import Mount
from canonportal.spei import clabes
from portal_support import CANON, database_of, with_root
from payment_support import PORTAL, Banks, _not_found, built_paying_portal, paying_copy

SPEI_SECRET = 'test-spei-notification-secret'
CLABE_PREFIX = '6461801570'
COMPANY_CLABE = '646180157000000004'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')
MANUAL_TOTAL = '36870.80'


class SpeiBanks(Banks):
    """The card sandboxes plus the SPEI bank and Banxico's CEP, on one fake site."""

    def __init__(self):
        super().__init__()
        self.spei, self.cep = spei_sandbox.make_apps(f'{PORTAL}/spei/abono', SPEI_SECRET,
                                                     COMPANY_CLABE)
        self.site = Mount(_not_found, {'/sandbox/banamex': self.banamex, '/sandbox/bbva': self.bbva,
                                       '/sandbox/spei': self.spei, '/sandbox/cep': self.cep})
        import webtest
        self.browser = webtest.TestApp(self.site)

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
