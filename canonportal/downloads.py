"""The documents customers and staff download, as responses: an invoice's CFDI XML and
PDF, a statement's PDF (the ERP's own, or generated from the portal's data), a payment
complement's (REP) XML and PDF.

The customer's pages and the staff's object tree hand out the same files with
the same names, so both build them here.
"""
import os
import re

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import FileIter, Response

from .reports.statement_pdf import statement_pdf
from .resources import customer_of


def safe_name(name):
    """A file name from ERP-given text: letters, digits, dots, dashes and underscores."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', name)


def statement_file_name(*parts):
    """``estado-de-cuenta-…pdf`` from ERP-given parts: only letters, digits, dots and dashes."""
    text = '-'.join(str(p) for p in parts if p)
    return (re.sub(r'[^A-Za-z0-9.]+', '-', text).strip('-.') or 'estado-de-cuenta') + '.pdf'


def invoice_file_name(customer, invoice, extension):
    """``CME930812PW3-A-6212976.xml``: RFC and serie-folio, safe as a file name."""
    return safe_name(f'{customer.rfc}-{invoice.key}.{extension}')


def pdf_response(body_or_file, filename, length=None):
    """An application/pdf attachment called ``filename``, never kept by a cache."""
    response = Response(content_type='application/pdf')
    if isinstance(body_or_file, bytes):
        response.body = body_or_file
    else:
        response.app_iter = FileIter(body_or_file)
        response.content_length = length
    response.content_disposition = f'attachment; filename="{filename}"'
    response.cache_control = 'private, no-store'
    return response


def blob_response(blob, content_type, filename):
    """A stored blob as an attachment (404 when there is none)."""
    if blob is None:
        raise HTTPNotFound()
    handle = blob.open('r')
    response = Response(content_type=content_type, app_iter=FileIter(handle))
    response.content_length = os.fstat(handle.fileno()).st_size
    response.content_disposition = f'attachment; filename="{filename}"'
    return response


def invoice_xml(invoice):
    """The CFDI XML, always as a download: a browser never renders it inline."""
    return blob_response(invoice.cfdi_xml, 'application/xml',
                         invoice_file_name(customer_of(invoice), invoice, 'xml'))


def invoice_pdf(invoice):
    return blob_response(invoice.pdf, 'application/pdf',
                         invoice_file_name(customer_of(invoice), invoice, 'pdf'))


def complement_file_name(complement, extension):
    """``CME930812PW3-REP-<UUID>.xml``: the receiver's RFC and the REP's UUID."""
    return safe_name(f'{complement.customer_rfc}-REP-{complement.uuid}.{extension}')


def complement_xml(complement):
    """The REP's XML, always as a download."""
    return blob_response(complement.xml, 'application/xml',
                         complement_file_name(complement, 'xml'))


def complement_pdf(complement):
    return blob_response(complement.pdf, 'application/pdf',
                         complement_file_name(complement, 'pdf'))


def statement_download(statement, company_name, now, **render_options):
    """The statement's PDF: the ERP's own when it sent one, else generated from the portal's data."""
    filename = statement_file_name('estado-de-cuenta', statement.statement_id, statement.account)
    if statement.pdf is not None:
        handle = statement.pdf.open('r')
        return pdf_response(handle, filename, os.fstat(handle.fileno()).st_size)
    body = statement_pdf(customer_of(statement), statement, company_name, now, **render_options)
    return pdf_response(body, filename)
