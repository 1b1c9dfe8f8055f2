"""Sample ERP files for the import tests: CSVs as the ERP exports them, CFDI 4.0 XML, PDFs.

The CFDI builder writes the structure SAT defines (cfdi:Comprobante with
Emisor, Receptor, Conceptos, Impuestos and a Complemento holding the
tfd:TimbreFiscalDigital); seals and certificates are placeholders, as no PAC
stamped them.
"""
import csv
import io
import uuid as uuidlib
from decimal import Decimal

from lxml import etree

CFDI_NS = 'http://www.sat.gob.mx/cfd/4'
TFD_NS = 'http://www.sat.gob.mx/TimbreFiscalDigital'
XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
ISSUER_RFC = 'CMX800101AB1'
SEAL = 'SELLO' * 60

CUSTOMER_HEADER = ['RFC', 'Razón social', 'Cuentas', 'Correo']
INVOICE_HEADER = ['RFC', 'Cuenta', 'Serie', 'Folio', 'UUID', 'Fecha de emisión',
                  'Fecha de vencimiento', 'Moneda', 'Tipo de cambio', 'Total', 'Saldo',
                  'Método de pago', 'Archivo PDF']
BALANCE_HEADER = ['RFC', 'Serie', 'Folio', 'UUID', 'Saldo', 'Referencia de pago']
STATEMENT_HEADER = ['Estado de cuenta', 'Cuenta', 'Fecha de emisión', 'Periodo desde',
                    'Periodo hasta', 'Archivo PDF']
RATE_HEADER = ['Fecha', 'Tipo de cambio']


def a_uuid(seed):
    """A stable, valid CFDI UUID (uppercase) for ``seed``."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f'canonportal-test/{seed}')).upper()


def csv_bytes(header, rows, encoding='utf-8', delimiter=',', bom=False):
    """A CSV file's bytes; ``rows`` are lists, or dicts keyed by header titles."""
    out = io.StringIO(newline='')
    writer = csv.writer(out, delimiter=delimiter, lineterminator='\r\n')
    writer.writerow(header)
    for row in rows:
        if isinstance(row, dict):
            row = [row.get(title, '') for title in header]
        writer.writerow(row)
    data = out.getvalue().encode(encoding)
    return (b'\xef\xbb\xbf' + data) if bom else data


def customer_row(rfc, name, accounts, email=''):
    return {'RFC': rfc, 'Razón social': name, 'Cuentas': accounts, 'Correo': email}


def invoice_row(folio, rfc='CME930812PW3', serie='A', total='1160.00', currency='MXN',
                rate='', issued='2026-11-20', due='2026-12-20', account='005300', uuid=None,
                balance='', method='PPD', pdf=''):
    return {'RFC': rfc, 'Cuenta': account, 'Serie': serie, 'Folio': folio,
            'UUID': a_uuid(f'{serie}-{folio}') if uuid is None else uuid,
            'Fecha de emisión': issued, 'Fecha de vencimiento': due, 'Moneda': currency,
            'Tipo de cambio': rate, 'Total': total, 'Saldo': balance, 'Método de pago': method,
            'Archivo PDF': pdf}


def invoices_csv(*rows, header=INVOICE_HEADER, **options):
    return csv_bytes(header, rows, **options)


def balances_csv(*rows, **options):
    return csv_bytes(BALANCE_HEADER, rows, **options)


def statements_csv(*rows, **options):
    return csv_bytes(STATEMENT_HEADER, rows, **options)


def rates_csv(*rows, **options):
    return csv_bytes(RATE_HEADER, rows, **options)


def customers_csv(*rows, **options):
    return csv_bytes(CUSTOMER_HEADER, rows, **options)


