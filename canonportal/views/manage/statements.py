"""A statement's management page: its data, its PDF, and replacing the PDF.

The PDF served is the ERP's own when one is stored, else the one the portal
renders (exactly what the customer downloads). A replacement must really be a
PDF (``%PDF-`` header) under the size limit, and it is stored as a ZODB blob,
so the database must keep blobs.
"""
import hashlib
import os

from pyramid.view import view_config

from ... import audit, clock, downloads
from ...i18n import _
from ...resources import Customer, Statement
from ...resources.blobs import blob_with, keeps_blobs
from .. import settings_of
from . import MANAGE, ROUTE, VIEW, manage_url
from .contents import back_to, object_values, refuse
from .listing import Cells, Column, Kind, register_listing, sortable_when

TEMPLATE = 'canonportal:templates/manage/statement.pt'

PDF_MAGIC = b'%PDF-'
DEFAULT_MAX_MB = 20


STATEMENT_COLUMNS = (
    Column('account', _('Cuenta'), lambda s, x: s.account, lambda s: s.account),
    Column('issued', _('Emisión'), lambda s, x: x.fmt.timestamp(s.issued), sortable_when),
    Column('pdf', _('PDF'), lambda s, x: x.translate(_('Del ERP') if s.pdf is not None
                                                     else _('Generado por el portal'))),
)

register_listing(Kind('statements', _('Estado de cuenta'), STATEMENT_COLUMNS),
                 under=Customer, name='statements')


def max_pdf_bytes(settings):
    try:
        return int(settings.get('canonportal.statement_pdf_max_mb', DEFAULT_MAX_MB)) * 1024 * 1024
    except (TypeError, ValueError):
        return DEFAULT_MAX_MB * 1024 * 1024


def blob_size(blob):
    if blob is None:
        return None
    with blob.open('r') as handle:
        return os.fstat(handle.fileno()).st_size


def blob_facts(blob):
    """``{'bytes': n, 'sha256': hex}`` of a stored blob (or None), for the audit log."""
    if blob is None:
        return None
    digest = hashlib.sha256()
    size = 0
    with blob.open('r') as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b''):
            digest.update(chunk)
            size += len(chunk)
    return {'bytes': size, 'sha256': digest.hexdigest()}


def statement_values(context, request, error=None):
    cells = Cells(request)
    fmt = cells.fmt
    size = blob_size(context.pdf)
    if size is not None:
        pdf_text = cells.translate(_('Del ERP o reemplazado (${size} bytes)',
                                     mapping={'size': f'{size:,}'}))
    else:
        pdf_text = cells.translate(_('Generado por el portal con sus datos'))
    properties = [
        (_('Estado de cuenta'), context.statement_id),
        (_('Cuenta'), context.account),
        (_('Emisión'), fmt.timestamp(context.issued)),
        (_('Periodo desde'), fmt.day(context.period_start) or '—'),
        (_('Periodo hasta'), fmt.day(context.period_end) or '—'),
        (_('PDF'), pdf_text),
    ]
    return object_values(
        request, context, page_title=context.title, properties=properties, error=error,
        pdf_url=manage_url(request, context, '@@pdf'),
        replace_url=manage_url(request, context, '@@reemplazar-pdf'),
        max_mb=max_pdf_bytes(request.registry.settings) // (1024 * 1024),
    )


@view_config(route_name=ROUTE, context=Statement, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def statement_view(context, request):
    return statement_values(context, request)


@view_config(route_name=ROUTE, context=Statement, name='pdf', permission=VIEW, request_method='GET')
def statement_pdf(context, request):
    """The PDF the customer would download."""
    return downloads.statement_download(context, settings_of(request)['company_name'],
                                        clock.utcnow(), translate=request.localizer.translate,
                                        locale_name=request.locale_name)


def read_upload(field, limit):
    """The uploaded file's bytes, or ``(None, message)`` when it is missing or too large."""
    handle = getattr(field, 'file', None)
    if handle is None:
        return None, _('Elija el archivo PDF que reemplaza al actual.')
    data = handle.read(limit + 1)
    if not data:
        return None, _('El archivo está vacío.')
    if len(data) > limit:
        return None, _('El archivo pasa del límite de ${mb} MB.',
                       mapping={'mb': limit // (1024 * 1024)})
    return data, None


@view_config(route_name=ROUTE, context=Statement, name='reemplazar-pdf', permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def replace_pdf(context, request):
    limit = max_pdf_bytes(request.registry.settings)
    data, problem = read_upload(request.POST.get('pdf'), limit)
    if problem is None and not data.startswith(PDF_MAGIC):
        problem = _('El archivo no es un PDF (no empieza con %PDF-).')
    if problem is None and not keeps_blobs(context):
        problem = _('La base de datos no guarda archivos; no se puede reemplazar el PDF.')
    if problem is not None:
        return refuse(request, statement_values, context, problem)

    before = blob_facts(context.pdf) or 'generated by the portal'
    context.pdf = blob_with(data)
    filename = os.path.basename(getattr(request.POST.get('pdf'), 'filename', '') or '')[:200]
    after = {'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()}
    audit.record(request.root, audit.actor_of(request), 'statement.replace-pdf', context,
                 before, after, f'file {filename}' if filename else '')
    return back_to(request, context, _('PDF del estado de cuenta reemplazado.'))
