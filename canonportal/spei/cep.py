"""Banxico's CEP (Comprobante Electrónico de Pago): proof that a SPEI transfer settled.

The protocol is that of Banxico's public CEP site, as the ``cepmex`` client
speaks it: a form POSTed to ``{base}/valida.do`` (``tipoCriterio=T``,
``captcha=c``, ``tipoConsulta=1``, ``fecha`` as dd-mm-yyyy, ``criterio`` the clave de
rastreo, ``emisor`` and ``receptor`` the 5-digit participant codes, ``cuenta``
the beneficiary account, ``monto`` in pesos, ``receptorParticipante``) answers
with an HTML page, and in the same cookie session ``{base}/descarga.do?formato=XML``
(or ``PDF``) returns the receipt. The XML's root carries ``FechaOperacion``,
``ClaveSPEI``, ``numeroCertificado``, ``cadenaCDA`` and ``sello``; its
``Ordenante`` and ``Beneficiario`` children the parties (``Cuenta``, ``Nombre``,
``RFC``, ``BancoEmisor``/``BancoReceptor``) and the beneficiary ``MontoPago`` and
``Concepto``.

This client speaks it with httpx (as the bank gateways do), so tests and the
sandbox CEP can stand in for Banxico through any transport; the base URL comes
from the settings. Banxico blocks an address that asks too often: a client asks at
most :data:`DEFAULT_MAX_QUERIES` times a minute (:class:`QueryLimit`, shared by every
thread of the process) and beyond that raises :class:`CepBusy` without asking.
Nothing here decides whether a receipt agrees with a payment: :func:`disagreements`
lists what differs and the caller decides.
"""
import collections
import dataclasses
import datetime
import threading
import time
from decimal import Decimal, InvalidOperation

import httpx
from lxml import etree

BANXICO_URL = 'https://www.banxico.org.mx/cep'

NOT_FOUND_TEXTS = ('No se encontró ningún pago con la información proporcionada',
                   'El SPEI no ha recibido una orden de pago que cumpla con el criterio')
NOT_YET_TEXT = 'Con la información proporcionada se identificó el siguiente pago'
TOO_MANY_TEXT = 'ha excedido el n'
MAX_XML = 256 * 1024
MAX_PDF = 2 * 1024 * 1024
#: Queries to Banxico one process makes at most per :data:`QUERY_WINDOW` seconds.
DEFAULT_MAX_QUERIES = 20
QUERY_WINDOW = 60.0


class CepError(Exception):
    """The CEP service could not be asked or answered something unusable."""


class CepNotFound(CepError):
    """Banxico knows no transfer with these data (yet, if it is recent)."""


class CepNotYet(CepError):
    """The transfer exists but its CEP is not available yet."""


class CepBusy(CepError):
    """The portal's own cap on queries to Banxico was reached: nothing was asked."""


class QueryLimit:
    """At most ``most`` queries in any ``window`` seconds (a sliding window, thread-safe).
    ``clock`` is a monotonic clock in seconds (tests move their own)."""

    def __init__(self, most=DEFAULT_MAX_QUERIES, window=QUERY_WINDOW, clock=time.monotonic):
        if most < 1 or window <= 0:
            raise ValueError('a query limit allows at least one query in a positive window')
        self.most = most
        self.window = window
        self.clock = clock
        self._times = collections.deque()
        self._lock = threading.Lock()

    def take(self):
        """Count one query and return True, or return False (counting nothing) when the
        window is full."""
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= self.window:
                self._times.popleft()
            if len(self._times) >= self.most:
                return False
            self._times.append(now)
            return True


@dataclasses.dataclass(frozen=True)
class Cep:
    """A CEP as Banxico returned it: the documents and what they say."""

    xml: bytes
    pdf: bytes
    operation_date: datetime.date
    tracking_key: str
    amount: Decimal
    beneficiary_account: str
    beneficiary_name: str
    beneficiary_rfc: str
    ordering_account: str
    ordering_name: str
    ordering_rfc: str
    ordering_bank: str
    concept: str
    certificate: str      # numeroCertificado (the REP's CertPago)
    chain: str            # cadenaCDA (CadPago)
    seal: str             # sello (SelloPago)


