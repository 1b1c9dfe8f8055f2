"""DATOS FISCALES: the fiscal data a company's administrators keep for its CFDIs.

The razón social exactly as in the Constancia de Situación Fiscal, the régimen fiscal,
the código postal of the fiscal address and the uso de CFDI, each checked against the
SAT's catalogues (:mod:`canonportal.sat_catalogs`: the regimes of the RFC's person type,
the usos the SAT accepts for that regime); optionally the Constancia's PDF, kept as a
blob. Each change is audited (BITÁCORA and the staff's log) and waits for the ERP
export (``canonportal-export --kind fiscal``) so the next CFDI is stamped right.
"""
import re

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from .. import audit, clock, downloads, sat_catalogs
from ..erp.documents import PDF_MAGIC
from ..erp.fiscal import change_fiscal, fiscal_facts
from ..i18n import _
from ..resources import Customer
from ..resources.blobs import keeps_blobs
from .customer import page

VIEW_NAME = 'datos-fiscales'
TEMPLATE = 'canonportal:templates/fiscal.pt'
PERMISSION = 'manage-company'
#: CFDI 4.0's Receptor/@Nombre holds at most 254 characters.
MAX_NAME = 254
#: A Constancia de Situación Fiscal is one or two pages: well under a customer's body limit.
MAX_CONSTANCIA_BYTES = 512 * 1024
#: The form's fields by name, for the summary of errors above the form to link to.
FIELD_IDS = {'razon_social': 'fiscal-name', 'regimen': 'fiscal-regime', 'cp': 'fiscal-zip',
             'uso_cfdi': 'fiscal-use', 'constancia': 'fiscal-constancia'}
ZIP_RE = re.compile(r'^[0-9]{5}$')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def fiscal_values(customer, request, errors=None, form=None):
    person = sat_catalogs.person_type(customer.rfc)
    regimes = sat_catalogs.regimes()
    usos = sat_catalogs.usos()
    return page(customer, request, VIEW_NAME, _('Datos fiscales'),
                errors=errors or {}, form=form or fiscal_facts(customer),
                regimes=[(code, regimes[code][0]) for code in sat_catalogs.regimes_for(person)],
                usos=[(code, usos[code][0]) for code in sat_catalogs.usos_for(person)],
                person_moral=person == sat_catalogs.MORAL,
                max_name=MAX_NAME, max_kb=MAX_CONSTANCIA_BYTES // 1024, field_ids=FIELD_IDS,
                action=request.resource_url(customer, VIEW_NAME))


@view_config(context=Customer, name=VIEW_NAME, permission=PERMISSION, request_method='GET',
             renderer=TEMPLATE)
def fiscal_page(context, request):
    return fiscal_values(context, request)


def read_form(customer, request):
    """``(form, errors)`` of the posted fiscal data, each field bounded before it is read."""
    post = request.POST
    person = sat_catalogs.person_type(customer.rfc)
    name = _CONTROL.sub(' ', (post.get('razon_social') or '')[:MAX_NAME * 4])
    form = {'razon_social': ' '.join(name.split()),
            'regimen': (post.get('regimen') or '').strip()[:3],
            'cp': (post.get('cp') or '').strip()[:10],
            'uso_cfdi': (post.get('uso_cfdi') or '').strip().upper()[:4]}
    errors = {}
    if not form['razon_social']:
        errors['razon_social'] = _('Escriba la razón social como aparece en su Constancia de '
                                   'Situación Fiscal.')
    elif len(form['razon_social']) > MAX_NAME:
        errors['razon_social'] = _('La razón social tiene como máximo ${max} caracteres.',
                                   mapping={'max': MAX_NAME})
        form['razon_social'] = form['razon_social'][:MAX_NAME]
    if form['regimen'] not in sat_catalogs.regimes_for(person):
        errors['regimen'] = _('Elija un régimen fiscal de la lista.')
    if not ZIP_RE.match(form['cp']):
        errors['cp'] = _('El código postal tiene 5 dígitos, por ejemplo 06600.')
    elif not sat_catalogs.zip_exists(form['cp']):
        errors['cp'] = _('El código postal ${cp} no está en el catálogo del SAT; escríbalo '
                         'como aparece en su Constancia.', mapping={'cp': form['cp']})
    if form['uso_cfdi'] not in sat_catalogs.usos():
        errors['uso_cfdi'] = _('Elija un uso de CFDI de la lista.')
    elif 'regimen' not in errors and not sat_catalogs.uso_fits(form['uso_cfdi'], form['regimen'],
                                                               person):
        errors['uso_cfdi'] = _(
            'El SAT no acepta el uso de CFDI ${uso} para el régimen ${regimen}: elija otro uso '
            'o revise el régimen de su Constancia.',
            mapping={'uso': form['uso_cfdi'], 'regimen': form['regimen']})
    return form, errors


def read_constancia(field):
    """``(bytes or None, problem or None)`` of the optional Constancia upload."""
    handle = getattr(field, 'file', None)
    if handle is None:
        return None, None
    data = handle.read(MAX_CONSTANCIA_BYTES + 1)
    if not data:
        return None, None
    if len(data) > MAX_CONSTANCIA_BYTES:
        return None, _('La Constancia pasa del límite de ${kb} KB.',
                       mapping={'kb': MAX_CONSTANCIA_BYTES // 1024})
    if not data.startswith(PDF_MAGIC):
        return None, _('La Constancia debe ser un archivo PDF.')
    return data, None


@view_config(context=Customer, name=VIEW_NAME, permission=PERMISSION, request_method='POST')
def save_fiscal(context, request):
    form, errors = read_form(context, request)
    constancia, problem = read_constancia(request.POST.get('constancia'))
    if problem is None and constancia is not None and not keeps_blobs(context):
        problem = _('El portal no puede guardar archivos ahora; intente más tarde.')
    if problem is not None:
        errors['constancia'] = problem
    if errors:
        request.tm.doom()
        response = render_to_response(TEMPLATE, fiscal_values(context, request, errors, form),
                                      request=request)
        response.status = 400
        return response
    if not change_fiscal(request.root, context, form, constancia, audit.actor_of(request),
                         clock.utcnow()):
        request.session.flash(request.localizer.translate(_('Los datos fiscales no cambiaron.')))
        return HTTPSeeOther(request.resource_url(context, VIEW_NAME))
    request.session.flash(request.localizer.translate(_(
        'Se guardaron los datos fiscales; su próxima factura se emitirá con ellos.')))
    return HTTPSeeOther(request.resource_url(context, VIEW_NAME))


@view_config(context=Customer, name='constancia-fiscal.pdf', permission=PERMISSION,
             request_method='GET')
def constancia_pdf(context, request):
    """The Constancia the company uploaded (its administrators only)."""
    return downloads.blob_response(context.fiscal_constancia, 'application/pdf',
                                   downloads.safe_name(f'constancia-{context.rfc}.pdf'))
