"""What both sandbox banks share: test cards, misbehaviour switches, delivery, pages.

Nothing here imports the portal: the sandboxes are banks, not part of it.
"""
import dataclasses
import datetime
import html
import json
import logging
import re
import threading
import time
import uuid

import httpx
from webob import Request, Response
from webob.exc import HTTPMethodNotAllowed, HTTPNotFound, HTTPSeeOther

log = logging.getLogger('canonportal.sandbox')

# -- test cards (Mastercard Gateway convention) -------------------------------

TEST_CARDS = {
    '5123450000000008': 'MASTERCARD',
    '2223000000000007': 'MASTERCARD',
    '5111111111111118': 'MASTERCARD',
    '4508750015741019': 'VISA',
    '4012000033330026': 'VISA',
}
APPROVED = 'APPROVED'
DECLINED = 'DECLINED'
EXPIRED_CARD = 'EXPIRED_CARD'
TIMED_OUT = 'TIMED_OUT'
SYSTEM_ERROR = 'ACQUIRER_SYSTEM_ERROR'
CANCELLED = 'CANCELLED'
EXPIRY_OUTCOMES = {
    ('01', '39'): APPROVED,
    ('05', '39'): DECLINED,
    ('04', '27'): EXPIRED_CARD,
    ('08', '28'): TIMED_OUT,
    ('01', '37'): SYSTEM_ERROR,
}
CSC_RESULTS = {'100': 'MATCH', '101': 'NOT_PROCESSED', '102': 'NO_MATCH'}
MESSAGES_ES = {
    APPROVED: 'Transacción aprobada',
    DECLINED: 'Transacción declinada por el banco emisor',
    EXPIRED_CARD: 'Tarjeta vencida',
    TIMED_OUT: 'Tiempo de espera agotado con el emisor',
    SYSTEM_ERROR: 'Error en el sistema del adquirente',
    CANCELLED: 'Operación cancelada por el usuario',
}


@dataclasses.dataclass(frozen=True)
class CardOutcome:
    code: str
    brand: str
    csc: str
    masked: str

    @property
    def approved(self):
        return self.code == APPROVED


def parse_expiry(text):
    """``'01/39'``, ``'0139'``, ``'1/2039'`` → ``('01', '39')``; None when unreadable."""
    match = re.match(r'^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$', text or '')
    if not match:
        return None
    month, year = match.groups()
    return month.zfill(2), year[-2:]


def card_outcome(number, expiry, csc):
    """The outcome the test card asks for, or a Spanish error message (str)."""
    digits = re.sub(r'[\s-]', '', number or '')
    if digits not in TEST_CARDS:
        return 'Use una de las tarjetas de prueba.'
    when = parse_expiry(expiry)
    if when is None:
        return 'Escriba la fecha de vencimiento como MM/AA.'
    if when not in EXPIRY_OUTCOMES:
        return 'Use una fecha de prueba: 01/39, 05/39, 04/27, 08/28 o 01/37.'
    csc = (csc or '').strip()
    if not re.match(r'^\d{3,4}$', csc):
        return 'El código de seguridad tiene 3 o 4 dígitos.'
    csc_result = CSC_RESULTS.get(csc, 'MATCH')
    code = EXPIRY_OUTCOMES[when]
    if code == APPROVED and csc_result == 'NO_MATCH':
        code = DECLINED
    return CardOutcome(code=code, brand=TEST_CARDS[digits], csc=csc_result,
                       masked=digits[:6] + 'x' * (len(digits) - 10) + digits[-4:])


# -- misbehaviour switches --------------------------------------------------

#: name → (what it sets, value)
BEHAVIOURS = {
    'normal': ('notification', 'normal'),
    'drop': ('notification', 'drop'),
    'twice': ('notification', 'twice'),
    'late': ('notification', 'late'),
    'early': ('notification', 'early'),
    'decline': ('outcome', DECLINED),
    'cancel': ('outcome', CANCELLED),
    'timeout': ('timeout', True),
    'no_return': ('no_return', True),
}
BEHAVIOUR_LABELS = {
    'normal': 'Normal',
    'drop': 'Perder la notificación',
    'twice': 'Enviar la notificación dos veces',
    'late': 'Enviar la notificación tarde',
    'early': 'Notificar antes del regreso del navegador',
    'decline': 'Declinar siempre',
    'cancel': 'Cancelar siempre',
    'timeout': 'Tiempo agotado al iniciar (504)',
    'no_return': 'El navegador nunca regresa',
}


