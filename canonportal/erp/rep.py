"""Reading a payment complement (REP): a CFDI 4.0 of type "P" with the Pagos 2.0 complement.

Only structure and arithmetic are checked here (seals and certificates are the PAC's and
the SAT's business, as for invoices: :mod:`.cfdi`): the root ``cfdi:Comprobante`` version
4.0 of type P in currency XXX, the issuer and receiver, exactly one ``pago20:Pagos`` version
2.0, its ``Totales``, each ``Pago`` (FechaPago, MonedaP, TipoCambioP, Monto, NumOperacion)
and each ``DoctoRelacionado`` (IdDocumento, MonedaDR, EquivalenciaDR, NumParcialidad,
ImpSaldoAnt, ImpPagado, ImpSaldoInsoluto), the stamp's UUID and the REPs it replaces
(``cfdi:CfdiRelacionados`` with TipoRelacion 04). What the portal knows (the company, the
customer, the invoices, the payments) is checked by :mod:`.complements`.

Every input is bounded before any work: its size, then no DTD at all (so no entity, internal
or external, is ever expanded: the parser resolves none, loads no DTD, fetches nothing and
keeps lxml's limits on huge documents), then the number of elements, payments and
documents.
"""
import dataclasses
import re
from decimal import Decimal

from lxml import etree

from ..i18n import _
from ..money import to_money
from . import fields
from .cfdi import CFDI_NS, TFD_NS, CfdiError, _read

PAGOS_NS = 'http://www.sat.gob.mx/Pagos20'
PAYMENT = 'P'
#: TipoRelacion of a CFDI that replaces a cancelled one (c_TipoRelacion 04, "Sustitución").
SUBSTITUTION = '04'

#: A REP is a few kilobytes; even hundreds of invoices stay far below this.
MAX_REP_BYTES = 2 * 1024 * 1024
MAX_ELEMENTS = 20_000
MAX_PAYMENTS = 500
MAX_DOCUMENTS = 2_000
#: Rounding the SAT tolerates per document when a payment's Monto is compared with the sum
#: of ImpPagado / EquivalenciaDR (one cent each).
CENT = Decimal('0.01')

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False, remove_comments=True)
_RATE = re.compile(r'[0-9]{1,12}(?:\.[0-9]{1,10})?')
_INSTALMENT = re.compile(r'[1-9][0-9]{0,2}')


@dataclasses.dataclass
class RepDocument:
    """One DoctoRelacionado as written, amounts in its currency (MonedaDR), to the cent."""

    invoice_uuid: str
    serie: str
    folio: str
    currency: str
    equivalence: Decimal
    instalment: int
    balance_before: Decimal
    paid: Decimal
    balance_after: Decimal
    line: int = None

    @property
    def in_payment_currency(self):
        """ImpPagado / EquivalenciaDR: what the document took of the payment's Monto."""
        return self.paid / self.equivalence


@dataclasses.dataclass
class RepPayment:
    """One Pago: paid on (FechaPago's date), MonedaP, TipoCambioP, Monto, NumOperacion."""

    paid_on: object
    currency: str
    rate: Decimal
    amount: Decimal
    operation: str
    documents: list
    line: int = None


@dataclasses.dataclass
class Rep:
    uuid: str
    issued: object
    emisor_rfc: str
    receptor_rfc: str
    receptor_name: str
    payments: list
    replaces: tuple
    total: Decimal          # Totales/MontoTotalPagos (MXN)
    warnings: tuple = ()


def looks_like_rep(stream):
    """Whether the XML in the binary ``stream`` is a CFDI of type P (only its first element
    is read, with the same safe parser settings), or None when it cannot be read; the
    stream is left rewound."""
    stream.seek(0)
    try:
        for _event, element in etree.iterparse(
                stream, events=('start',), resolve_entities=False, no_network=True,
                load_dtd=False, huge_tree=False):
            return (element.tag == f'{{{CFDI_NS}}}Comprobante'
                    and element.get('TipoDeComprobante') == PAYMENT)
    except etree.XMLSyntaxError:
        return None
    finally:
        stream.seek(0)
    return False


