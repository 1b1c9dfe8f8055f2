"""Demo CFDI 4.0 XML and invoice PDFs for the demo invoices, stored as ZODB blobs.

The ERP normally sends these documents; the demo data makes them up so the
FACTURAS downloads have something real to serve. Nothing here is stamped by a
PAC: the seals and certificates are placeholders, the structure is CFDI 4.0.
"""
import datetime
import io
import logging
from decimal import Decimal

from lxml import etree

from .money import to_money
from .resources.blobs import blob_with, keeps_blobs

log = logging.getLogger(__name__)

CFDI_NS = 'http://www.sat.gob.mx/cfd/4'
TFD_NS = 'http://www.sat.gob.mx/TimbreFiscalDigital'
XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
SCHEMA_LOCATION = (
    'http://www.sat.gob.mx/cfd/4 http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd '
    'http://www.sat.gob.mx/TimbreFiscalDigital '
    'http://www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd')

#: The issuer of the demo invoices (a made-up RFC that fits SAT's pattern).
ISSUER_RFC = 'CMX800101AB1'
ISSUER_NAME = 'CANON MEXICANA'
ISSUER_REGIME = '601'           # General de Ley Personas Morales
ISSUER_POSTAL_CODE = '11000'
PAC_RFC = 'SAT970701NN3'
IVA_RATE = Decimal('0.16')
_PLACEHOLDER_SEAL = 'DEMO' * 43  # a CFDI seal is base64 text of this order of length


def split_total(total):
    """Return ``(subtotal, iva)`` of a total that includes 16% IVA, to the cent."""
    total = to_money(total)
    subtotal = to_money(total / (1 + IVA_RATE))
    return subtotal, total - subtotal


def _attrs(element, **values):
    for name, value in values.items():
        if value is not None and value != '':
            element.set(name, str(value))
    return element


def cfdi_xml(invoice, customer):
    """The CFDI 4.0 XML of ``invoice`` (bytes, UTF-8 with declaration)."""
    nsmap = {'cfdi': CFDI_NS, 'tfd': TFD_NS, 'xsi': XSI_NS}
    issued_at = datetime.datetime.combine(invoice.issued, datetime.time(10, 30, 0))
    stamped_at = issued_at + datetime.timedelta(minutes=2, seconds=17)
    subtotal, iva = split_total(invoice.amount)
    comprobante = etree.Element(f'{{{CFDI_NS}}}Comprobante', nsmap=nsmap)
    comprobante.set(f'{{{XSI_NS}}}schemaLocation', SCHEMA_LOCATION)
    _attrs(comprobante,
           Version='4.0',
           Serie=invoice.serie or None,
           Folio=invoice.folio,
           Fecha=issued_at.strftime('%Y-%m-%dT%H:%M:%S'),
           Sello=_PLACEHOLDER_SEAL,
           FormaPago='99',
           NoCertificado='00001000000500000000',
           Certificado=_PLACEHOLDER_SEAL,
           SubTotal=subtotal,
           Moneda=invoice.currency,
           TipoCambio=invoice.exchange_rate if invoice.currency != 'MXN' else None,
           Total=invoice.amount,
           TipoDeComprobante='I',
           Exportacion='01',
           MetodoPago='PPD',
           LugarExpedicion=ISSUER_POSTAL_CODE)
    _attrs(etree.SubElement(comprobante, f'{{{CFDI_NS}}}Emisor'),
           Rfc=ISSUER_RFC, Nombre=ISSUER_NAME, RegimenFiscal=ISSUER_REGIME)
    _attrs(etree.SubElement(comprobante, f'{{{CFDI_NS}}}Receptor'),
           Rfc=customer.rfc, Nombre=_fiscal_name(customer.name),
           DomicilioFiscalReceptor='01000', RegimenFiscalReceptor='601', UsoCFDI='G03')

    conceptos = etree.SubElement(comprobante, f'{{{CFDI_NS}}}Conceptos')
    concepto = _attrs(etree.SubElement(conceptos, f'{{{CFDI_NS}}}Concepto'),
                      ClaveProdServ='44103103', NoIdentificacion=f'CTA-{invoice.account}',
                      Cantidad='1', ClaveUnidad='E48', Unidad='Unidad de servicio',
                      Descripcion='Consumibles y servicio de impresión del periodo',
                      ValorUnitario=subtotal, Importe=subtotal, ObjetoImp='02')
    _tax(etree.SubElement(etree.SubElement(
        etree.SubElement(concepto, f'{{{CFDI_NS}}}Impuestos'),
        f'{{{CFDI_NS}}}Traslados'), f'{{{CFDI_NS}}}Traslado'), subtotal, iva)

    impuestos = _attrs(etree.SubElement(comprobante, f'{{{CFDI_NS}}}Impuestos'),
                       TotalImpuestosTrasladados=iva)
    _tax(etree.SubElement(etree.SubElement(impuestos, f'{{{CFDI_NS}}}Traslados'),
                          f'{{{CFDI_NS}}}Traslado'), subtotal, iva)

    complemento = etree.SubElement(comprobante, f'{{{CFDI_NS}}}Complemento')
    _attrs(etree.SubElement(complemento, f'{{{TFD_NS}}}TimbreFiscalDigital'),
           Version='1.1', UUID=invoice.uuid,
           FechaTimbrado=stamped_at.strftime('%Y-%m-%dT%H:%M:%S'),
           RfcProvCertif=PAC_RFC, SelloCFD=_PLACEHOLDER_SEAL,
           NoCertificadoSAT='00001000000509846663', SelloSAT=_PLACEHOLDER_SEAL)
    return etree.tostring(comprobante, xml_declaration=True, encoding='UTF-8',
                          pretty_print=True)