def cfdi_xml(folio='9001', serie='A', uuid=None, fecha='2026-11-20T10:30:00', moneda='MXN',
             tipo_cambio=None, total='1160.00', metodo='PPD', receptor='CME930812PW3',
             receptor_nombre='CANON MEXICANA', tipo='I', version='4.0', stamped=True,
             account=None, no_identificacion=None, condiciones=None, namespace=CFDI_NS):
    """A CFDI 4.0 income invoice as bytes (UTF-8, with declaration)."""
    nsmap = {'cfdi': namespace, 'tfd': TFD_NS, 'xsi': XSI_NS}
    total_text = str(total)
    try:
        subtotal = (Decimal(total_text) / Decimal('1.16')).quantize(Decimal('0.01'))
        iva = str(Decimal(total_text) - subtotal)
        subtotal = str(subtotal)
    except ArithmeticError:   # a deliberately bad Total
        subtotal = iva = '0.00'
    root = etree.Element(f'{{{namespace}}}Comprobante', nsmap=nsmap)
    root.set(f'{{{XSI_NS}}}schemaLocation',
             'http://www.sat.gob.mx/cfd/4 http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd')
    attributes = {
        'Version': version, 'Serie': serie, 'Folio': folio, 'Fecha': fecha, 'Sello': SEAL,
        'FormaPago': '99', 'NoCertificado': '00001000000500000000', 'Certificado': SEAL,
        'CondicionesDePago': condiciones, 'SubTotal': subtotal, 'Moneda': moneda,
        'TipoCambio': tipo_cambio, 'Total': total_text, 'TipoDeComprobante': tipo,
        'Exportacion': '01', 'MetodoPago': metodo, 'LugarExpedicion': '11000',
    }
    for name, value in attributes.items():
        if value not in (None, ''):
            root.set(name, str(value))
    etree.SubElement(root, f'{{{namespace}}}Emisor', Rfc=ISSUER_RFC, Nombre='CANON MEXICANA',
                     RegimenFiscal='601')
    etree.SubElement(root, f'{{{namespace}}}Receptor', Rfc=receptor, Nombre=receptor_nombre,
                     DomicilioFiscalReceptor='01000', RegimenFiscalReceptor='601', UsoCFDI='G03')
    conceptos = etree.SubElement(root, f'{{{namespace}}}Conceptos')
    concepto = etree.SubElement(conceptos, f'{{{namespace}}}Concepto', ClaveProdServ='44103103',
                                Cantidad='1', ClaveUnidad='E48', Descripcion='Consumibles',
                                ValorUnitario=subtotal, Importe=subtotal, ObjetoImp='02')
    if no_identificacion:
        concepto.set('NoIdentificacion', no_identificacion)
    impuestos = etree.SubElement(root, f'{{{namespace}}}Impuestos',
                                 TotalImpuestosTrasladados=iva)
    etree.SubElement(etree.SubElement(impuestos, f'{{{namespace}}}Traslados'),
                     f'{{{namespace}}}Traslado', Base=subtotal, Impuesto='002',
                     TipoFactor='Tasa', TasaOCuota='0.160000', Importe=iva)
    if stamped:
        complemento = etree.SubElement(root, f'{{{namespace}}}Complemento')
        etree.SubElement(complemento, f'{{{TFD_NS}}}TimbreFiscalDigital', Version='1.1',
                         UUID=uuid or a_uuid(f'{serie}-{folio}'),
                         FechaTimbrado=fecha, RfcProvCertif='SAT970701NN3', SelloCFD=SEAL,
                         NoCertificadoSAT='00001000000509846663', SelloSAT=SEAL)
    if account:
        addenda = etree.SubElement(root, f'{{{namespace}}}Addenda')
        etree.SubElement(addenda, 'DatosCliente', Cuenta=account)
    return etree.tostring(root, xml_declaration=True, encoding='UTF-8', pretty_print=True)


def pdf_bytes(text='Factura'):
    """A small, valid one-page PDF that says ``text``."""
    stream = f'BT /F1 18 Tf 72 720 Td ({text}) Tj ET'.encode('latin-1')
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
        b'/Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d >>\nstream\n' % len(stream) + stream + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ]
    out = io.BytesIO()
    out.write(b'%PDF-1.4\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b'%d 0 obj\n' % number + body + b'\nendobj\n')
    xref = out.tell()
    out.write(b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1))
    for offset in offsets:
        out.write(b'%010d 00000 n \n' % offset)
    out.write(b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n'
              % (len(objects) + 1, xref))
    return out.getvalue()


def files(**named):
    """``files(facturas_csv=b'…')`` → [('facturas.csv', BytesIO, True)]: '_' before the
    extension becomes '.'; use :func:`named_files` for names that are not identifiers."""
    return named_files({_file_name(key): data for key, data in named.items()})


def named_files(mapping):
    return [(name, io.BytesIO(data), True) for name, data in mapping.items()]


def _file_name(key):
    stem, _, extension = key.rpartition('_')
    return f'{stem}.{extension}'


def write_invoices_csv(path, count, rfc='CME930812PW3', account='005300', start=0):
    """A big invoices CSV on disk: ``count`` MXN and USD invoices of one customer."""
    with open(path, 'w', encoding='utf-8', newline='') as out:
        writer = csv.writer(out, lineterminator='\r\n')
        writer.writerow(INVOICE_HEADER)
        for number in range(start, start + count):
            usd = number % 3 == 0
            writer.writerow([
                rfc, account, 'B', f'{number:07d}', a_uuid(f'big-{number}'),
                f'2026-{1 + number % 11:02d}-{1 + number % 28:02d}',
                f'2027-{1 + number % 11:02d}-{1 + number % 28:02d}',
                'USD' if usd else 'MXN', '18.8869' if usd else '',
                f'{100 + number % 100000}.{number % 100:02d}', '', 'PPD', ''])


def import_committed(app, files, kind=None):
    """Import ``files`` ({name: bytes}) into ``app``'s database as staff would, committed;
    the report (an import that is refused fails the test)."""
    import datetime

    from canonportal.erp.imports import run_import
    from portal_support import with_root

    def work(root):
        report = run_import(root, named_files(files), 'staff:alice', kind=kind,
                            now=datetime.datetime(2026, 11, 30, 7, 15,
                                                  tzinfo=datetime.timezone.utc),
                            settings=app.registry.settings)
        assert report.ok, report.text()
        return report
    return with_root(app, work)
