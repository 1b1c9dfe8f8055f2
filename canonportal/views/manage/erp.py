"""The staff's ERP pages: upload files to import, export payments, and the records of both.

- ``/manage/@@importar``: several CSV, XML and PDF files and an optional kind,
  handed to :func:`canonportal.erp.imports.run_import` (the code path of
  ``canonportal-import``). A file with any bad row changes nothing: the
  transaction is doomed, so not even the audit log or the imports folder
  are written, and the page shows every error with its file and line (400).
- ``/manage/@@exportar``: the approved payments not yet exported, or a date
  range (a re-export on purpose), through
  :func:`canonportal.erp.exports.export_payments`; the CSV is kept in the
  export record and downloaded from its page.
- Import and export records (``/manage/imports/<name>``,
  ``/manage/exports/<name>``) say who, when, what; an export can be
  downloaded again exactly as it first went out.
"""
from types import SimpleNamespace

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ... import audit, clock, mail
from ...complements import deadline_day
from ...erp.exports import exportable_payments, export_payments
from ...erp.imports import run_import
from ...gateways import bank_label
from ...i18n import _, ngettext
from ...money import ZERO
from ...payments.applied import send_applied
from ...resources import PortalRoot
from ...resources.exports import FISCAL, ExportRecord
from ...resources.imports import KINDS, ImportRecord
from .. import settings_of
from . import MANAGE, ROUTE, VIEW, Page, manage_globals, manage_url, page_number, read_day
from .root import STATE_LABELS, newest_records


#: The flash after an export, counted through the catalog's plural rule.
EXPORTED = ngettext('Se exportó ${count} pago en ${file}.', 'Se exportaron ${count} pagos en ${file}.')

IMPORT_TEMPLATE = 'canonportal:templates/manage/import.pt'
IMPORT_RECORD_TEMPLATE = 'canonportal:templates/manage/import_record.pt'
EXPORT_TEMPLATE = 'canonportal:templates/manage/export.pt'
EXPORT_RECORD_TEMPLATE = 'canonportal:templates/manage/export_record.pt'

#: What each import kind is called on the form.
KIND_LABELS = {
    'customers': _('Clientes (CSV)'),
    'invoices': _('Facturas (CSV, CFDI XML y PDF)'),
    'balances': _('Saldos y pagos aplicados por el ERP (CSV)'),
    'statements': _('Estados de cuenta (CSV y PDF)'),
    'rates': _('Tipos de cambio FIX (CSV)'),
    'complements': _('Complementos de pago (CFDI de pago XML y PDF)'),
}
ACCEPTED_FILES = '.csv,.txt,.tsv,.xml,.pdf,text/csv,text/xml,application/xml,application/pdf'
#: Payments listed on the export page before the button (the CSV carries them all).
PREVIEW = 20
RECORDS_SHOWN = 10


def _translate(request, message):
    return request.localizer.translate(message)


def erp_tabs(request):
    root = request.root
    return (('import', manage_url(request, root, '@@importar'), _('Importar')),
            ('imports', manage_url(request, root['imports']), _('Importaciones')),
            ('export', manage_url(request, root, '@@exportar'), _('Exportar')),
            ('fiscal', manage_url(request, root, '@@datos-fiscales'), _('Datos fiscales')),
            ('exports', manage_url(request, root['exports']), _('Exportaciones')))


# -- imports -------------------------------------------------------------------------------

def _import_values(request, **values):
    values.setdefault('report', None)
    values.setdefault('error', None)
    values.setdefault('kind', '')
    return manage_globals(
        request, request.root, page_title=_('Importar archivos del ERP'),
        kinds=[(kind, KIND_LABELS.get(kind, kind)) for kind in KINDS],
        accepted=ACCEPTED_FILES, records=newest_records(request.root['imports'], RECORDS_SHOWN),
        tabs=erp_tabs(request), current_tab='import', **values)


@view_config(route_name=ROUTE, context=PortalRoot, name='importar', permission=VIEW,
             request_method='GET', renderer=IMPORT_TEMPLATE)
