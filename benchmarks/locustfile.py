"""Customers paying at once through a sandbox bank: a locust scenario (run by benchmarks.run).

Each simulated customer signs in, waits until every other one has signed in,
then makes one whole payment round trip as a browser would: SALDOS → ticks
its first open invoices → bank button (confirmation) → ACEPTAR (the portal
reserves the invoices and sends the browser to the bank) → the sandbox bank's
page → pays with the approving test card → back to the portal → result page.
Then it stops; when the last one is done, locust quits. A customer whose sign-in is
refused (or times out) is reported as ``sign-in refused`` and counts as done, so the
others neither wait for it nor hang; every request gives up after ``HTTP_TIMEOUT``.

Environment (set by benchmarks.run):

* ``BENCH_PAYERS``  JSON file: ``{"password": ..., "rfcs": [...]}``
* ``BENCH_BANK``    ``banamex`` (default) or ``bbva``
* ``BENCH_PICKS``   invoices per payment (default 3)
* ``BENCH_TABS``    sessions per customer paying the same invoices at once
  (default 1; with 2, one of each pair must be refused with 409: a race)
* ``BENCH_RESULT``  where to write the outcome as JSON

Run alone: ``locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 300s
--host http://127.0.0.1:PORT`` with ``-u`` = customers × tabs.
"""
import functools
import json
import os
import time
from urllib.parse import urlsplit

import gevent
import lxml.html
from gevent.event import Event
from locust import HttpUser, events, task
from locust.exception import StopUser

APPROVING_CARD = {'card_number': '5123450000000008', 'expiry': '01/39', 'csc': '100',
                  'name_on_card': 'CARGA DE PRUEBA'}

with open(os.environ.get('BENCH_PAYERS', 'payers.json'), encoding='utf-8') as _handle:
    PAYERS = json.load(_handle)
BANK = os.environ.get('BENCH_BANK', 'banamex')
PICKS = int(os.environ.get('BENCH_PICKS', '3'))
TABS = int(os.environ.get('BENCH_TABS', '1'))
RESULT = os.environ.get('BENCH_RESULT')
#: Seconds to connect and to wait for an answer: a browser that gives up, never a hang.
HTTP_TIMEOUT = (10, 120)

state = {'next': 0, 'signed_in': 0, 'arrived': 0, 'finished': 0, 'expected': None,
         'outcomes': {}, 'first_start': None, 'last_end': None, 'errors': [], 'flow_ms': []}
everyone_signed_in = Event()


class Refused(Exception):
    """The portal refused the reservation (409): another tab took the invoices."""


def form_fields(form):
    """What a browser submits from ``form`` (lxml skips disabled, unticked and button controls)."""
    return form.form_values()


