"""A sandbox SPEI bank and a sandbox of Banxico's CEP service, sharing one ledger.

The bank (mounted at e.g. /sandbox/spei), relative to where it is mounted:

* ``GET /`` — a page where a tester "sends a transfer": ordering bank, account, name
  and RFC, the beneficiary CLABE, amount, numeric reference and concept, and the
  switches (lose the notification, send it twice, send it late, sign it wrongly;
  the CEP not available yet, the CEP with another amount);
* ``POST /transferir`` — settles the transfer: records it in the ledger (for the
  day's statement and for the CEP service) and posts the STP-style "abono" JSON
  to the merchant's notification URL, signed with HMAC-SHA256 of the body under
  the shared secret (``X-Spei-Signature: sha256=<hex>``);
* ``GET /estado-de-cuenta?fecha=YYYY-MM-DD&formato=camt053|mt940`` — the day's
  statement of the transfers received;
* ``GET /transferencias`` — the ledger as JSON (tests).

The CEP service (mounted at e.g. /sandbox/cep) answers Banxico's protocol:
``POST /valida.do`` with the transfer's data, then ``GET /descarga.do?formato=XML``
or ``PDF`` in the same cookie session.

Nothing here imports the portal: the bank and Banxico speak only the protocols.
"""
import datetime
import hashlib
import hmac
import io
import itertools
import json
import secrets
import threading
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import quoteattr

from webob import Response

from .common import App, Deliverer, esc

PARTICIPANTS = {'40012': 'BBVA MEXICO', '40002': 'BANAMEX', '40014': 'SANTANDER',
                '40072': 'BANORTE', '40021': 'HSBC', '90646': 'STP'}
#: The 3-digit CLABE bank code of each participant above.
CLABE_BANKS = {'012': '40012', '002': '40002', '014': '40014', '072': '40072', '021': '40021',
               '646': '90646'}
DEFAULT_ORDERING_ACCOUNT = '012180001234567899'


def clabe_control(first17):
    total = sum(int(d) * w for d, w in zip(first17, itertools.cycle((3, 7, 1))))
    return str((10 - total % 10) % 10)


def valid_clabe(text):
    return (len(text) == 18 and text.isascii() and text.isdigit()
            and clabe_control(text[:17]) == text[17])