def import_form(context, request):
    return _import_values(request)


def uploaded_files(request, field='files'):
    """``[(file name, binary file)]`` of the files posted in ``field`` (empty parts skipped)."""
    found = []
    for item in request.POST.getall(field):
        filename = getattr(item, 'filename', None)
        if filename and getattr(item, 'file', None) is not None:
            found.append((filename, item.file))
    return found


@view_config(route_name=ROUTE, context=PortalRoot, name='importar', permission=MANAGE,
             request_method='POST', renderer=IMPORT_TEMPLATE)
def import_files(context, request):
    kind = request.POST.get('kind', '').strip()
    files = uploaded_files(request)
    error = None
    if kind and kind not in KINDS:
        error = _('Elija un tipo de importación de la lista.')
    elif not files:
        error = _('Elija al menos un archivo.')
    if error:
        request.response.status = 400
        return _import_values(request, error=error, kind=kind)

    report = run_import(context, files, audit.actor_of(request), kind=kind or None,
                        now=clock.utcnow(), settings=request.registry.settings)
    if not report.ok:
        # Nothing of a refused import may stay: doom the transaction, so
        # pyramid_tm aborts it even though a page is returned.
        request.tm.doom()
        request.response.status = 400
        return _import_values(request, report=_report_view(request, report), kind=kind)
    record = report.record
    settings = settings_of(request)
    # Each payer of a payment the ERP applied gets one mail, once this import commits.
    send_applied(context, report.applied, lambda *parts: mail.send(request, *parts),
                 settings['company_name'], settings['public_url'])
    request.session.flash(_translate(request, _(
        'Importación terminada: ${created} creados, ${updated} actualizados, ${unchanged} sin '
        'cambios, ${warnings} advertencias.', mapping=report.counts)))
    return HTTPSeeOther(manage_url(request, record) if record is not None
                        else manage_url(request, context, '@@importar'))


def _report_view(request, report):
    """What the page shows of a refused import (already translated)."""
    translate = request.localizer.translate
    return SimpleNamespace(
        ok=report.ok, kind=report.kind, files=list(report.files),
        errors=[SimpleNamespace(file=source or '', line=line, reason=translate(reason))
                for source, line, reason in report.errors],
        error_count=report.error_count,
        warnings=[SimpleNamespace(file=source or '', line=line, reason=translate(reason))
                  for source, line, reason in report.warnings],
        warning_count=report.warning_count,
        summary=report.summary_lines(translate))


@view_config(route_name=ROUTE, context=ImportRecord, permission=VIEW, request_method='GET',
             renderer=IMPORT_RECORD_TEMPLATE)
def import_record(context, request):
    translate = request.localizer.translate
    warnings = [SimpleNamespace(file=w[0] or '', line=w[1], reason=translate(w[2]))
                for w in context.warnings]
    return manage_globals(
        request, context, page_title=context.title, record=context,
        kind_label=KIND_LABELS.get(context.kind, context.kind), warnings=warnings,
        notes=[translate(note) for note in context.notes],
        audit_url=manage_url(request, request.root.audit_log,
                             query={'target': audit.target_path(context)}),
        tabs=erp_tabs(request), current_tab='imports')


# -- exports -------------------------------------------------------------------------------

class ExportRange:
    """The dates of a range export, validated (Mexico City days, both inclusive)."""

    def __init__(self, params):
        self.since_text = (params.get('since') or '').strip()
        self.until_text = (params.get('until') or '').strip()
        self.include_exported = bool(params.get('include_exported'))
        self.errors = {}
        self.since = read_day(self.errors, 'since', self.since_text)
        self.until = read_day(self.errors, 'until', self.until_text)
        if not self.errors:
            if self.since is None and self.until is None:
                self.errors['since'] = _('Escriba al menos una de las dos fechas.')
            elif self.since and self.until and self.until < self.since:
                self.errors['until'] = _('La fecha final es anterior a la inicial.')


