"""A sandbox Citibanamex: the bank's side of Mastercard Gateway Hosted Checkout.

Speaks, relative to where it is mounted (e.g. /sandbox/banamex):

* ``POST /api/rest/version/{N}/merchant/{id}/session`` — Basic auth
  ``merchant.{id}`` + API password; answers ``session.id`` and ``successIndicator``.
* ``GET /checkout/pay/{session}`` — the hosted page where the tester types a test card.
* ``GET /api/rest/version/{N}/merchant/{id}/order/{orderId}`` — order retrieval.
* webhooks to the configured notification URL with ``X-Notification-Secret``.
* ``GET|POST /_control`` — the misbehaviour switches (see ``common.BEHAVIOURS``).

State lives in memory and is lost on restart.
"""
import base64
import binascii
import datetime
import hmac
import json
import re
import secrets
import threading
from decimal import Decimal
from urllib.parse import urlencode

from webob.exc import HTTPSeeOther

from .common import (
    APPROVED, CANCELLED, DECLINED, MESSAGES_ES, TEST_CARDS, App, Deliverer, card_outcome, esc,
)

_AMOUNT = re.compile(r'^\d{1,12}(\.\d{1,2})?$')
_ORDER_ID = re.compile(r'^[A-Za-z0-9_.-]{1,40}$')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')[:-4] + 'Z'


def _error(cause, explanation, field=None):
    error = {'cause': cause, 'explanation': explanation}
    if field:
        error.update(field=field, validationType='INVALID')
    return {'error': error, 'result': 'ERROR'}