@dataclasses.dataclass(frozen=True)
class Query:
    """What identifies a transfer to the CEP service."""

    operation_date: datetime.date
    tracking_key: str
    sender: str          # ordering participant, 5 digits
    receiver: str        # receiving participant, 5 digits
    account: str         # beneficiary account
    amount: Decimal

    def form(self):
        return {'tipoCriterio': 'T', 'captcha': 'c', 'tipoConsulta': '1',
                'fecha': self.operation_date.strftime('%d-%m-%Y'), 'criterio': self.tracking_key,
                'emisor': self.sender, 'receptor': self.receiver, 'cuenta': self.account,
                'monto': f'{self.amount:.2f}', 'receptorParticipante': '0'}


def parse_cep_xml(xml, pdf=b''):
    """A :class:`Cep` from Banxico's XML (CepError when it is not one)."""
    if len(xml) > MAX_XML:
        raise CepError('CEP XML too large')
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        raise CepError(f'not a CEP: {error}')
    ordering, beneficiary = root.find('Ordenante'), root.find('Beneficiario')
    if ordering is None or beneficiary is None:
        raise CepError('not a CEP: no Ordenante/Beneficiario')
    chain = root.get('cadenaCDA', '')
    try:
        return Cep(
            xml=xml, pdf=pdf,
            operation_date=datetime.date.fromisoformat(root.get('FechaOperacion', '')),
            tracking_key=root.get('ClaveRastreo', '') or _tracking_from_chain(chain),
            amount=Decimal(beneficiary.get('MontoPago', '')).quantize(Decimal('0.01')),
            beneficiary_account=beneficiary.get('Cuenta', ''),
            beneficiary_name=beneficiary.get('Nombre', ''),
            beneficiary_rfc=beneficiary.get('RFC', ''),
            ordering_account=ordering.get('Cuenta', ''),
            ordering_name=ordering.get('Nombre', ''),
            ordering_rfc=ordering.get('RFC', ''),
            ordering_bank=ordering.get('BancoEmisor', ''),
            concept=beneficiary.get('Concepto', ''),
            certificate=root.get('numeroCertificado', ''),
            chain=chain,
            seal=root.get('sello', ''))
    except (ValueError, InvalidOperation) as error:
        raise CepError(f'not a CEP: {error}')


def _tracking_from_chain(chain):
    """The clave de rastreo inside the cadena CDA (its 8th field), when the root lacks it."""
    parts = chain.strip('|').split('|')
    return parts[7] if len(parts) > 7 else ''


def disagreements(cep, amount, account):
    """What a CEP says differently from what we expected: ('amount', 'account')."""
    found = []
    if cep.amount != amount:
        found.append('amount')
    if cep.beneficiary_account != account:
        found.append('account')
    return tuple(found)


class CepClient:
    """Asks the CEP service; one new cookie session per question (thread-safe), at most
    as often as ``limit`` (a :class:`QueryLimit`) allows."""

    def __init__(self, base_url=BANXICO_URL, transport=None, timeout=15.0, limit=None):
        self.base_url = base_url.rstrip('/')
        self.transport = transport
        self.timeout = timeout
        self.limit = limit or QueryLimit()

    def fetch(self, query):
        """The :class:`Cep` of ``query``; raises CepNotFound, CepNotYet, CepBusy (nothing
        asked: too many queries of this process lately) or CepError."""
        if not self.limit.take():
            raise CepBusy('the portal asked Banxico too often lately')
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout,
                              follow_redirects=False) as client:
                answer = client.post(f'{self.base_url}/valida.do', data=query.form())
                answer.raise_for_status()
                text = answer.text
                if TOO_MANY_TEXT in text:
                    raise CepError('Banxico refused: too many queries')
                if any(marker in text for marker in NOT_FOUND_TEXTS):
                    raise CepNotFound(query.tracking_key)
                if NOT_YET_TEXT in text:
                    raise CepNotYet(query.tracking_key)
                xml = client.get(f'{self.base_url}/descarga.do', params={'formato': 'XML'})
                xml.raise_for_status()
                pdf = client.get(f'{self.base_url}/descarga.do', params={'formato': 'PDF'})
                pdf.raise_for_status()
        except httpx.HTTPError as error:
            raise CepError(f'CEP service: {type(error).__name__}') from error
        if len(pdf.content) > MAX_PDF or not pdf.content.startswith(b'%PDF'):
            raise CepError('CEP service: the PDF is not a PDF')
        return parse_cep_xml(xml.content, pdf.content)
