"""Demo payment complements (REP): a CFDI 4.0 of type P with Pagos 2.0, and its PDF.

The ERP's PAC stamps the real ones; this makes up the one examples/erp/ ships for the demo
payment 228 (``python -m canonportal.demo_complements examples/erp`` writes it again) and
the tests' variations of it. Seals and certificates are placeholders, as in
:mod:`.demo_documents`; the structure and the arithmetic are those of Pagos 2.0.
"""
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxml import etree

from .bootstrap import demo_uuid
from .demo_documents import (
    CFDI_NS, ISSUER_NAME, ISSUER_POSTAL_CODE, ISSUER_REGIME, ISSUER_RFC, PAC_RFC, TFD_NS,
    XSI_NS, _PLACEHOLDER_SEAL, finished, label_rows, letterhead,
)

PAGOS_NS = 'http://www.sat.gob.mx/Pagos20'
SCHEMA_LOCATION = (
    'http://www.sat.gob.mx/cfd/4 http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd '
    'http://www.sat.gob.mx/Pagos20 '
    'http://www.sat.gob.mx/sitio_internet/cfd/Pagos/Pagos20.xsd')
IVA = Decimal('0.16')

#: The example's file stem and UUID: the REP of demo payment 228 (1.00 USD of 1233074).
EXAMPLE_NAME = 'REP-228'
EXAMPLE_UUID = demo_uuid('REP-228')


def _text(value, places=2):
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))
    return str(value)


def document(invoice_uuid, paid, before, instalment=1, currency='MXN', equivalence=None,
             serie='', folio='', after=None):
    """One DoctoRelacionado (amounts as text or Decimal, in the invoice's currency)."""
    paid, before = Decimal(str(paid)), Decimal(str(before))
    return {'uuid': invoice_uuid, 'paid': paid, 'before': before, 'instalment': instalment,
            'currency': currency, 'equivalence': equivalence, 'serie': serie, 'folio': folio,
            'after': Decimal(str(after)) if after is not None else before - paid}


def payment(day, amount, documents, operation='', currency='MXN', rate=None, form='04'):
    """One Pago: ``day`` as ``2017-10-10T08:34:00``; ``amount`` its Monto."""
    return {'day': day, 'amount': Decimal(str(amount)), 'documents': documents,
            'operation': operation, 'currency': currency, 'rate': rate, 'form': form}


def rep_xml(uuid, receptor_rfc, receptor_name, payments, fecha, replaces=(),
            emisor_rfc=ISSUER_RFC, total=None, serie='P', folio='228', tipo='P',
            version='4.0', pagos_version='2.0', moneda='XXX'):
    """A stamped REP as bytes (UTF-8 with declaration)."""
    nsmap = {'cfdi': CFDI_NS, 'pago20': PAGOS_NS, 'tfd': TFD_NS, 'xsi': XSI_NS}
    root = etree.Element(f'{{{CFDI_NS}}}Comprobante', nsmap=nsmap)
    root.set(f'{{{XSI_NS}}}schemaLocation', SCHEMA_LOCATION)
    for name, value in (('Version', version), ('Serie', serie), ('Folio', folio),
                        ('Fecha', fecha), ('Sello', _PLACEHOLDER_SEAL),
                        ('NoCertificado', '00001000000500000000'),
                        ('Certificado', _PLACEHOLDER_SEAL), ('SubTotal', '0'),
                        ('Moneda', moneda), ('Total', '0'), ('TipoDeComprobante', tipo),
                        ('Exportacion', '01'), ('LugarExpedicion', ISSUER_POSTAL_CODE)):
        root.set(name, value)
    if replaces:
        related = etree.SubElement(root, f'{{{CFDI_NS}}}CfdiRelacionados', TipoRelacion='04')
        for old in replaces:
            etree.SubElement(related, f'{{{CFDI_NS}}}CfdiRelacionado', UUID=old)
    etree.SubElement(root, f'{{{CFDI_NS}}}Emisor', Rfc=emisor_rfc, Nombre=ISSUER_NAME,
                     RegimenFiscal=ISSUER_REGIME)
    etree.SubElement(root, f'{{{CFDI_NS}}}Receptor', Rfc=receptor_rfc, Nombre=receptor_name,
                     DomicilioFiscalReceptor='01000', RegimenFiscalReceptor='601',
                     UsoCFDI='CP01')
    conceptos = etree.SubElement(root, f'{{{CFDI_NS}}}Conceptos')
    etree.SubElement(conceptos, f'{{{CFDI_NS}}}Concepto', ClaveProdServ='84111506',
                     Cantidad='1', ClaveUnidad='ACT', Descripcion='Pago', ValorUnitario='0',
                     Importe='0', ObjetoImp='01')
    complemento = etree.SubElement(root, f'{{{CFDI_NS}}}Complemento')
    pagos = etree.SubElement(complemento, f'{{{PAGOS_NS}}}Pagos', Version=pagos_version)
    base_total, tax_total, amount_total = Decimal(0), Decimal(0), Decimal(0)
    totales = etree.SubElement(pagos, f'{{{PAGOS_NS}}}Totales')
    for item in payments:
        rate = Decimal(str(item['rate'])) if item['rate'] else Decimal(1)
        amount_total += item['amount'] * rate
        element = etree.SubElement(pagos, f'{{{PAGOS_NS}}}Pago', FechaPago=item['day'],
                                   FormaDePagoP=item['form'], MonedaP=item['currency'],
                                   TipoCambioP=_text(rate, 0) if rate == 1 else str(rate),
                                   Monto=_text(item['amount']))
        if item['operation']:
            element.set('NumOperacion', item['operation'])
        base_p, tax_p = Decimal(0), Decimal(0)
        for doc in item['documents']:
            equivalence = Decimal(str(doc['equivalence'])) if doc['equivalence'] else Decimal(1)
            d = etree.SubElement(element, f'{{{PAGOS_NS}}}DoctoRelacionado',
                                 IdDocumento=doc['uuid'])
            if doc['serie']:
                d.set('Serie', doc['serie'])
            if doc['folio']:
                d.set('Folio', doc['folio'])
            d.set('MonedaDR', doc['currency'])
            d.set('EquivalenciaDR', str(equivalence) if equivalence != 1 else '1')
            for name, value in (('NumParcialidad', str(doc['instalment'])),
                                ('ImpSaldoAnt', _text(doc['before'])),
                                ('ImpPagado', _text(doc['paid'])),
                                ('ImpSaldoInsoluto', _text(doc['after'])),
                                ('ObjetoImpDR', '02')):
                d.set(name, value)
            base = doc['paid'] / (1 + IVA)
            tax = doc['paid'] - base
            traslados = etree.SubElement(etree.SubElement(d, f'{{{PAGOS_NS}}}ImpuestosDR'),
                                         f'{{{PAGOS_NS}}}TrasladosDR')
            etree.SubElement(traslados, f'{{{PAGOS_NS}}}TrasladoDR', BaseDR=_text(base, 6),
                             ImpuestoDR='002', TipoFactorDR='Tasa', TasaOCuotaDR='0.160000',
                             ImporteDR=_text(tax, 6))
            base_p += base / equivalence
            tax_p += tax / equivalence
        traslados = etree.SubElement(etree.SubElement(element, f'{{{PAGOS_NS}}}ImpuestosP'),
                                     f'{{{PAGOS_NS}}}TrasladosP')
        etree.SubElement(traslados, f'{{{PAGOS_NS}}}TrasladoP', BaseP=_text(base_p, 6),
                         ImpuestoP='002', TipoFactorP='Tasa', TasaOCuotaP='0.160000',
                         ImporteP=_text(tax_p, 6))
        base_total += base_p * rate
        tax_total += tax_p * rate
    totales.set('TotalTrasladosBaseIVA16', _text(base_total))
    totales.set('TotalTrasladosImpuestoIVA16', _text(tax_total))
    totales.set('MontoTotalPagos', _text(total if total is not None else amount_total))
    etree.SubElement(complemento, f'{{{TFD_NS}}}TimbreFiscalDigital', Version='1.1',
                     UUID=uuid, FechaTimbrado=fecha, RfcProvCertif=PAC_RFC,
                     SelloCFD=_PLACEHOLDER_SEAL, NoCertificadoSAT='00001000000509846663',
                     SelloSAT=_PLACEHOLDER_SEAL)
    return etree.tostring(root, xml_declaration=True, encoding='UTF-8', pretty_print=True)


