"""A sandbox BBVA: the bank's side of Multipagos Express.

Relative to where it is mounted (e.g. /sandbox/bbva):

* ``POST /clb/endpoint/{alias}`` — receives the merchant's auto-submitted form,
  checks ``mp_account`` and ``mp_signature`` (HMAC-SHA256 of mp_order +
  mp_reference + mp_amount) and refuses bad ones with an error page;
* ``GET|POST /clb/pay/{token}`` — the page in BBVA blue where the tester types a card;
* the answer: an auto-submitted post-back to ``mp_urlsuccess`` (approved) or
  ``mp_urlfailure`` (anything else), signed with HMAC-SHA256 of mp_order +
  mp_reference + mp_amount + mp_authorization, with ``mp_order``,
  ``mp_reference`` and ``mp_amount`` exactly as received;
* ``GET|POST /_control`` — misbehaviour switches. Here the post-back *is* the
  notification: ``twice`` adds a server-to-server POST of the same post-back,
  ``drop``/``no_return`` show the bank's receipt and post nothing, ``late``
  posts server to server after the delay, ``early`` posts server to server
  before the browser's post-back, ``timeout`` answers the endpoint with 504.

Response codes: 00 approved, 05 declined, 54 expired card, 68 timed out,
96 system error, 99 cancelled by the customer.
"""
import hashlib
import hmac
import itertools
import re
import secrets
import threading

from webob.exc import HTTPSeeOther

from .common import (
    APPROVED, CANCELLED, DECLINED, EXPIRED_CARD, MESSAGES_ES, SYSTEM_ERROR, TEST_CARDS, TIMED_OUT,
    App, Deliverer, card_outcome, esc, mexico_city_now,
)

RESPONSE_CODES = {
    APPROVED: '00',
    DECLINED: '05',
    EXPIRED_CARD: '54',
    TIMED_OUT: '68',
    SYSTEM_ERROR: '96',
    CANCELLED: '99',
}
REQUIRED = ('mp_account', 'mp_product', 'mp_order', 'mp_reference', 'mp_node', 'mp_concept',
            'mp_amount', 'mp_customername', 'mp_currency', 'mp_urlsuccess', 'mp_urlfailure',
            'mp_signature')
_AMOUNT = re.compile(r'^\d{1,12}\.\d{2}$')


def sign(secret, *parts):
    return hmac.new(secret.encode('utf-8'), ''.join(parts).encode('utf-8'), hashlib.sha256).hexdigest()