def _tax(element, base, amount):
    _attrs(element, Base=base, Impuesto='002', TipoFactor='Tasa',
           TasaOCuota='0.160000', Importe=amount)


def _fiscal_name(name):
    """CFDI 4.0 wants the name as registered, uppercase, without the company regime."""
    upper = name.upper()
    for suffix in (' SA DE CV', ' S.A. DE C.V.', ', S.A. DE C.V.'):
        if upper.endswith(suffix):
            return upper[:-len(suffix)]
    return upper


def letterhead(title, heading, size=14, invariant=0):
    """A demo document's first page with Canon's letterhead: ``(buffer, pdf, width, left, y)``
    with ``y`` on the issuer's line, for the caller to go on writing below."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, invariant=invariant)
    pdf.setTitle(title)
    pdf.setAuthor(ISSUER_NAME)
    width, height = letter
    left, y = 20 * mm, height - 25 * mm
    pdf.setFillColorRGB(0.8, 0, 0)
    pdf.setFont('Helvetica-BoldOblique', 22)
    pdf.drawString(left, y, 'Canon')
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setFont('Helvetica-Bold', size)
    pdf.drawRightString(width - left, y, heading)
    y -= 8 * mm
    pdf.setFont('Helvetica', 9)
    pdf.drawString(left, y, f'{ISSUER_NAME}  ·  RFC {ISSUER_RFC}  ·  Régimen {ISSUER_REGIME}')
    return buffer, pdf, width, left, y


def label_rows(pdf, rows, left, y, column, step):
    """``(label, value)`` rows, the label bold and the value at ``column``; the ``y`` below."""
    for label, value in rows:
        pdf.setFont('Helvetica-Bold', 10)
        pdf.drawString(left, y, label)
        pdf.setFont('Helvetica', 10)
        pdf.drawString(left + column, y, value)
        y -= step
    return y


def finished(pdf, buffer, left):
    """The demo document's footer (a printed CFDI, no fiscal value) and its bytes."""
    from reportlab.lib.units import mm

    pdf.setFont('Helvetica', 7)
    pdf.drawString(left, 15 * mm, 'Este documento es una representación impresa de un CFDI '
                                  '(datos de demostración, sin validez fiscal).')
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def invoice_pdf(invoice, customer):
    """A simple printed invoice (bytes of a PDF made with reportlab)."""
    from reportlab.lib.units import mm

    buffer, pdf, width, left, y = letterhead(f'Factura {invoice.key}', f'FACTURA {invoice.key}')
    pdf.drawRightString(width - left, y, f'Folio fiscal (UUID): {invoice.uuid or ""}')

    subtotal, iva = split_total(invoice.amount)
    rows = [
        ('Receptor', f'{customer.rfc} — {customer.name}'),
        ('Cuenta', invoice.account),
        ('Fecha de emisión', invoice.issued.strftime('%d-%m-%Y')),
        ('Fecha de vencimiento', invoice.due.strftime('%d-%m-%Y') if invoice.due else ''),
        ('Moneda', invoice.currency),
        ('Tipo de cambio', str(invoice.exchange_rate) if invoice.exchange_rate else '1'),
        ('Método de pago', 'PPD — Pago en parcialidades o diferido'),
        ('Forma de pago', '99 — Por definir'),
        ('Uso CFDI', 'G03 — Gastos en general'),
    ]
    y = label_rows(pdf, rows, left, y - 14 * mm, 50 * mm, 6 * mm)

    y -= 6 * mm
    pdf.setFont('Helvetica-Bold', 10)
    pdf.drawString(left, y, 'Concepto')
    pdf.drawRightString(width - left, y, 'Importe')
    y -= 2 * mm
    pdf.line(left, y, width - left, y)
    y -= 6 * mm
    pdf.setFont('Helvetica', 10)
    pdf.drawString(left, y, '44103103 · Consumibles y servicio de impresión del periodo')
    pdf.drawRightString(width - left, y, _plain_money(subtotal, invoice.currency))
    y -= 12 * mm
    for label, value in (('Subtotal', subtotal), ('IVA 16%', iva), ('Total', invoice.amount)):
        pdf.setFont('Helvetica-Bold' if label == 'Total' else 'Helvetica', 10)
        pdf.drawString(width - left - 70 * mm, y, label)
        pdf.drawRightString(width - left, y, _plain_money(value, invoice.currency))
        y -= 6 * mm

    return finished(pdf, buffer, left)


def _plain_money(value, currency):
    return f'${value:,.2f} {currency}'


def add_demo_documents(root):
    """Give every demo invoice without documents a CFDI XML and a PDF blob.

    Skipped (with a log line) when the database cannot store blobs, e.g.
    ``memory://``: the portal then shows the invoices without downloads.
    """
    if not keeps_blobs(root):
        log.info('demo invoice documents skipped: the storage has no blob support '
                 '(or the root is not attached to a connection)')
        return 0
    count = 0
    for customer in root.customers.values():
        for invoice in customer.invoices.values():
            if invoice.cfdi_xml is None:
                invoice.cfdi_xml = blob_with(cfdi_xml(invoice, customer))
                count += 1
            if invoice.pdf is None:
                invoice.pdf = blob_with(invoice_pdf(invoice, customer))
    return count