class Ledger:
    """The transfers the sandbox bank settled, and what the CEP service says of them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._transfers = []
        self._sequence = itertools.count(1)

    def add(self, transfer):
        with self._lock:
            transfer['id'] = next(self._sequence)
            self._transfers.append(transfer)
        return transfer

    def all(self, day=None):
        with self._lock:
            return [dict(t) for t in self._transfers if day is None or t['fecha'] == day]

    def find(self, day, tracking_key):
        with self._lock:
            for transfer in self._transfers:
                if transfer['fecha'] == day and transfer['claveRastreo'] == tracking_key:
                    return dict(transfer)
        return None


def sign(secret, body):
    return 'sha256=' + hmac.new(secret.encode('utf-8'), body, hashlib.sha256).hexdigest()


class SpeiBankSandbox(App):
    """The receiving bank: takes a tester's transfer, notifies the merchant, keeps statements."""

    brand = 'SPEI'
    css = 'header.bank{background:#3b3b6d} form.transfer input, form.transfer select{width:100%}'
    routes = (
        ('GET', r'/?', 'form_page'),
        ('POST', r'/transferir', 'send_transfer'),
        ('GET', r'/estado-de-cuenta', 'statement'),
        ('GET', r'/transferencias', 'ledger_json'),
    )

    def __init__(self, ledger, notification_url, secret, account, company='CANON MEXICANA',
                 transport=None, now=None):
        super().__init__()
        #: The bank's own clock (tests set the portal's frozen one, so both agree on the day).
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.ledger = ledger
        self.notification_url = notification_url
        self.secret = secret
        self.account = account
        self.company = company
        self.deliverer = Deliverer(transport)

    def form_page(self, request, error='', values=None):
        values = values or {}

        def field(name, label, default='', hint=''):
            value = values.get(name, default)
            return (f'<label for="{name}">{esc(label)}</label>'
                    f'<input id="{name}" name="{name}" value="{esc(value)}">'
                    + (f'<p class="hint">{esc(hint)}</p>' if hint else ''))

        banks = ''.join(f'<option value="{code}"{" selected" if code == values.get("banco", "40012") else ""}>'
                        f'{esc(name)}</option>' for code, name in PARTICIPANTS.items())
        switches = ''.join(
            f'<label class="sw"><input type="checkbox" name="sw" value="{k}"> {esc(v)}</label>'
            for k, v in (('drop', 'Perder la notificación al portal'),
                         ('twice', 'Enviar la notificación dos veces'),
                         ('late', 'Enviar la notificación 5 s tarde'),
                         ('bad_signature', 'Firmar la notificación con otro secreto'),
                         ('cep_not_yet', 'CEP: todavía no disponible'),
                         ('cep_other_amount', 'CEP: con otro monto')))
        body = ('<h1>Enviar una transferencia SPEI</h1>'
                + (f'<p class="error" role="alert">{esc(error)}</p>' if error else '')
                + f'<form class="transfer" method="post" action="{esc(request.script_name)}/transferir">'
                f'<label for="banco">Banco ordenante</label><select id="banco" name="banco">{banks}</select>'
                + field('cuenta_ordenante', 'Cuenta ordenante (CLABE)', DEFAULT_ORDERING_ACCOUNT)
                + field('nombre_ordenante', 'Nombre del ordenante', 'CLIENTE DE PRUEBA SA DE CV')
                + field('rfc_ordenante', 'RFC del ordenante', 'CME930812PW3')
                + field('cuenta_beneficiaria', 'CLABE del beneficiario', '',
                        'La CLABE que muestran las instrucciones del portal.')
                + field('monto', 'Monto (MXN)', '', 'Por ejemplo 36870.80')
                + field('referencia', 'Referencia numérica', '', 'Hasta 7 dígitos.')
                + field('concepto', 'Concepto de pago', '')
                + f'<details class="sandbox"><summary>Sandbox: interruptores</summary>{switches}</details>'
                f'<div class="buttons"><button type="submit" style="background:#3b3b6d;color:#fff">'
                f'Enviar transferencia</button></div></form>'
                f'<p><a href="{esc(request.script_name)}/estado-de-cuenta?formato=camt053">'
                f'Estado de cuenta de hoy (camt.053)</a> · '
                f'<a href="{esc(request.script_name)}/estado-de-cuenta?formato=mt940">(MT940)</a></p>')
        return self.page('Sandbox SPEI', body, status=400 if error else 200)

    def send_transfer(self, request):
        form = request.POST
        values = {name: (form.get(name) or '').strip() for name in (
            'banco', 'cuenta_ordenante', 'nombre_ordenante', 'rfc_ordenante',
            'cuenta_beneficiaria', 'monto', 'referencia', 'concepto')}
        switches = set(form.getall('sw'))
        error = self._problem(values)
        if error:
            return self.form_page(request, error, values)
        now = self.now()
        local_day = (now - datetime.timedelta(hours=6)).date()    # Mexico City, no DST
        tracking = f'SBX{local_day:%Y%m%d}{secrets.randbelow(10 ** 9):09d}'
        amount = Decimal(values['monto']).quantize(Decimal('0.01'))
        transfer = self.ledger.add({
            'fecha': local_day.isoformat(), 'claveRastreo': tracking, 'monto': f'{amount:.2f}',
            'institucionOrdenante': values['banco'],
            'institucionBeneficiaria': CLABE_BANKS.get(values['cuenta_beneficiaria'][:3], '90646'),
            'cuentaOrdenante': values['cuenta_ordenante'], 'nombreOrdenante': values['nombre_ordenante'],
            'rfcCurpOrdenante': values['rfc_ordenante'] or 'ND',
            'cuentaBeneficiario': values['cuenta_beneficiaria'], 'conceptoPago': values['concepto'],
            'referenciaNumerica': values['referencia'] or '0',
            'tsLiquidacion': str(int(now.timestamp() * 1000)),
            'cep': 'not_yet' if 'cep_not_yet' in switches else
                   'other_amount' if 'cep_other_amount' in switches else 'normal'})
        body = self.abono(transfer)
        secret = self.secret + '-wrong' if 'bad_signature' in switches else self.secret
        mode = ('drop' if 'drop' in switches else 'twice' if 'twice' in switches
                else 'late' if 'late' in switches else 'normal')
        self.deliverer.send(mode, self.notification_url, tracking, delay=5.0, content=body,
                            headers={'Content-Type': 'application/json',
                                     'X-Spei-Signature': sign(secret, body)})
        page = (f'<h1>Transferencia enviada</h1>'
                f'<table class="summary"><tr><td>Clave de rastreo</td><td id="clave">{esc(tracking)}</td></tr>'
                f'<tr><td>Monto</td><td>${esc(f"{amount:,.2f}")} MXN</td></tr>'
                f'<tr><td>CLABE beneficiaria</td><td>{esc(values["cuenta_beneficiaria"])}</td></tr>'
                f'<tr><td>Referencia</td><td>{esc(values["referencia"])}</td></tr></table>'
                f'<p class="hint">Notificación al portal: {esc(mode)}.</p>'
                f'<p><a href="{esc(request.script_name)}/">Enviar otra</a></p>')
        return self.page('Transferencia enviada', page)

    @staticmethod
    def _problem(values):
        if values['banco'] not in PARTICIPANTS:
            return 'Elija el banco ordenante.'
        if not valid_clabe(values['cuenta_ordenante']):
            return 'La cuenta ordenante no es una CLABE válida.'
        if not valid_clabe(values['cuenta_beneficiaria']):
            return 'La CLABE del beneficiario no es válida (18 dígitos con dígito verificador).'
        try:
            amount = Decimal(values['monto'].replace(',', ''))
        except InvalidOperation:
            return 'Escriba el monto, por ejemplo 36870.80.'
        if not Decimal('0.01') <= amount <= Decimal('999999999.99') or amount != amount.quantize(Decimal('0.01')):
            return 'El monto es mayor que cero, con a lo más dos decimales.'
        values['monto'] = f'{amount:.2f}'
        if values['referencia'] and not (values['referencia'].isdigit() and len(values['referencia']) <= 7):
            return 'La referencia numérica tiene hasta 7 dígitos.'
        if len(values['concepto']) > 40:
            return 'El concepto tiene hasta 40 caracteres.'
        return ''

    def abono(self, transfer):
        """The STP-style deposit notification of one transfer."""
        return json.dumps({
            'id': transfer['id'], 'fechaOperacion': int(transfer['fecha'].replace('-', '')),
            'institucionOrdenante': int(transfer['institucionOrdenante']),
            'institucionBeneficiaria': int(transfer['institucionBeneficiaria']),
            'claveRastreo': transfer['claveRastreo'], 'monto': float(transfer['monto']),
            'nombreOrdenante': transfer['nombreOrdenante'], 'tipoCuentaOrdenante': 40,
            'cuentaOrdenante': transfer['cuentaOrdenante'],
            'rfcCurpOrdenante': transfer['rfcCurpOrdenante'],
            'nombreBeneficiario': self.company, 'tipoCuentaBeneficiario': 40,
            'cuentaBeneficiario': transfer['cuentaBeneficiario'], 'rfcCurpBeneficiario': 'ND',
            'conceptoPago': transfer['conceptoPago'],
            'referenciaNumerica': int(transfer['referenciaNumerica'] or 0),
            'empresa': self.company, 'tipoPago': 1, 'tsLiquidacion': transfer['tsLiquidacion'],
        }, ensure_ascii=False).encode('utf-8')

    def ledger_json(self, request):
        return self.json({'transferencias': self.ledger.all(), 'entregas': self.deliverer.entries()})

    def statement(self, request):
        day = request.GET.get('fecha') or (
            self.now() - datetime.timedelta(hours=6)).date().isoformat()
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            return Response('fecha: YYYY-MM-DD', status=400, content_type='text/plain')
        transfers = self.ledger.all(day)
        if request.GET.get('formato') == 'mt940':
            return Response(mt940(self.account, day, transfers), content_type='text/plain',
                            charset='utf-8', content_disposition=f'attachment; filename="estado-{day}.sta"')
        return Response(camt053(self.account, day, transfers), content_type='application/xml',
                        content_disposition=f'attachment; filename="estado-{day}.xml"')