@dataclasses.dataclass(frozen=True)
class Behaviour:
    notification: str = 'normal'
    outcome: str = None
    timeout: bool = False
    no_return: bool = False
    delay: float = 5.0

    @classmethod
    def from_names(cls, names, delay=None):
        values = {}
        for name in names:
            if name not in BEHAVIOURS:
                raise ValueError(f'unknown behaviour {name!r}')
            key, value = BEHAVIOURS[name]
            values[key] = value
        if delay is not None:
            values['delay'] = float(delay)
        return cls(**values)

    def names(self):
        found = [self.notification] if self.notification != 'normal' else []
        if self.outcome == DECLINED:
            found.append('decline')
        if self.outcome == CANCELLED:
            found.append('cancel')
        if self.timeout:
            found.append('timeout')
        if self.no_return:
            found.append('no_return')
        return found or ['normal']


class Switches:
    """The sandbox's misbehaviour: one default, and overrides per order. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._default = Behaviour()
        self._orders = {}

    def set(self, names, order=None, delay=None):
        behaviour = Behaviour.from_names(names, delay)
        with self._lock:
            if order:
                self._orders[order] = behaviour
            else:
                self._default = behaviour
        return behaviour

    def reset(self):
        with self._lock:
            self._default = Behaviour()
            self._orders.clear()

    def for_order(self, order):
        with self._lock:
            return self._orders.get(order, self._default)

    def snapshot(self):
        with self._lock:
            return {'default': self._default.names(), 'delay': self._default.delay,
                    'orders': {k: v.names() for k, v in self._orders.items()}}


# -- deliveries to the merchant --------------------------------------------

class Deliverer:
    """POSTs to the merchant (webhooks, server-to-server post-backs), with a log.

    ``transport``: an httpx transport (tests give a WSGITransport); None = real HTTP.
    """

    def __init__(self, transport=None, timeout=10.0):
        self._client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._threads = []
        self.log = []

    def _record(self, entry):
        with self._lock:
            self.log.append(entry)

    def post(self, url, order, **kwargs):
        """One POST now, in this thread; the answer's status (or the error) is logged."""
        entry = {'order': order, 'url': url, 'at': time.time()}
        try:
            response = self._client.post(url, **kwargs)
            entry['status'] = response.status_code
        except httpx.HTTPError as error:
            entry['error'] = type(error).__name__
        log.info('sandbox delivery for order %s to %s: %s', order, url,
                 entry.get('status', entry.get('error')))
        self._record(entry)
        return entry

    def dropped(self, order, url):
        self._record({'order': order, 'url': url, 'at': time.time(), 'dropped': True})

    def send(self, mode, url, order, delay=0.0, **kwargs):
        """Deliver according to ``mode``: early (now), normal (thread), twice, late, drop."""
        if mode == 'drop' or not url:
            self.dropped(order, url)
            return
        if mode == 'early':
            self.post(url, order, **kwargs)
            return
        copies = 2 if mode == 'twice' else 1
        wait = delay if mode == 'late' else 0.0

        def work():
            if wait:
                time.sleep(wait)
            for _ in range(copies):
                self.post(url, order, **kwargs)

        thread = threading.Thread(target=work, name=f'sandbox-delivery-{order}', daemon=True)
        with self._lock:
            # Started before the list is pruned again: a thread not yet started is not
            # alive, and a concurrent send() would drop it from what wait() joins.
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)

    def wait(self, timeout=10.0):
        """Wait for the deliveries under way (tests)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return all(not t.is_alive() for t in threads)

    def entries(self, order=None):
        with self._lock:
            return [dict(e) for e in self.log if order is None or e['order'] == order]


# -- a tiny WSGI application frame ------------------------------------------

def esc(value):
    return html.escape('' if value is None else str(value), quote=True)


def new_id(prefix=''):
    return prefix + uuid.uuid4().hex[:24].upper()


class App:
    """A minimal WebOb router: ``routes`` is a list of (method, regex, handler name)."""

    routes = ()

    def __init__(self):
        self._compiled = [(method, re.compile(f'^{pattern}$'), name) for method, pattern, name in self.routes]
        self.switches = Switches()

    def __call__(self, environ, start_response):
        request = Request(environ)
        allowed = False
        for method, pattern, name in self._compiled:
            match = pattern.match(request.path_info)
            if not match:
                continue
            allowed = True
            if method == request.method or (method == 'GET' and request.method == 'HEAD'):
                try:
                    response = getattr(self, name)(request, **match.groupdict())
                except ValueError as error:
                    response = Response(str(error), status=400, content_type='text/plain')
                return response(environ, start_response)
        response = HTTPMethodNotAllowed() if allowed else HTTPNotFound()
        return response(environ, start_response)

    # The control endpoint: POST /_control with behaviour=..., order=..., delay=..., reset=1
    # (form or JSON); GET /_control shows the state (JSON when asked for it).

    def control(self, request):
        if request.content_type == 'application/json':
            data = request.json_body
            names = data.get('behaviour') or data.get('behaviours') or []
            names = [names] if isinstance(names, str) else list(names)
            order, delay, reset = data.get('order'), data.get('delay'), data.get('reset')
        else:
            names = request.POST.getall('behaviour')
            order = request.POST.get('order') or None
            delay = request.POST.get('delay') or None
            reset = request.POST.get('reset')
        if reset:
            self.switches.reset()
        if names:
            self.switches.set(names, order=order, delay=delay)
        if request.content_type == 'application/json' or wants_json(request):
            return self.json(self.control_state())
        back = request.POST.get('back') if request.content_type != 'application/json' else None
        target = back if back and back.startswith('/') and not back.startswith('//') else None
        return HTTPSeeOther(location=target or request.script_name + '/_control')

    def control_page(self, request):
        if wants_json(request):
            return self.json(self.control_state())
        state = self.control_state()
        body = ['<h1>Sandbox: interruptores</h1>', self.switch_form(request),
                '<h2>Estado</h2><pre>', esc(json.dumps(state, indent=2, ensure_ascii=False)), '</pre>']
        return self.page('Sandbox: interruptores', ''.join(body))

    def control_state(self):
        return {'switches': self.switches.snapshot(), 'deliveries': self.deliverer.entries()}

    def switch_form(self, request, order=None):
        options = ''.join(
            f'<label class="sw"><input type="checkbox" name="behaviour" value="{esc(k)}"> {esc(v)}</label>'
            for k, v in BEHAVIOUR_LABELS.items())
        here = request.script_name + request.path_info
        order_field = (f'<input type="hidden" name="order" value="{esc(order)}">' if order else
                       '<label>Orden (vacío = todas) <input name="order" size="10"></label>')
        return (f'<details class="sandbox"><summary>Sandbox: hacer que el banco se porte mal</summary>'
                f'<form method="post" action="{esc(request.script_name)}/_control">'
                f'<input type="hidden" name="back" value="{esc(here)}">{order_field}{options}'
                f'<label>Retraso (s) <input name="delay" value="5" size="3"></label>'
                f'<button type="submit">Aplicar</button> '
                f'<button type="submit" name="reset" value="1">Restablecer todo</button>'
                f'<p>Actual: {esc(", ".join(self.switches.for_order(order).names()))}</p>'
                f'</form></details>')

    def json(self, data, status=200):
        return Response(json.dumps(data, default=str), status=status, content_type='application/json',
                        charset='utf-8')

    css = ''
    brand = ''

    def page(self, title, body, status=200, head=''):
        text = (f'<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{esc(title)}</title><style>{BASE_CSS}{self.css}</style>{head}</head>'
                f'<body><header class="bank"><span class="logo">{self.brand}</span>'
                f'<span class="tag">SANDBOX · ambiente de pruebas</span></header>'
                f'<main>{body}</main></body></html>')
        response = Response(text, status=status, content_type='text/html', charset='utf-8')
        response.headers['Cache-Control'] = 'no-store'
        return response


def wants_json(request):
    accept = request.headers.get('Accept', '')
    return 'application/json' in accept and 'text/html' not in accept


def mexico_city_now():
    """``YYYY-MM-DD HH:MM:SS.fff`` in America/Mexico_City."""
    from zoneinfo import ZoneInfo
    now = datetime.datetime.now(ZoneInfo('America/Mexico_City'))
    return now.strftime('%Y-%m-%d %H:%M:%S.') + f'{now.microsecond // 1000:03d}'


BASE_CSS = """
body{margin:0;font-family:Arial,Helvetica,sans-serif;background:#f4f5f7;color:#222}
header.bank{display:flex;justify-content:space-between;align-items:center;padding:14px 24px;color:#fff}
header.bank .logo{font-size:22px;font-weight:bold;letter-spacing:.5px}
header.bank .tag{font-size:12px;opacity:.85}
main{max-width:560px;margin:24px auto;background:#fff;padding:24px 28px;border-radius:6px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
label{display:block;margin:10px 0 4px}
input{font-size:16px;padding:6px}
.row{display:flex;gap:12px}
.buttons{margin-top:18px;display:flex;gap:12px}
button{font-size:15px;padding:9px 18px;border:0;border-radius:4px;cursor:pointer}
.error{background:#fde8e8;color:#8a1010;padding:8px 12px;border-radius:4px}
.summary td{padding:3px 8px}
details.sandbox{margin-top:26px;font-size:13px;background:#fffbe6;padding:8px 12px;border:1px dashed #c9a400}
details.sandbox label.sw{display:block;margin:3px 0}
.hint{font-size:12px;color:#555}
"""