def parse(data):
    """Read ``data`` (bytes) as a REP; raise :class:`~.cfdi.CfdiError` saying why not."""
    if len(data) > MAX_REP_BYTES:
        raise CfdiError(_('El XML pesa más de 2 MB; no parece un complemento de pago.'))
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise CfdiError(_('El XML no está bien formado: ${error}',
                          mapping={'error': str(error)[:200]}), getattr(error, 'lineno', None))
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CfdiError(_('El XML trae una declaración DOCTYPE; un CFDI no la lleva y no se '
                          'lee.'), 1)
    count = sum(1 for _element in root.iter())
    if count > MAX_ELEMENTS:
        raise CfdiError(_('El XML tiene ${count} elementos; un complemento de pago tiene '
                          'muchos menos.', mapping={'count': count}), root.sourceline)
    line = root.sourceline
    if root.tag != f'{{{CFDI_NS}}}Comprobante' or root.get('Version') != '4.0':
        raise CfdiError(_('No es un CFDI 4.0: falta cfdi:Comprobante con Version 4.0.'), line)
    kind = root.get('TipoDeComprobante') or ''
    if kind != PAYMENT:
        raise CfdiError(_('El CFDI es de tipo ${kind}, no un complemento de pago (tipo P).',
                          mapping={'kind': kind[:5]}), line)
    if (root.get('Moneda') or '') != 'XXX':
        raise CfdiError(_('Un CFDI de pago lleva Moneda XXX, no «${currency}».',
                          mapping={'currency': (root.get('Moneda') or '')[:10]}), line)
    stamp = root.find(f'{{{CFDI_NS}}}Complemento/{{{TFD_NS}}}TimbreFiscalDigital')
    if stamp is None:
        raise CfdiError(_('El CFDI no está timbrado: falta tfd:TimbreFiscalDigital en '
                          'cfdi:Complemento.'), line)
    uuid = _read(stamp.sourceline, fields.uuid, stamp.get('UUID'))
    issued = _read(line, fields.day, root.get('Fecha'), 'Fecha')
    emisor = root.find(f'{{{CFDI_NS}}}Emisor')
    receptor = root.find(f'{{{CFDI_NS}}}Receptor')
    if emisor is None or receptor is None:
        raise CfdiError(_('Falta cfdi:Emisor o cfdi:Receptor.'), line)
    warnings = []
    emisor_rfc, _warning = _read(emisor.sourceline, fields.rfc, emisor.get('Rfc'))
    receptor_rfc, warning = _read(receptor.sourceline, fields.rfc, receptor.get('Rfc'))
    if warning is not None:
        warnings.append((receptor.sourceline, warning))

    pagos = root.findall(f'{{{CFDI_NS}}}Complemento/{{{PAGOS_NS}}}Pagos')
    if len(pagos) != 1:
        raise CfdiError(_('Un complemento de pago lleva exactamente un pago20:Pagos (espacio '
                          'de nombres http://www.sat.gob.mx/Pagos20); este trae ${count}.',
                          mapping={'count': len(pagos)}), line)
    pagos = pagos[0]
    if pagos.get('Version') != '2.0':
        raise CfdiError(_('La versión de pago20:Pagos es «${version}»; se espera 2.0.',
                          mapping={'version': (pagos.get('Version') or '')[:10]}),
                        pagos.sourceline)
    payments = [_payment(element) for element in _bounded(pagos)]
    total = _total(pagos, payments)
    return Rep(uuid=uuid, issued=issued, emisor_rfc=emisor_rfc, receptor_rfc=receptor_rfc,
               receptor_name=receptor.get('Nombre') or '', payments=payments,
               replaces=_replaced(root), total=total, warnings=tuple(warnings))


def _bounded(pagos):
    elements = pagos.findall(f'{{{PAGOS_NS}}}Pago')
    documents = len(pagos.findall(f'{{{PAGOS_NS}}}Pago/{{{PAGOS_NS}}}DoctoRelacionado'))
    if not elements:
        raise CfdiError(_('pago20:Pagos no trae ningún pago20:Pago.'), pagos.sourceline)
    if len(elements) > MAX_PAYMENTS or documents > MAX_DOCUMENTS:
        raise CfdiError(_('El complemento trae ${payments} pagos y ${documents} documentos; el '
                          'portal acepta hasta ${max_payments} y ${max_documents}.',
                          mapping={'payments': len(elements), 'documents': documents,
                                   'max_payments': MAX_PAYMENTS,
                                   'max_documents': MAX_DOCUMENTS}), pagos.sourceline)
    return elements