def _payment_rows(request, payments):
    return [SimpleNamespace(payment=p, url=manage_url(request, p),
                            state=STATE_LABELS.get(p.state, p.state),
                            bank=bank_label(p.bank)) for p in payments]


def _export_values(request, **values):
    root = request.root
    pending = exportable_payments(root)
    values.setdefault('range', None)
    values.setdefault('notice', None)
    values.setdefault('range_form', SimpleNamespace(since_text='', until_text='',
                                                    include_exported=True, errors={}))
    return manage_globals(
        request, root, page_title=_('Exportar pagos al ERP'),
        pending_count=len(pending), pending_total=sum((p.total_mxn for p in pending), ZERO),
        preview=_payment_rows(request, pending[:PREVIEW]),
        records=newest_records(root['exports'], RECORDS_SHOWN),
        tabs=erp_tabs(request), current_tab='export', **values)


@view_config(route_name=ROUTE, context=PortalRoot, name='exportar', permission=VIEW,
             request_method='GET', renderer=EXPORT_TEMPLATE)
def export_form(context, request):
    return _export_values(request)


@view_config(route_name=ROUTE, context=PortalRoot, name='exportar', permission=MANAGE,
             request_method='POST', renderer=EXPORT_TEMPLATE)
def export(context, request):
    mode = request.POST.get('mode', '')
    if mode == 'pending':
        since = until = None
        include_exported = False
        payments = exportable_payments(context)
    elif mode == 'range':
        chosen = ExportRange(request.POST)
        if chosen.errors:
            request.response.status = 400
            return _export_values(request, range_form=chosen)
        since, until, include_exported = chosen.since, chosen.until, chosen.include_exported
        payments = exportable_payments(context, since=since, until=until,
                                       include_exported=include_exported)
    else:
        request.response.status = 400
        return _export_values(request, notice=_('Elija qué exportar.'))
    if not payments:
        extra = {'range_form': chosen} if mode == 'range' else {}
        return _export_values(request, notice=_('No hay pagos que exportar con esa selección; '
                                                'no se creó ningún archivo.'), **extra)
    record = export_payments(context, payments, audit.actor_of(request), clock.utcnow(),
                             since=since, until=until, include_exported=include_exported,
                             deadline_day=deadline_day(request.registry.settings))
    request.session.flash(EXPORTED.format(request, record.payment_count, file=record.filename))
    return HTTPSeeOther(manage_url(request, record))


@view_config(route_name=ROUTE, context=ExportRecord, permission=VIEW, request_method='GET',
             renderer=EXPORT_RECORD_TEMPLATE)
def export_record(context, request):
    by_reference = request.root.payments_by_reference
    page = Page(request, context.references, page_number(request), size=100,
                total=len(context.references))
    rows = []
    if context.kind == FISCAL:
        customers = request.root.customers
        rows = [SimpleNamespace(rfc=rfc, customer=customers.get(rfc),
                                url=manage_url(request, customers[rfc]) if rfc in customers
                                else None) for rfc in page.items]
    for reference in (page.items if context.kind != FISCAL else ()):
        payment = by_reference.get(reference)
        rows.append(SimpleNamespace(
            reference=reference, payment=payment,
            url=manage_url(request, payment) if payment is not None else None,
            reexported=reference in context.reexported))
    return manage_globals(
        request, context, page_title=context.title, record=context, page=page, rows=rows,
        state_labels=STATE_LABELS, download_url=manage_url(request, context, '@@descargar'),
        audit_url=manage_url(request, request.root.audit_log,
                             query={'target': audit.target_path(context)}),
        tabs=erp_tabs(request), current_tab='exports')


@view_config(route_name=ROUTE, context=ExportRecord, name='descargar', permission=VIEW,
             request_method='GET')
def download_export(context, request):
    """The export's CSV, byte for byte as it first went out."""
    response = Response(body=context.csv_bytes(), content_type='text/csv', charset='utf-8')
    response.content_disposition = f'attachment; filename="{context.filename}"'
    response.cache_control = 'no-store'
    return response