def example_228():
    """The REP of demo payment 228: 18.31 MXN on 10 October 2017 paying 1.00 USD of invoice
    1233074 (160.71 USD, instalment 1) at 18.31, NumOperacion the bank's reference."""
    invoice_uuid = demo_uuid('1233074')
    doc = document(invoice_uuid, '1.00', '160.71', 1, 'USD',
                   equivalence=(Decimal(1) / Decimal('18.31')).quantize(Decimal('1e-10')),
                   folio='1233074')
    item = payment('2017-10-10T08:34:00', '18.31', [doc], operation='BC-Banamex 063197')
    return rep_xml(EXAMPLE_UUID, 'CME930812PW3', 'CANON MEXICANA', [item],
                   '2017-11-02T10:00:00')


def rep_pdf(uuid, receptor, lines):
    """A printed REP (bytes of a one-page PDF): its UUID, receiver and ``(label, value)``
    lines."""
    from reportlab.lib.units import mm

    buffer, pdf, _width, left, y = letterhead(f'Complemento de pago {uuid}',
                                              'COMPLEMENTO DE PAGO (CFDI tipo P, Pagos 2.0)',
                                              size=13, invariant=1)
    y -= 5 * mm
    pdf.drawString(left, y, f'Folio fiscal (UUID): {uuid}')
    y -= 5 * mm
    pdf.drawString(left, y, f'Receptor: {receptor}')
    label_rows(pdf, lines, left, y - 12 * mm, 60 * mm, 6 * mm)
    return finished(pdf, buffer, left)


def example_228_pdf():
    return rep_pdf(EXAMPLE_UUID, 'CME930812PW3 — CANON MEXICANA', (
        ('Fecha de pago', '10-10-2017 08:34'),
        ('Forma de pago', '04 — Tarjeta de crédito'),
        ('Número de operación', 'BC-Banamex 063197'),
        ('Monto', '$18.31 MXN'),
        ('Documento relacionado', f'Factura 1233074 · {demo_uuid("1233074")}'),
        ('Moneda / equivalencia', 'USD · 1 MXN = 0.0546149645 USD'),
        ('Parcialidad', '1'),
        ('Saldo anterior', '$160.71 USD'),
        ('Importe pagado', '$1.00 USD'),
        ('Saldo insoluto', '$159.71 USD'),
    ))


def write_example(folder):
    """Write ``REP-228.xml`` and ``REP-228.pdf`` into ``folder``."""
    folder = Path(folder)
    (folder / f'{EXAMPLE_NAME}.xml').write_bytes(example_228())
    (folder / f'{EXAMPLE_NAME}.pdf').write_bytes(example_228_pdf())


if __name__ == '__main__':  # pragma: no cover
    write_example(sys.argv[1] if len(sys.argv) > 1 else 'examples/erp')