class Payer(HttpUser):
    """One customer's browser (``TABS`` of them share a customer)."""

    def on_start(self):
        index = state['next']
        state['next'] += 1
        state['expected'] = self.environment.runner.target_user_count
        self.rfc = PAYERS['rfcs'][(index // TABS) % len(PAYERS['rfcs'])]
        self.client.headers['User-Agent'] = 'canonportal-benchmark'
        self.client.request = functools.partial(self.client.request, timeout=HTTP_TIMEOUT)
        try:
            self.sign_in()
        except Exception as error:  # noqa: BLE001 - reported, and this customer is done
            self.arrive()
            self.done('sign-in refused', f'{self.rfc}: {type(error).__name__}: {error}')
            raise StopUser() from None
        state['signed_in'] += 1
        self.arrive()

    def sign_in(self):
        page = self.client.get('/', name='0 inicio de sesión (formulario)')
        token = lxml.html.fromstring(page.text).xpath('//input[@name="csrf_token"]/@value')[0]
        answer = self.client.post('/login', {'login': self.rfc, 'password': PAYERS['password'],
                                             'csrf_token': token},
                                  name='0 inicio de sesión', allow_redirects=False)
        if answer.status_code != 303:
            raise RuntimeError(f'could not sign in: HTTP {answer.status_code}')

    def arrive(self):
        """Signed in or turned away: the burst starts once every customer is one or the other."""
        state['arrived'] += 1
        if state['arrived'] >= state['expected']:
            everyone_signed_in.set()

    def done(self, outcome, error=None):
        state['outcomes'][outcome] = state['outcomes'].get(outcome, 0) + 1
        if error and len(state['errors']) < 20:
            state['errors'].append(error[:500])
        state['finished'] += 1
        if state['finished'] >= state['expected']:
            gevent.spawn_later(0.1, self.environment.runner.quit)

    @task
    def pay_once(self):
        everyone_signed_in.wait(timeout=300)
        started = time.monotonic()
        if state['first_start'] is None:
            state['first_start'] = time.time()
        error = None
        try:
            outcome = self.round_trip()
        except Refused:
            outcome = 'refused'
        except Exception as failure:  # noqa: BLE001 - every failure is counted and reported
            outcome, error = 'error', f'{self.rfc}: {type(failure).__name__}: {failure}'
        elapsed = (time.monotonic() - started) * 1000
        events.request.fire(request_type='FLOW', name='ida y vuelta del pago', response_time=elapsed,
                            response_length=0, exception=None if outcome != 'error' else RuntimeError(outcome),
                            context={})
        state['flow_ms'].append(elapsed)
        state['last_end'] = time.time()
        self.done(outcome, error)
        raise StopUser()

    def expect(self, response, status, what):
        if response.status_code != status:
            raise RuntimeError(f'{what}: HTTP {response.status_code}, expected {status}')
        return response

    def round_trip(self):
        base = f'/customers/{self.rfc}'
        page = self.expect(self.client.get(f'{base}/saldos', name='1 saldos'), 200, 'SALDOS')
        doc = lxml.html.fromstring(page.text)
        form = doc.get_element_by_id('saldos-form')
        keys = [box.get('value') for box in form.xpath('.//input[@name="pick"]')
                if box.get('disabled') is None][:PICKS]
        if not keys:
            raise RuntimeError('nothing to pay on SALDOS')
        fields = [(n, v) for n, v in form_fields(form) if n != 'pick']
        fields += [('pick', key) for key in keys] + [('bank', BANK)]
        confirm = self.expect(self.client.post(f'{base}/pagar', fields, name='2 pagar: confirmación'),
                              200, 'confirmation')
        if '¿Desea continuar con el pago?' not in confirm.text:
            raise RuntimeError('no confirmation dialog')
        last = lxml.html.fromstring(confirm.text).forms[-1]
        fields = form_fields(last) + [('confirmado', '1')]
        with self.client.post(f'{base}/pagar', fields, name='3 pagar: reserva',
                              allow_redirects=False, catch_response=True) as reserved:
            if reserved.status_code == 409 and TABS > 1:
                reserved.success()   # the race a second tab must lose
                raise Refused()
            if reserved.status_code not in (200, 303):
                reserved.failure(f'HTTP {reserved.status_code}')
                raise RuntimeError(f'reservation: HTTP {reserved.status_code}')
        if BANK == 'banamex':
            return self.at_banamex(reserved)
        return self.at_bbva(reserved)

    def at_banamex(self, reserved):
        location = reserved.headers['Location']
        checkout = self.expect(self.client.get(location, name='4 banco: página'), 200, 'bank page')
        form = lxml.html.fromstring(checkout.text).forms[0]
        fields = dict(APPROVING_CARD, action='pay')
        action = urlsplit(location)._replace(path=form.get('action')).geturl()
        # The bank sends the browser back to the portal, which answers with the result page.
        result = self.expect(self.client.post(action, fields, name='5 banco: pago, retorno y resultado'),
                             200, 'result page')
        return self.outcome_of(result)

    def at_bbva(self, reserved):
        doc = lxml.html.fromstring(reserved.text)
        redirect = doc.get_element_by_id('bank-form')
        page = self.expect(self.client.post(redirect.get('action'), form_fields(redirect),
                                            name='4 banco: página'), 200, 'bank page')
        form = lxml.html.fromstring(page.text).forms[0]
        action = urlsplit(page.url)._replace(path=form.get('action')).geturl()
        receipt = self.expect(self.client.post(action, dict(APPROVING_CARD, action='pay'),
                                               name='5 banco: pago'), 200, 'bank receipt')
        back = lxml.html.fromstring(receipt.text).get_element_by_id('postback')
        result = self.expect(self.client.post(back.get('action'), form_fields(back),
                                              name='6 retorno y resultado'), 200, 'result page')
        return self.outcome_of(result)

    @staticmethod
    def outcome_of(result):
        if 'Pago aprobado' in result.text:
            return 'approved'
        if result.headers.get('Refresh'):
            return 'pending'
        raise RuntimeError('result page without an approval')


@events.quitting.add_listener
def write_result(environment, **_kwargs):
    if not RESULT:
        return
    steps = {}
    for (name, method), entry in sorted(environment.stats.entries.items()):
        steps[name] = {
            'method': method, 'requests': entry.num_requests, 'failures': entry.num_failures,
            'p50_ms': entry.get_response_time_percentile(0.5),
            'p95_ms': entry.get_response_time_percentile(0.95),
            'p99_ms': entry.get_response_time_percentile(0.99),
            'mean_ms': round(entry.avg_response_time, 1),
        }
    span = None
    if state['first_start'] and state['last_end']:
        span = state['last_end'] - state['first_start']
    with open(RESULT, 'w', encoding='utf-8') as handle:
        json.dump({'bank': BANK, 'tabs': TABS, 'picks': PICKS, 'users': state['expected'],
                   'signed_in': state['signed_in'], 'finished': state['finished'],
                   'outcomes': state['outcomes'], 'seconds': span, 'errors': state['errors'],
                   'failures': environment.stats.total.num_failures, 'steps': steps}, handle, indent=1)
