"""Reading a CFDI 4.0 invoice (the SAT's XML) with lxml: the handful of fields the portal keeps.

Only structure is read; seals and certificates are not verified (the ERP
got the document stamped by a PAC). The parser resolves no entities and
fetches nothing from the network.
"""
import dataclasses
import re

from lxml import etree

from . import fields
from .fields import FieldError
from ..i18n import _

CFDI_NS = 'http://www.sat.gob.mx/cfd/4'
CFDI33_NS = 'http://www.sat.gob.mx/cfd/3'
TFD_NS = 'http://www.sat.gob.mx/TimbreFiscalDigital'

#: Invoices the portal collects: TipoDeComprobante "I" (ingreso).
INCOME = 'I'
TYPE_LABELS = {'E': 'egreso (nota de crédito)', 'P': 'pago', 'T': 'traslado', 'N': 'nómina'}

#: Attributes of an addenda that may carry the customer's ERP account.
ACCOUNT_ATTRIBUTES = ('cuenta', 'numerocuenta', 'nocuenta', 'cuentacliente', 'account')
_ACCOUNT_IN_ID = re.compile(r'^CTA-(.+)$', re.IGNORECASE)
_TERMS_DAYS = re.compile(r'(\d{1,3})\s*(?:d[ií]as?|dias?|days?|d\b)|^\s*(?:neto|net|cr[eé]dito)?\s*(\d{1,3})\s*$',
                         re.IGNORECASE)

MAX_XML_BYTES = 20 * 1024 * 1024

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True)


class CfdiError(ValueError):
    """The XML is not a CFDI 4.0 invoice the portal can take; ``line`` in the XML if known."""

    def __init__(self, reason, line=None):
        super().__init__(str(reason))
        self.reason = reason
        self.line = line


class NotAnInvoice(CfdiError):
    """A valid CFDI of another type (credit note, payment...): skipped with a warning."""


@dataclasses.dataclass
class Cfdi:
    """What the portal reads from one CFDI."""

    uuid: str
    serie: str
    folio: str
    issued: object           # datetime.date
    currency: str
    exchange_rate: object    # Decimal with 4 decimals, or None
    total: object            # Decimal, cents
    method: str              # PUE / PPD / None
    receptor_rfc: str
    receptor_name: str = ''
    emisor_rfc: str = ''
    terms: str = ''          # CondicionesDePago, as written
    account_hints: tuple = ()
    warnings: tuple = ()     # (line, reason)

    @property
    def key(self):
        return f'{self.serie}-{self.folio}' if self.serie else self.folio

    @property
    def terms_days(self):
        """Days of credit written in CondicionesDePago ("30 días", "Crédito 45 días"), or None."""
        match = _TERMS_DAYS.search(self.terms or '')
        if not match:
            return None
        return int(match.group(1) or match.group(2))


