"""Payment complements (REP) for the customer: each one's XML and PDF, and a month's in one
ZIP (HISTORIAL's month filter); what the pages show of them is :mod:`.complement_lists`.

A complement is reached under its customer (``/customers/<RFC>/complements/<UUID>``), so the
customer's ACL and the complement's own (:class:`~canonportal.resources.ownership.
AccountDocument`: the accounts of the invoices it documents) decide who gets it, as for every
other document; the lists below keep only those the person may see.
"""
import shutil
import tempfile
import zipfile

from pyramid.response import FileIter, Response
from pyramid.view import view_config

from .. import downloads
from ..complements.deadline import local_day
from ..i18n import _
from ..resources import Customer
from ..resources.complement import Complement
from .complement_lists import ZIP_NAME
from .customer import sees, visible_accounts
from .history import MONTH_PARAM, read_filters, render_refusal



@view_config(context=Complement, name='xml', permission='view', request_method='GET')
def complement_xml(context, request):
    return downloads.complement_xml(context)


@view_config(context=Complement, name='pdf', permission='view', request_method='GET')
def complement_pdf(context, request):
    return downloads.complement_pdf(context)


def of_month(request, customer, month, account=''):
    """The current complements of ``customer`` with a payment in ``month`` (``YYYY-MM``, the
    FechaPago) that the person may see, of ``account`` when given."""
    accounts = visible_accounts(request)
    found = []
    for complement in customer.complements.values() if customer.complements else ():
        if not complement.current:
            continue
        if not any(local_day(p.paid_on).strftime('%Y-%m') == month for p in complement.payments):
            continue
        if account and account not in complement.accounts:
            continue
        if all(sees(accounts, a) for a in complement.accounts) \
                and request.has_permission('view', complement):
            found.append(complement)
    return found


@view_config(context=Customer, name=ZIP_NAME, permission='view', request_method='GET')
def complements_zip(context, request):
    """The XML and PDF of a month's complements (HISTORIAL's month and account filters)."""
    filters, errors = read_filters(context, request.GET, visible_accounts(request))
    if not errors and not filters.month:
        errors[MONTH_PARAM] = _('Elija el mes de los complementos que quiere descargar.')
    found = [] if errors else of_month(request, context, filters.month, filters.account)
    if not errors and not found:
        errors[MONTH_PARAM] = _('No hay complementos de pago de pagos de ${month}.',
                                mapping={'month': filters.month})
    if errors:
        return render_refusal(context, request, filters, errors)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        for complement in found:
            for blob, extension in ((complement.xml, 'xml'), (complement.pdf, 'pdf')):
                if blob is None:
                    continue
                name = downloads.complement_file_name(complement, extension)
                with blob.open('r') as source, archive.open(name, 'w') as target:
                    shutil.copyfileobj(source, target)
    size = spool.tell()
    spool.seek(0)
    response = Response(content_type='application/zip', app_iter=FileIter(spool))
    response.content_length = size
    response.content_disposition = (
        f'attachment; filename="{downloads.safe_name(context.rfc)}-complementos-'
        f'{filters.month}.zip"')
    response.cache_control = 'private, no-store'
    return response
