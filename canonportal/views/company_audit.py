"""BITÁCORA: what the people of a company did in the portal, and what happened to its
payments, newest first, each entry a sentence with names and links
(:mod:`canonportal.views.audit_sentences`). Only the company's administrators see it.
"""
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from . import settings_of
from .audit_sentences import Sentences
from .customer import page

#: At most this many entries are shown, newest first.
AUDIT_SHOWN = 200


@view_config(context=Customer, name='bitacora', permission='manage-company', request_method='GET',
             renderer='canonportal:templates/company_audit.pt')
def company_audit(context, request):
    """The company's entries of the audit log (its own path and everything under it)."""
    path = request.resource_path(context).rstrip('/')
    sentences = Sentences(request, context, settings_of(request)['company_name'])
    entries = []
    for entry in request.root.audit_log.search(target=path):
        if entry.target != path and not entry.target.startswith(path + '/'):
            continue        # another RFC that starts like this one
        entries.append({'when': entry.when, 'sentence': sentences.describe(entry),
                        'action': entry.action})
        if len(entries) >= AUDIT_SHOWN:
            break
    return page(context, request, 'bitacora', _('Bitácora de la empresa'), entries=entries)