def camt053(account, day, transfers):
    """The day's camt.053.001.02 statement: one booked credit entry per transfer."""
    entries = []
    for t in transfers:
        entries.append(
            f'<Ntry><Amt Ccy="MXN">{t["monto"]}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            f'<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>'
            f'<AcctSvcrRef>{esc(t["claveRastreo"])}</AcctSvcrRef>'
            f'<NtryDtls><TxDtls><Refs><EndToEndId>{esc(t["claveRastreo"])}</EndToEndId></Refs>'
            f'<RltdPties><Dbtr><Nm>{esc(t["nombreOrdenante"])}</Nm></Dbtr>'
            f'<DbtrAcct><Id><Othr><Id>{esc(t["cuentaOrdenante"])}</Id></Othr></Id></DbtrAcct>'
            f'<CdtrAcct><Id><Othr><Id>{esc(t["cuentaBeneficiario"])}</Id></Othr></Id></CdtrAcct>'
            f'</RltdPties><RltdAgts><DbtrAgt><FinInstnId><ClrSysMmbId><MmbId>'
            f'{esc(t["institucionOrdenante"])}</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>'
            f'<RmtInf><Ustrd>{esc(t["conceptoPago"])}</Ustrd><Strd><CdtrRefInf>'
            f'<Ref>{esc(t["referenciaNumerica"])}</Ref></CdtrRefInf></Strd></RmtInf>'
            f'</TxDtls></NtryDtls></Ntry>')
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            f'<GrpHdr><MsgId>SBX{day.replace("-", "")}</MsgId><CreDtTm>{now}</CreDtTm></GrpHdr>'
            f'<Stmt><Id>SBX-{day}</Id><CreDtTm>{now}</CreDtTm>'
            f'<Acct><Id><Othr><Id>{esc(account)}</Id></Othr></Id><Ccy>MXN</Ccy></Acct>'
            + ''.join(entries) + '</Stmt></BkToCstmrStmt></Document>').encode('utf-8')


