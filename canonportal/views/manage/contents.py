"""The generic management view: an object's properties and, for folders, its children
(listed by :mod:`.listing`), and what the per-type pages share.

The per-type pages (customer, invoice, payment, statement, staff) live in their
own modules, register how their folders are listed, and use
:func:`object_values` and :func:`customer_tabs` from here.
"""
import datetime
import itertools
from decimal import Decimal

from persistent import Persistent
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.location import lineage
from pyramid.view import view_config

from ...i18n import _
from ...resources import Folder, customer_of
from . import ROUTE, VIEW, manage_globals, manage_url
from .listing import Cells, Listing

CONTENTS_TEMPLATE = 'canonportal:templates/manage/contents.pt'


# -- properties of any object -------------------------------------------------------------------

#: Attributes never shown, whatever the object (hashes, tokens, what a bank asked us to keep).
HIDDEN = ('password', 'hash', 'token', 'secret', 'start_data', 'success_indicator')


def _shown(name):
    return not name.startswith(('_', 'p_')) and not any(word in name for word in HIDDEN)


def generic_properties(obj, cells):
    """``[(label, text)]`` of an object's plain attributes (for objects without their own page)."""
    if isinstance(obj, Persistent):
        obj._p_activate()
    state = getattr(obj, '__dict__', {})
    found = []
    for name in sorted(state):
        if not _shown(name):
            continue
        text = _plain(state[name], cells)
        if text is not None:
            found.append((name, text))
    return found


def _plain(value, cells):
    if value is None:
        return '—'
    if isinstance(value, bool):
        return cells.yes_no(value)
    if isinstance(value, datetime.datetime):
        return cells.fmt.timestamp(value)
    if isinstance(value, datetime.date):
        return cells.fmt.day(value)
    if isinstance(value, (str, int, float, Decimal)):
        return str(value)[:500]
    if isinstance(value, (tuple, list, frozenset, set)):
        parts = [_plain(v, cells) for v in itertools.islice(value, 21)]
        if any(p is None for p in parts):
            return None
        text = ', '.join(parts[:20])
        return text + ', …' if len(parts) > 20 else text
    return None  # containers, blobs and other objects have their own pages or none


# -- shared by the per-type pages ---------------------------------------------------------------

def customer_tabs(request, customer):
    """The tabs of a customer's pages: summary, invoices, statements, payments, people."""
    tabs = (
        ('', manage_url(request, customer), _('Cliente')),
        ('invoices', manage_url(request, customer.invoices), _('Facturas')),
        ('statements', manage_url(request, customer.statements), _('Estados de cuenta')),
        ('payments', manage_url(request, customer.payments), _('Pagos')),
    )
    if customer.users is None:          # a database the evolve step has not reached yet
        return tabs
    return tabs + (('users', manage_url(request, customer.users), _('Usuarios')),)


def object_values(request, context, **values):
    """``manage_globals`` plus the customer's tabs for anything inside a customer."""
    customer = customer_of(context)
    if customer is not None and 'tabs' not in values:
        values['tabs'] = customer_tabs(request, customer)
        values['current_tab'] = next((node.__name__ for node in lineage(context)
                                      if node.__parent__ is customer), '')
    values.setdefault('error', None)
    return manage_globals(request, context, **values)


def flash(request, message):
    request.session.flash(request.localizer.translate(message))


def back_to(request, context, message):
    """Flash ``message`` and go back to ``context``'s management page (303)."""
    flash(request, message)
    return HTTPSeeOther(manage_url(request, context))


def refuse(request, values_of, context, message, status=400):
    """Bad input: the page again with ``message``, status 400, nothing changed."""
    request.response.status = status
    return values_of(context, request, error=message)


# -- the views ----------------------------------------------------------------------------------

def folder_values(context, request, **values):
    listing = Listing(request, context)
    properties = [
        (_('Tipo'), type(context).__name__),
        (_('Elementos'), str(listing.count)),
    ]
    return object_values(request, context, listing=listing, properties=properties,
                         page_title=getattr(context, 'title', '') or context.__name__, **values)


@view_config(route_name=ROUTE, context=Folder, permission=VIEW, request_method='GET',
             renderer=CONTENTS_TEMPLATE)
def folder_view(context, request):
    """Any folder: its children, paginated, sortable and filterable."""
    return folder_values(context, request)


@view_config(route_name=ROUTE, context=object, permission=VIEW, request_method='GET',
             renderer=CONTENTS_TEMPLATE)
def object_view(context, request):
    """Any other object: its plain properties."""
    cells = Cells(request)
    properties = [(_('Tipo'), type(context).__name__)] + generic_properties(context, cells)
    title = getattr(context, 'title', '') or getattr(context, '__name__', '') or ''
    return object_values(request, context, listing=None, properties=properties,
                         page_title=title)