class BanamexSandbox(App):
    """The sandbox Citibanamex (WSGI application)."""

    brand = 'citi<b>banamex</b>'
    css = """
header.bank{background:#002d72;border-bottom:4px solid #d52b1e}
h1{color:#002d72;font-size:21px}
button.pay{background:#d52b1e;color:#fff}
button.cancel{background:#e6e9ef;color:#002d72}
"""
    routes = (
        ('POST', r'/api/rest/version/(?P<version>\d+)/merchant/(?P<merchant>[^/]+)/session', 'create_session'),
        ('GET', r'/api/rest/version/(?P<version>\d+)/merchant/(?P<merchant>[^/]+)/order/(?P<order_id>[^/]+)',
         'retrieve_order'),
        ('GET', r'/checkout/pay/(?P<session_id>[A-Za-z0-9]+)', 'checkout_page'),
        ('POST', r'/checkout/pay/(?P<session_id>[A-Za-z0-9]+)', 'checkout_submit'),
        ('GET', r'/_control', 'control_page'),
        ('POST', r'/_control', 'control'),
        ('GET', r'/?', 'index'),
    )

    def __init__(self, merchant_id, api_password, notification_url=None, notification_secret=None,
                 transport=None):
        super().__init__()
        self.merchant_id = merchant_id
        self._api_password = api_password
        self.notification_url = notification_url
        self._notification_secret = notification_secret or ''
        self.deliverer = Deliverer(transport)
        self._lock = threading.Lock()
        self.sessions = {}
        self.orders = {}

    # -- API ---------------------------------------------------------------

    def _authorized(self, request, merchant):
        if not hmac.compare_digest(merchant.encode(), self.merchant_id.encode()):
            return False
        auth = request.headers.get('Authorization', '')
        if not auth.startswith('Basic '):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return False
        user_ok = hmac.compare_digest(user.encode(), f'merchant.{self.merchant_id}'.encode())
        password_ok = hmac.compare_digest(password.encode(), self._api_password.encode())
        return user_ok and password_ok

    def _unauthorized(self):
        response = self.json(_error('INVALID_REQUEST', 'Invalid credentials.'), status=401)
        response.headers['WWW-Authenticate'] = 'Basic realm="sandbox"'
        return response

    def create_session(self, request, version, merchant):
        if not self._authorized(request, merchant):
            return self._unauthorized()
        try:
            body = json.loads(request.body)
            order = body['order']
            interaction = body['interaction']
            order_id = str(order['id'])
            amount = str(order['amount'])
            currency = str(order['currency'])
            return_url = str(interaction['returnUrl'])
        except (ValueError, KeyError, TypeError):
            return self.json(_error('INVALID_REQUEST', 'Missing order or interaction fields'), status=400)
        expected_operation = 'INITIATE_CHECKOUT' if int(version) >= 63 else 'CREATE_CHECKOUT_SESSION'
        if body.get('apiOperation') != expected_operation:
            return self.json(_error('INVALID_REQUEST', f'apiOperation must be {expected_operation}',
                                    'apiOperation'), status=400)
        if not _ORDER_ID.match(order_id):
            return self.json(_error('INVALID_REQUEST', 'Invalid order id', 'order.id'), status=400)
        if not _AMOUNT.match(amount) or Decimal(amount) <= 0:
            return self.json(_error('INVALID_REQUEST', 'Invalid amount', 'order.amount'), status=400)
        if not re.match(r'^https?://', return_url):
            return self.json(_error('INVALID_REQUEST', 'Invalid returnUrl', 'interaction.returnUrl'), status=400)
        if self.switches.for_order(order_id).timeout:
            return self.json(_error('SERVER_BUSY', 'Gateway timeout'), status=504)
        with self._lock:
            existing = self.orders.get(order_id)
            if existing and existing['status'] == 'CAPTURED':
                return self.json(_error('INVALID_REQUEST', 'Order already captured', 'order.id'), status=400)
            session_id = 'SESSION' + secrets.token_hex(14).upper()
            indicator = secrets.token_hex(8)
            self.sessions[session_id] = {
                'id': session_id,
                'order_id': order_id,
                'amount': Decimal(amount).quantize(Decimal('0.01')),
                'currency': currency,
                'description': str(order.get('description', ''))[:127],
                'return_url': return_url,
                'cancel_url': str(interaction.get('cancelUrl') or ''),
                'merchant_name': str((interaction.get('merchant') or {}).get('name', '')),
                'success_indicator': indicator,
                'version': secrets.token_hex(5),
                'done': False,
            }
        return self.json({
            'checkoutMode': 'WEBSITE',
            'merchant': self.merchant_id,
            'result': 'SUCCESS',
            'session': {'id': session_id, 'updateStatus': 'SUCCESS',
                        'version': self.sessions[session_id]['version']},
            'successIndicator': indicator,
        }, status=201)

    def retrieve_order(self, request, version, merchant, order_id):
        if not self._authorized(request, merchant):
            return self._unauthorized()
        with self._lock:
            order = self.orders.get(order_id)
            data = self._order_json(order) if order else None
        if data is None:
            return self.json(_error('INVALID_REQUEST', 'Unable to find order', 'orderId'), status=400)
        return self.json(data)

    def _order_json(self, order, with_transactions=True):
        data = {
            'id': order['id'],
            'merchant': self.merchant_id,
            'amount': float(order['amount']),
            'currency': order['currency'],
            'description': order['description'],
            'creationTime': order['creationTime'],
            'status': order['status'],
            'result': order['result'],
            'totalAuthorizedAmount': float(order['amount']) if order['status'] == 'CAPTURED' else 0,
            'totalCapturedAmount': float(order['amount']) if order['status'] == 'CAPTURED' else 0,
        }
        if order.get('card'):
            data['sourceOfFunds'] = {'type': 'CARD', 'provided': {'card': dict(order['card'])}}
        if with_transactions:
            data['transaction'] = [json.loads(json.dumps(t)) for t in order['transactions']]
        return data

    # -- hosted checkout page ----------------------------------------------

    def index(self, request):
        return self.page('Sandbox Citibanamex', (
            '<h1>Sandbox Citibanamex</h1><p>Mastercard Gateway · Hosted Checkout de pruebas.</p>'
            f'<p><a href="{esc(request.script_name)}/_control">Interruptores del sandbox</a></p>'))

    def checkout_page(self, request, session_id, error=None, status=200):
        session = self.sessions.get(session_id)
        if session is None:
            return self.page('Sesión no válida', '<h1>Sesión no válida</h1>'
                             '<p>La sesión de pago no existe o ya expiró.</p>', status=404)
        order = self.orders.get(session['order_id'])
        if session['done'] or (order and order['status'] == 'CAPTURED'):
            return self.page('Pago ya procesado', '<h1>Este pago ya fue procesado</h1>'
                             '<p>Regrese al sitio del comercio.</p>')
        cards = ''.join(f'<li>{esc(n)} ({esc(b)})</li>' for n, b in TEST_CARDS.items())
        body = f"""
<h1>Pago con tarjeta</h1>
<table class="summary">
<tr><td>Comercio</td><td><strong>{esc(session['merchant_name'])}</strong></td></tr>
<tr><td>Orden</td><td>{esc(session['order_id'])}</td></tr>
<tr><td>Concepto</td><td>{esc(session['description'])}</td></tr>
<tr><td>Importe</td><td><strong>${session['amount']:,.2f} {esc(session['currency'])}</strong></td></tr>
</table>
{f'<p class="error" role="alert">{esc(error)}</p>' if error else ''}
<form method="post" action="{esc(request.script_name)}/checkout/pay/{esc(session_id)}">
<label for="card">Número de tarjeta</label>
<input id="card" name="card_number" inputmode="numeric" autocomplete="off" size="22" required>
<div class="row">
<div><label for="expiry">Vencimiento (MM/AA)</label>
<input id="expiry" name="expiry" size="6" placeholder="01/39" autocomplete="off"></div>
<div><label for="csc">Código de seguridad</label>
<input id="csc" name="csc" size="5" inputmode="numeric" autocomplete="off"></div>
</div>
<label for="name">Nombre en la tarjeta</label>
<input id="name" name="name_on_card" size="30" autocomplete="off">
<div class="buttons">
<button class="pay" type="submit" name="action" value="pay">Pagar</button>
<button class="cancel" type="submit" name="action" value="cancel" formnovalidate>Cancelar</button>
</div>
</form>
<p class="hint">Tarjetas de prueba: </p><ul class="hint">{cards}</ul>
<p class="hint">Vencimiento: 01/39 aprobada · 05/39 declinada · 04/27 vencida · 08/28 tiempo agotado ·
01/37 error del adquirente. CSC: 100 coincide · 101 no procesado · 102 no coincide (declina).</p>
{self.switch_form(request, session['order_id'])}
"""
        return self.page('Citibanamex: pago', body, status=status)

    def checkout_submit(self, request, session_id):
        session = self.sessions.get(session_id)
        if session is None or session['done']:
            return self.checkout_page(request, session_id)
        behaviour = self.switches.for_order(session['order_id'])
        if request.POST.get('action') == 'cancel' or behaviour.outcome == CANCELLED:
            return self._cancel(session, behaviour)
        outcome = card_outcome(request.POST.get('card_number'), request.POST.get('expiry'),
                               request.POST.get('csc'))
        if isinstance(outcome, str):
            return self.checkout_page(request, session_id, error=outcome, status=400)
        code = DECLINED if behaviour.outcome == DECLINED else outcome.code
        with self._lock:
            order = self._order_for(session)
            if order['status'] == 'CAPTURED':
                session['done'] = True
                return self.checkout_page(request, session_id)
            approved = code == APPROVED
            authorization = f'{secrets.randbelow(999999) + 1:06d}' if approved else None
            txn = {
                'result': 'SUCCESS' if approved else 'FAILURE',
                'response': {'gatewayCode': code, 'acquirerCode': '00' if approved else '05',
                             'cardSecurityCode': {'gatewayCode': outcome.csc}},
                'transaction': {
                    'id': str(len(order['transactions']) + 1),
                    'type': 'PAYMENT',
                    'amount': float(order['amount']),
                    'currency': order['currency'],
                    'receipt': f'{secrets.randbelow(10**12):012d}',
                },
                'timeOfRecord': _now(),
            }
            if approved:
                txn['transaction']['authorizationCode'] = authorization
            order['transactions'].append(txn)
            # The test cards are credit cards; the gateway reports the funding method.
            order['card'] = {'brand': outcome.brand, 'number': outcome.masked,
                             'fundingMethod': 'CREDIT',
                             'nameOnCard': (request.POST.get('name_on_card') or '')[:60]}
            order['status'] = 'CAPTURED' if approved else 'FAILED'
            order['result'] = 'SUCCESS' if approved else 'FAILURE'
            session['done'] = True
            notification = dict(self._order_json(order, with_transactions=False))
            body = {'order': notification, 'transaction': txn['transaction'],
                    'response': txn['response'], 'result': txn['result'],
                    'timeOfRecord': txn['timeOfRecord']}
        self._notify(session['order_id'], body, behaviour)
        indicator = session['success_indicator'] if approved else secrets.token_hex(8)
        if behaviour.no_return:
            return self._no_return(MESSAGES_ES[code])
        return self._back(session['return_url'], indicator, session['version'])

    def _order_for(self, session):
        order = self.orders.get(session['order_id'])
        if order is None:
            order = self.orders[session['order_id']] = {
                'id': session['order_id'], 'creationTime': _now(), 'transactions': [],
                'status': 'INITIATED', 'result': 'PENDING', 'card': None,
            }
        # The latest session states the order's amount, currency and description.
        order.update(amount=session['amount'], currency=session['currency'],
                     description=session['description'])
        return order

    def _cancel(self, session, behaviour):
        with self._lock:
            order = self._order_for(session)
            if order['status'] != 'CAPTURED':
                order['status'] = 'CANCELLED'
                order['result'] = 'FAILURE'
            session['done'] = True
        if behaviour.no_return:
            return self._no_return(MESSAGES_ES[CANCELLED])
        if session['cancel_url']:
            return HTTPSeeOther(location=session['cancel_url'])
        return self._back(session['return_url'], secrets.token_hex(8), session['version'])

    def _back(self, url, indicator, version):
        separator = '&' if '?' in url else '?'
        return HTTPSeeOther(location=url + separator + urlencode(
            {'resultIndicator': indicator, 'sessionVersion': version}))

    def _no_return(self, message):
        return self.page('Tiempo agotado', '<h1>No fue posible regresar al comercio</h1>'
                         f'<p>{esc(message)}.</p><p>La conexión con el sitio del comercio expiró.</p>')

    def _notify(self, order_id, body, behaviour):
        headers = {
            'Content-Type': 'application/json',
            'X-Notification-Secret': self._notification_secret,
            'X-Notification-Id': secrets.token_hex(12),
            'X-Notification-Attempt': '1',
        }
        self.deliverer.send(behaviour.notification, self.notification_url, order_id,
                            delay=behaviour.delay, content=json.dumps(body).encode(), headers=headers)


def make_app(merchant_id, api_password, notification_url=None, notification_secret=None, transport=None):
    """The sandbox Citibanamex as a WSGI app."""
    return BanamexSandbox(merchant_id, api_password, notification_url, notification_secret, transport)


__all__ = ['BanamexSandbox', 'make_app']