def parse(data):
    """Read ``data`` (bytes) as a CFDI 4.0 income invoice; raise :class:`CfdiError` if not."""
    if len(data) > MAX_XML_BYTES:
        raise CfdiError(_('El XML pesa más de 20 MB; no parece un CFDI.'))
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise CfdiError(_('El XML no está bien formado: ${error}',
                          mapping={'error': str(error)[:200]}), getattr(error, 'lineno', None))
    if root.tag == f'{{{CFDI33_NS}}}Comprobante':
        raise CfdiError(_('Es un CFDI 3.3; el portal importa CFDI 4.0.'), root.sourceline)
    if root.tag != f'{{{CFDI_NS}}}Comprobante':
        raise CfdiError(_('No es un CFDI: falta cfdi:Comprobante (espacio de nombres '
                          'http://www.sat.gob.mx/cfd/4).'), root.sourceline)
    if root.get('Version') != '4.0':
        raise CfdiError(_('La versión del CFDI es «${version}»; se espera 4.0.',
                          mapping={'version': (root.get('Version') or '')[:10]}), root.sourceline)

    kind = root.get('TipoDeComprobante') or ''
    stamp = root.find(f'{{{CFDI_NS}}}Complemento/{{{TFD_NS}}}TimbreFiscalDigital')
    if stamp is None:
        raise CfdiError(_('El CFDI no está timbrado: falta tfd:TimbreFiscalDigital en '
                          'cfdi:Complemento.'), root.sourceline)
    line = stamp.sourceline
    uuid = _read(line, fields.uuid, stamp.get('UUID'))
    if kind != INCOME:
        raise NotAnInvoice(_('El CFDI ${uuid} es de tipo ${kind} (${label}), no una factura '
                             'de ingreso; no se importó.',
                             mapping={'uuid': uuid, 'kind': kind,
                                      'label': TYPE_LABELS.get(kind, '?')}), root.sourceline)

    line = root.sourceline
    warnings = []
    serie, folio = _read(line, fields.serie_folio, root.get('Serie'), root.get('Folio'))
    issued = _read(line, fields.day, root.get('Fecha'), 'Fecha')
    currency = _read(line, fields.currency, root.get('Moneda'))
    total, rounded = _read(line, fields.cfdi_amount, root.get('Total'), 'Total')
    if rounded:
        warnings.append((line, _('El Total ${total} se redondeó a ${rounded}.',
                                 mapping={'total': root.get('Total'), 'rounded': total})))
    rate = None
    if currency != 'MXN':
        if not (root.get('TipoCambio') or '').strip():
            raise CfdiError(_('La factura está en ${currency} y no trae TipoCambio.',
                              mapping={'currency': currency}), line)
        rate, rounded = _read(line, fields.rate, root.get('TipoCambio'), False)
        if rounded:
            warnings.append((line, _('El TipoCambio ${given} se redondeó a 4 decimales: '
                                     '${rate}.', mapping={'given': root.get('TipoCambio'),
                                                          'rate': rate})))
    method = _read(line, fields.payment_method, root.get('MetodoPago'))

    receptor = root.find(f'{{{CFDI_NS}}}Receptor')
    if receptor is None:
        raise CfdiError(_('Falta cfdi:Receptor.'), line)
    receptor_rfc, warning = _read(receptor.sourceline, fields.rfc, receptor.get('Rfc'))
    if warning is not None:
        warnings.append((receptor.sourceline, warning))
    emisor = root.find(f'{{{CFDI_NS}}}Emisor')

    return Cfdi(
        uuid=uuid, serie=serie, folio=folio, issued=issued, currency=currency,
        exchange_rate=rate, total=total, method=method, receptor_rfc=receptor_rfc,
        receptor_name=receptor.get('Nombre') or '',
        emisor_rfc=(emisor.get('Rfc') or '') if emisor is not None else '',
        terms=root.get('CondicionesDePago') or '',
        account_hints=tuple(_account_hints(root)), warnings=tuple(warnings))


def _read(line, parser, *args):
    """``parser(*args)``, its FieldError turned into a CfdiError at ``line``."""
    try:
        return parser(*args)
    except FieldError as error:
        raise CfdiError(error.reason, line) from None


def _account_hints(root):
    """Accounts the document names: addenda attributes first, then CTA-… product ids."""
    hints = []
    addenda = root.find(f'{{{CFDI_NS}}}Addenda')
    if addenda is not None:
        for element in addenda.iter():
            if not isinstance(element.tag, str):
                continue
            for attribute, value in element.attrib.items():
                local = etree.QName(attribute).localname.lower()
                if local in ACCOUNT_ATTRIBUTES and value.strip():
                    hints.append(value.strip())
            local = etree.QName(element).localname.lower()
            if local in ACCOUNT_ATTRIBUTES and (element.text or '').strip():
                hints.append(element.text.strip())
    for concepto in root.iterfind(f'{{{CFDI_NS}}}Conceptos/{{{CFDI_NS}}}Concepto'):
        match = _ACCOUNT_IN_ID.match(concepto.get('NoIdentificacion') or '')
        if match:
            hints.append(match.group(1).strip())
    return list(dict.fromkeys(hints))
