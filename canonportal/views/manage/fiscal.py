"""The staff's page of the companies' fiscal data (DATOS FISCALES) waiting for the ERP.

``/manage/@@datos-fiscales`` lists the changes not exported yet (who the company is, what
it keeps now, when it changed, its Constancia) and exports them with one button, through
:func:`canonportal.erp.fiscal.export_fiscal` (the code path of
``canonportal-export --kind fiscal``); the CSV is kept in the export record and
downloaded from its page.
"""
from types import SimpleNamespace

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ... import audit, clock, downloads, sat_catalogs
from ...erp.fiscal import export_fiscal, fiscal_customers, fiscal_facts
from ...i18n import _, ngettext
from ...resources import Customer, PortalRoot
from . import MANAGE, ROUTE, VIEW, manage_globals, manage_url
from .erp import erp_tabs

VIEW_NAME = 'datos-fiscales'
TEMPLATE = 'canonportal:templates/manage/fiscal.pt'
WAITING = ngettext('${count} empresa con cambios.', '${count} empresas con cambios.')
EXPORTED = ngettext('Se exportaron los datos fiscales de ${count} empresa en ${file}.',
                    'Se exportaron los datos fiscales de ${count} empresas en ${file}.')


def _rows(request, customers):
    regimes, usos = sat_catalogs.regimes(), sat_catalogs.usos()
    rows = []
    for customer in customers:
        facts = fiscal_facts(customer)
        rows.append(SimpleNamespace(
            customer=customer, url=manage_url(request, customer), facts=facts,
            regime=regimes.get(facts['regimen'], ('',))[0],
            uso=usos.get(facts['uso_cfdi'], ('',))[0],
            exported=customer.fiscal_exported))
    return rows


def _values(request, notice=None):
    root = request.root
    pending = fiscal_customers(root)
    return manage_globals(request, root, page_title=_('Datos fiscales de los clientes'),
                          rows=_rows(request, pending), notice=notice,
                          pending_text=WAITING.format(request, len(pending)),
                          action=manage_url(request, root, '@@' + VIEW_NAME),
                          tabs=erp_tabs(request), current_tab='fiscal')


@view_config(route_name=ROUTE, context=PortalRoot, name=VIEW_NAME, permission=VIEW,
             request_method='GET', renderer=TEMPLATE)
def fiscal_changes(context, request):
    return _values(request)


@view_config(route_name=ROUTE, context=PortalRoot, name=VIEW_NAME, permission=MANAGE,
             request_method='POST', renderer=TEMPLATE)
def export_fiscal_changes(context, request):
    everything = request.POST.get('mode') == 'all'
    record = export_fiscal(context, audit.actor_of(request), clock.utcnow(),
                           pending_only=not everything)
    if record is None:
        request.response.status = 400
        return _values(request, notice=_('No hay datos fiscales que exportar; no se creó '
                                         'ningún archivo.'))
    request.session.flash(EXPORTED.format(request, record.payment_count, file=record.filename))
    return HTTPSeeOther(manage_url(request, record))


@view_config(route_name=ROUTE, context=Customer, name='constancia-fiscal.pdf', permission=VIEW,
             request_method='GET')
def constancia_pdf(context, request):
    """The Constancia de Situación Fiscal the company uploaded, for the staff who check it."""
    return downloads.blob_response(context.fiscal_constancia, 'application/pdf',
                                   downloads.safe_name(f'constancia-{context.rfc}.pdf'))