def _payment(element):
    line = element.sourceline
    paid_on = _read(line, fields.day, element.get('FechaPago'), 'FechaPago')
    currency = _read(line, fields.currency, element.get('MonedaP'))
    rate = _rate(line, element.get('TipoCambioP'), 'TipoCambioP', currency == 'MXN')
    amount, _rounded = _read(line, fields.cfdi_amount, element.get('Monto'), 'Monto')
    documents = [_document(item, currency)
                 for item in element.findall(f'{{{PAGOS_NS}}}DoctoRelacionado')]
    if not documents:
        raise CfdiError(_('El pago no relaciona ningún documento (pago20:DoctoRelacionado).'),
                        line)
    taken = sum((d.in_payment_currency for d in documents), Decimal(0))
    tolerance = CENT * len(documents)
    if taken > amount + tolerance or amount > taken + tolerance:
        raise CfdiError(_('El Monto del pago (${amount} ${currency}) no coincide con la suma '
                          'de ImpPagado / EquivalenciaDR de sus documentos (${sum}).',
                          mapping={'amount': amount, 'currency': currency,
                                   'sum': to_money(taken)}), line)
    return RepPayment(paid_on=paid_on, currency=currency, rate=rate, amount=amount,
                      operation=(element.get('NumOperacion') or '').strip()[:100],
                      documents=documents, line=line)


def _document(element, payment_currency):
    line = element.sourceline
    uuid = _read(line, fields.uuid, element.get('IdDocumento'))
    currency = _read(line, fields.currency, element.get('MonedaDR'))
    equivalence = _rate(line, element.get('EquivalenciaDR'), 'EquivalenciaDR',
                        currency == payment_currency)
    text = (element.get('NumParcialidad') or '').strip()
    if not _INSTALMENT.fullmatch(text):
        raise CfdiError(_('NumParcialidad «${text}» no es un número de parcialidad válido.',
                          mapping={'text': text[:10]}), line)
    before, _r = _read(line, fields.cfdi_amount, element.get('ImpSaldoAnt'), 'ImpSaldoAnt')
    paid, _r = _read(line, fields.cfdi_amount, element.get('ImpPagado'), 'ImpPagado')
    after, _r = _read(line, fields.cfdi_amount, element.get('ImpSaldoInsoluto'),
                      'ImpSaldoInsoluto')
    if before - paid != after:
        raise CfdiError(_('En el documento ${uuid}, ImpSaldoAnt ${before} menos ImpPagado '
                          '${paid} no da ImpSaldoInsoluto ${after}.',
                          mapping={'uuid': uuid, 'before': before, 'paid': paid,
                                   'after': after}), line)
    if not paid:
        raise CfdiError(_('En el documento ${uuid}, ImpPagado es cero.',
                          mapping={'uuid': uuid}), line)
    return RepDocument(invoice_uuid=uuid, serie=(element.get('Serie') or '').strip(),
                       folio=(element.get('Folio') or '').strip(), currency=currency,
                       equivalence=equivalence, instalment=int(text), balance_before=before,
                       paid=paid, balance_after=after, line=line)


def _rate(line, text, name, may_be_absent):
    """A positive rate with up to 10 decimals; ``1`` when absent and allowed to be."""
    text = (text or '').strip()
    if not text and may_be_absent:
        return Decimal(1)
    if not _RATE.fullmatch(text) or not Decimal(text):
        raise CfdiError(_('${name} «${text}» no es válido.',
                          mapping={'name': name, 'text': text[:20]}), line)
    return Decimal(text)


def _total(pagos, payments):
    """Totales/MontoTotalPagos, which must be the payments' Monto × TipoCambioP in MXN."""
    totales = pagos.find(f'{{{PAGOS_NS}}}Totales')
    if totales is None:
        raise CfdiError(_('Falta pago20:Totales.'), pagos.sourceline)
    total, _rounded = _read(totales.sourceline, fields.cfdi_amount,
                            totales.get('MontoTotalPagos'), 'MontoTotalPagos')
    expected = sum((payment.amount * payment.rate for payment in payments), Decimal(0))
    if abs(expected - total) > CENT * len(payments):
        raise CfdiError(_('MontoTotalPagos ${total} no coincide con la suma de los pagos en '
                          'MXN (${expected}).',
                          mapping={'total': total, 'expected': to_money(expected)}),
                        totales.sourceline)
    return total


def _replaced(root):
    """UUIDs of the CFDIs this one replaces (TipoRelacion 04)."""
    found = []
    for related in root.findall(f'{{{CFDI_NS}}}CfdiRelacionados'):
        if related.get('TipoRelacion') != SUBSTITUTION:
            continue
        for item in related.findall(f'{{{CFDI_NS}}}CfdiRelacionado'):
            found.append(_read(item.sourceline, fields.uuid, item.get('UUID')))
    return tuple(dict.fromkeys(found))