class BBVASandbox(App):
    """The sandbox BBVA Multipagos Express (WSGI application)."""

    brand = 'BBVA'
    css = """
header.bank{background:#072146}
header.bank .logo{font-size:28px;letter-spacing:2px}
h1{color:#004481;font-size:21px}
button.pay{background:#1973b8;color:#fff}
button.cancel{background:#d4edfc;color:#004481}
.receipt td{padding:3px 10px}
"""
    routes = (
        ('POST', r'/clb/endpoint/(?P<alias>[A-Za-z0-9_.-]+)', 'endpoint'),
        ('GET', r'/clb/pay/(?P<token>[A-Za-z0-9]+)', 'pay_page'),
        ('POST', r'/clb/pay/(?P<token>[A-Za-z0-9]+)', 'pay_submit'),
        ('GET', r'/_control', 'control_page'),
        ('POST', r'/_control', 'control'),
        ('GET', r'/?', 'index'),
    )

    def __init__(self, account, secret, transport=None):
        super().__init__()
        self.account = account
        self._secret = secret
        self.deliverer = Deliverer(transport)
        self._lock = threading.Lock()
        self._folio = itertools.count(100001)
        self.sales = {}

    def index(self, request):
        return self.page('Sandbox BBVA', (
            '<h1>Sandbox BBVA · Multipagos Express</h1>'
            f'<p><a href="{esc(request.script_name)}/_control">Interruptores del sandbox</a></p>'))

    def _refuse(self, why, status=400):
        return self.page('Solicitud rechazada', '<h1>Solicitud rechazada</h1>'
                         f'<p>{esc(why)}</p><p>Regrese al sitio del comercio e intente de nuevo.</p>',
                         status=status)

    def endpoint(self, request, alias):
        fields = {name: request.POST.get(name) for name in REQUIRED}
        missing = [name for name, value in fields.items() if value is None]
        if missing:
            return self._refuse('Faltan datos en la solicitud: ' + ', '.join(missing))
        if not hmac.compare_digest(fields['mp_account'].encode(), self.account.encode()):
            return self._refuse('Comercio no registrado.')
        expected = sign(self._secret, fields['mp_order'], fields['mp_reference'], fields['mp_amount'])
        if not hmac.compare_digest(expected.encode(), fields['mp_signature'].encode('utf-8', 'replace')):
            return self._refuse('Firma inválida.', status=403)
        if not _AMOUNT.match(fields['mp_amount']) or not re.match(r'^https?://', fields['mp_urlsuccess']) \
                or not re.match(r'^https?://', fields['mp_urlfailure']):
            return self._refuse('Datos de la solicitud inválidos.')
        if self.switches.for_order(fields['mp_order']).timeout:
            return self._refuse('Tiempo de espera agotado. Intente más tarde.', status=504)
        token = secrets.token_hex(16)
        with self._lock:
            self.sales[token] = {
                'request': {k: v for k, v in request.POST.items() if k.startswith('mp_')},
                'done': None,
            }
        return HTTPSeeOther(location=f'{request.script_name}/clb/pay/{token}')

    def pay_page(self, request, token, error=None, status=200):
        sale = self.sales.get(token)
        if sale is None:
            return self._refuse('La operación no existe o ya expiró.', status=404)
        if sale['done']:
            return self._receipt(sale['done'], None)
        mp = sale['request']
        cards = ''.join(f'<li>{esc(n)} ({esc(b)})</li>' for n, b in TEST_CARDS.items())
        body = f"""
<h1>Pago con tarjeta</h1>
<p>Puedes realizar pagos con tarjetas de otros bancos a través de BBVA.</p>
<table class="summary">
<tr><td>Comercio</td><td>{esc(mp.get('mp_account'))}</td></tr>
<tr><td>Orden</td><td>{esc(mp.get('mp_order'))}</td></tr>
<tr><td>Referencia</td><td>{esc(mp.get('mp_reference'))}</td></tr>
<tr><td>Concepto</td><td>{esc(mp.get('mp_concept'))}</td></tr>
<tr><td>Cliente</td><td>{esc(mp.get('mp_customername'))}</td></tr>
<tr><td>Importe</td><td><strong>${float(mp['mp_amount']):,.2f} {'USD' if mp.get('mp_currency') == '2' else 'MXN'}</strong></td></tr>
</table>
{f'<p class="error" role="alert">{esc(error)}</p>' if error else ''}
<form method="post" action="{esc(request.script_name)}/clb/pay/{esc(token)}">
<label for="card">Número de tarjeta</label>
<input id="card" name="card_number" inputmode="numeric" autocomplete="off" size="22">
<div class="row">
<div><label for="expiry">Vencimiento (MM/AA)</label>
<input id="expiry" name="expiry" size="6" placeholder="01/39" autocomplete="off"></div>
<div><label for="csc">CVV</label>
<input id="csc" name="csc" size="5" inputmode="numeric" autocomplete="off"></div>
</div>
<label for="name">Nombre del titular</label>
<input id="name" name="name_on_card" size="30" autocomplete="off">
<div class="buttons">
<button class="pay" type="submit" name="action" value="pay">Pagar</button>
<button class="cancel" type="submit" name="action" value="cancel">Cancelar</button>
</div>
</form>
<p class="hint">Tarjetas de prueba:</p><ul class="hint">{cards}</ul>
<p class="hint">Vencimiento: 01/39 aprobada · 05/39 declinada · 04/27 vencida · 08/28 tiempo agotado ·
01/37 error del sistema. CVV: 100 coincide · 101 no procesado · 102 no coincide (declina).</p>
{self.switch_form(request, mp.get('mp_order'))}
"""
        return self.page('BBVA: pago', body, status=status)

    def pay_submit(self, request, token):
        sale = self.sales.get(token)
        if sale is None or sale['done']:
            return self.pay_page(request, token)
        mp = sale['request']
        order = mp['mp_order']
        behaviour = self.switches.for_order(order)
        outcome = None
        if request.POST.get('action') == 'cancel' or behaviour.outcome == CANCELLED:
            code, pan, holder = CANCELLED, '', ''
        else:
            outcome = card_outcome(request.POST.get('card_number'), request.POST.get('expiry'),
                                   request.POST.get('csc'))
            if isinstance(outcome, str):
                return self.pay_page(request, token, error=outcome, status=400)
            code = DECLINED if behaviour.outcome == DECLINED else outcome.code
            pan = outcome.masked.replace('x', '*')
            holder = (request.POST.get('name_on_card') or '')[:60]
        with self._lock:
            if sale['done']:
                return self._receipt(sale['done'], None)
            folio = str(next(self._folio))
            authorization = f'{secrets.randbelow(999999) + 1:06d}' if code == APPROVED else ''
            answer = {
                'mp_account': mp['mp_account'],
                'mp_order': order,
                'mp_reference': mp['mp_reference'],
                'mp_amount': mp['mp_amount'],
                'mp_currency': mp.get('mp_currency', '1'),
                'mp_response': RESPONSE_CODES[code],
                'mp_responsemsg': MESSAGES_ES[code],
                'mp_authorization': authorization,
                'mp_signature': sign(self._secret, order, mp['mp_reference'], mp['mp_amount'], authorization),
                'mp_pan': pan,
                'mp_cardholdername': holder,
                'mp_cardType': 'CREDITO' if outcome else '',
                'mp_paymentMethod': 'TDX' if outcome else '',
                'mp_bankname': 'BBVA MEXICO' if outcome else '',
                'mp_bankcode': '012' if outcome else '',
                'mp_date': mexico_city_now(),
                'mp_folio': folio,
                'mp_saleid': secrets.token_hex(6).upper(),
                'mp_trx_historyid': str(secrets.randbelow(10**9)),
            }
            url = mp['mp_urlsuccess'] if code == APPROVED else mp['mp_urlfailure']
            sale['done'] = answer
        mode = behaviour.notification
        if behaviour.no_return or mode == 'drop':
            self.deliverer.dropped(order, url)
            return self._receipt(answer, None)
        if mode == 'early':
            self.deliverer.send('early', url, order, data=answer)
        elif mode == 'twice':
            self.deliverer.send('normal', url, order, data=answer)
        elif mode == 'late':
            self.deliverer.send('late', url, order, delay=behaviour.delay, data=answer)
            return self._receipt(answer, None)
        return self._receipt(answer, url)

    def _receipt(self, answer, url):
        """The bank's receipt; with ``url``, also the auto-submitted post-back to the merchant."""
        approved = answer['mp_response'] == '00'
        rows = [('Resultado', answer['mp_responsemsg']), ('Orden', answer['mp_order']),
                ('Importe', answer['mp_amount']), ('Fecha', answer['mp_date']),
                ('Folio', answer['mp_folio'])]
        if approved:
            rows.insert(1, ('Autorización', answer['mp_authorization']))
        if answer['mp_pan']:
            rows.append(('Tarjeta', answer['mp_pan']))
        table = ''.join(f'<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>' for k, v in rows)
        body = [f'<h1>{"Pago aprobado" if approved else "Pago no realizado"}</h1>',
                f'<table class="receipt">{table}</table>']
        head = ''
        if url:
            hidden = ''.join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in answer.items())
            body.append(f'<form id="postback" method="post" action="{esc(url)}">{hidden}'
                        '<div class="buttons"><button class="pay" type="submit">Regresar al comercio</button>'
                        '</div></form>')
            head = '<script>addEventListener("DOMContentLoaded",function(){document.getElementById("postback").submit()})</script>'
        else:
            body.append('<p>Puede cerrar esta ventana.</p>')
        return self.page('BBVA: resultado', ''.join(body), head=head)


def make_app(account, secret, transport=None):
    """The sandbox BBVA as a WSGI app."""
    return BBVASandbox(account, secret, transport)