def mt940(account, day, transfers):
    """The day's MT940 statement; ``:86:`` as RASTREO/REF/ORD/CTA/BANCO/RFC/CONCEPTO."""
    short = day[2:].replace('-', '')
    total = sum((Decimal(t['monto']) for t in transfers), Decimal('0'))
    lines = [':20:SBX' + short, f':25:{account}', ':28C:00001/001', f':60F:C{short}MXN0,00']
    for t in transfers:
        amount = t['monto'].replace('.', ',')
        lines.append(f':61:{short}{short[2:]}C{amount}NTRF{t["claveRastreo"][:16]}//SPEI')
        lines.append(f':86:RASTREO:{t["claveRastreo"]} REF:{t["referenciaNumerica"]} '
                     f'BANCO:{t["institucionOrdenante"]} CTA:{t["cuentaOrdenante"]} '
                     f'ORD:{t["nombreOrdenante"][:40]} CONCEPTO:{t["conceptoPago"]}')
    lines.append(f':62F:C{short}MXN{f"{total:.2f}".replace(".", ",")}')
    return '\n'.join(lines) + '\n'


class CepSandbox(App):
    """Banxico's CEP site, as the ``cepmex`` client and the portal ask it."""

    brand = 'BANXICO CEP'
    routes = (
        ('POST', r'/valida\.do', 'validate'),
        ('GET', r'/descarga\.do', 'download'),
    )
    COOKIE = 'JSESSIONID'

    def __init__(self, ledger):
        super().__init__()
        self.ledger = ledger
        self.deliverer = Deliverer()    # sends nothing: Banxico only answers
        self._sessions = {}
        self._lock = threading.Lock()

    def validate(self, request):
        form = request.POST
        try:
            day = datetime.datetime.strptime(form.get('fecha', ''), '%d-%m-%Y').date().isoformat()
        except ValueError:
            return self._html('Fecha inválida', status=400)
        transfer = self.ledger.find(day, form.get('criterio', ''))
        amount_ok = transfer is not None and _same_amount(form.get('monto'), transfer['monto'])
        if (transfer is None or not amount_ok or form.get('emisor') != transfer['institucionOrdenante']
                or form.get('cuenta') != transfer['cuentaBeneficiario']):
            return self._html('No se encontró ningún pago con la información proporcionada')
        if transfer['cep'] == 'not_yet':
            return self._html('Con la información proporcionada se identificó el siguiente pago; '
                              'el CEP aún no está disponible.')
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = transfer
        response = self._html('Operación encontrada. Descargue el comprobante.')
        response.set_cookie(self.COOKIE, token, path='/', httponly=True)
        return response

    def download(self, request):
        with self._lock:
            transfer = self._sessions.get(request.cookies.get(self.COOKIE, ''))
        if transfer is None:
            return self._html('Sesión no válida', status=400)
        if request.GET.get('formato') == 'PDF':
            return Response(cep_pdf(transfer), content_type='application/pdf')
        return Response(cep_xml(transfer), content_type='application/xml')

    def _html(self, text, status=200):
        return self.page('CEP', f'<p>{esc(text)}</p>', status=status)


def _same_amount(given, stored):
    try:
        return Decimal(given or '') == Decimal(stored)
    except InvalidOperation:
        return False


def cep_xml(transfer):
    """Banxico's XML for a transfer (``cep: other_amount`` states another amount)."""
    amount = Decimal(transfer['monto'])
    if transfer['cep'] == 'other_amount':
        amount -= Decimal('100.00')
    day = transfer['fecha']
    chain = '|'.join(['', '', '1', day.replace('-', ''), day[8:10] + day[5:7] + day[:4],
                      '120000', transfer['institucionOrdenante'], transfer['claveRastreo'],
                      transfer['cuentaOrdenante'], transfer['cuentaBeneficiario'], f'{amount:.2f}', '', ''])
    seal = hashlib.sha256(chain.encode()).hexdigest()
    ordering = PARTICIPANTS.get(transfer['institucionOrdenante'], '')
    receiving = PARTICIPANTS.get(transfer['institucionBeneficiaria'], 'STP')
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<SPEI_Tercero FechaOperacion="{day}" Hora="12:00:00" ClaveSPEI="{transfer["institucionBeneficiaria"]}"'
            f' ClaveRastreo={quoteattr(transfer["claveRastreo"])} numeroCertificado="00001000000504465028"'
            f' cadenaCDA={quoteattr(chain)} sello={quoteattr(seal)}>'
            f'<Beneficiario BancoReceptor={quoteattr(receiving)} Nombre="CANON MEXICANA SA DE CV"'
            f' TipoCuenta="40" Cuenta={quoteattr(transfer["cuentaBeneficiario"])} RFC="CME930812PW3"'
            f' Concepto={quoteattr(transfer["conceptoPago"])} IVA="0.00" MontoPago="{amount:.2f}"/>'
            f'<Ordenante BancoEmisor={quoteattr(ordering)} Nombre={quoteattr(transfer["nombreOrdenante"])}'
            f' TipoCuenta="40" Cuenta={quoteattr(transfer["cuentaOrdenante"])}'
            f' RFC={quoteattr(transfer["rfcCurpOrdenante"])}/>'
            '</SPEI_Tercero>').encode('utf-8')


def cep_pdf(transfer):
    """A one-page PDF of the CEP (the sandbox's own, made with reportlab)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=letter)
    page.setTitle(f'CEP {transfer["claveRastreo"]}')
    y = 720
    for text in ('Comprobante Electrónico de Pago (SANDBOX)', f'Fecha: {transfer["fecha"]}',
                 f'Clave de rastreo: {transfer["claveRastreo"]}', f'Monto: {transfer["monto"]} MXN',
                 f'Ordenante: {transfer["nombreOrdenante"]} {transfer["cuentaOrdenante"]}',
                 f'Beneficiario: {transfer["cuentaBeneficiario"]}', f'Concepto: {transfer["conceptoPago"]}'):
        page.drawString(72, y, text)
        y -= 20
    page.showPage()
    page.save()
    return out.getvalue()


def make_apps(notification_url, secret, account, company='CANON MEXICANA', transport=None,
              now=None):
    """``(bank, cep)`` sharing one ledger; ``now()``: the bank's clock (default: the real one)."""
    ledger = Ledger()
    return (SpeiBankSandbox(ledger, notification_url, secret, account, company, transport, now),
            CepSandbox(ledger))
