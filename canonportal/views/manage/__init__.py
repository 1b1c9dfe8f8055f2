"""The staff's management views over the tree, after Substance D's SDI.

Every object is reachable at ``/manage`` + its path in the tree (a route
with traversal), so management views attach to resource types like the
customer views do, and permissions still come from the resources' ACLs:

- ``manage-view``: read anything (admin, operator, auditor);
- ``manage``: act on customers, payments, imports and exports (admin, operator);
- ``manage-staff``: staff accounts (admin only).

Customers hold none of these, so they get 403 anywhere under /manage.
Modules: ``root`` (dashboard), ``contents`` (generic properties and
children), one module per resource type, ``search``, ``staff``, ``audit``
and ``erp`` (imports and exports).
"""
import math

from pyramid.location import lineage
from pyramid.traversal import resource_path_tuple

from ... import dates
from ...i18n import _
from ...resources import ADMIN, AUDITOR, OPERATOR
from ...resources.interfaces import ICustomer

ROUTE = 'manage'
VIEW = 'manage-view'
MANAGE = 'manage'
MANAGE_STAFF = 'manage-staff'

#: How each staff role is named on the pages.
ROLE_LABELS = {
    ADMIN: _('Administrador'),
    OPERATOR: _('Operador'),
    AUDITOR: _('Auditor'),
}

PAGE_SIZE = 50


def manage_url(request, resource, *elements, query=None):
    """The management URL of ``resource`` (plus view name or sub-path ``elements``)."""
    # resource_path_tuple starts with '' (the root), which puts the slash
    # between /manage and the path: ('', 'customers') → /manage/customers.
    path = resource_path_tuple(resource) + tuple(elements)
    if path == ('',):
        path = ()
    return request.route_url(ROUTE, traverse=path, _query=query or {})


def breadcrumbs(request, context):
    """``[(title, url), ...]`` from the root down to ``context``."""
    crumbs = [(getattr(node, 'title', None) or node.__name__ or _('Portal'), manage_url(request, node))
              for node in lineage(context)]
    crumbs.reverse()
    return crumbs


class Page:
    """One page of a sequence: ``items``, ``number``, ``count`` and links to neighbours.

    ``total`` may be given when the sequence knows its length (a Folder's
    ``len()``), so only the shown page is loaded.
    """

    def __init__(self, request, items, number, size=PAGE_SIZE, total=None):
        self.size = size
        self.total = total
        self.count = max(1, math.ceil(total / size)) if total is not None else None
        self.number = max(1, number)
        if self.count is not None:
            self.number = min(self.number, self.count)
        start = (self.number - 1) * size
        self.items = list(_slice(items, start, start + size + 1))
        self.has_next = len(self.items) > size
        self.items = self.items[:size]
        self.request = request

    @property
    def has_previous(self):
        return self.number > 1

    def url(self, number):
        query = dict(self.request.GET)
        query['page'] = str(number)
        return self.request.path_url + '?' + '&'.join(
            f'{k}={v}' for k, v in _quoted(query))


def page_number(request):
    try:
        return max(1, int(request.GET.get('page', '1')))
    except ValueError:
        return 1


def _slice(items, start, stop):
    import itertools
    if isinstance(items, (list, tuple)):
        return items[start:stop]
    return itertools.islice(items, start, stop)


def _quoted(query):
    from urllib.parse import quote
    return [(quote(str(k)), quote(str(v))) for k, v in query.items()]


def manage_globals(request, context, **values):
    """What every management template gets besides its own values."""
    user = request.identity.user
    values.setdefault('page_title', getattr(context, 'title', '') or _('Panel del personal'))
    values.setdefault('tabs', ())
    values.setdefault('current_tab', '')
    values.update(
        staff_user=user,
        role_label=ROLE_LABELS.get(user.role, user.role),
        crumbs=breadcrumbs(request, context),
        manage_url=lambda resource, *elements, **kw: manage_url(request, resource, *elements, **kw),
        can_manage=request.has_permission(MANAGE, context),
        can_manage_staff=request.has_permission(MANAGE_STAFF, request.root),
    )
    return values


class CustomerFolderPredicate:
    """The view predicate ``customer_folder='users'``: the context is the customer's child
    folder of that name. A customer's invoices, statements, payments and people are plain
    folders told apart by their name (as :func:`.listing.register_listing` does with
    ``under`` and ``name``); a view for one of them says which."""

    def __init__(self, value, config):
        self.value = value

    def text(self):
        return f'customer_folder = {self.value}'

    phash = text

    def __call__(self, context, request):
        return (getattr(context, '__name__', None) == self.value
                and ICustomer.providedBy(getattr(context, '__parent__', None)))


def includeme(config):
    config.add_view_predicate('customer_folder', CustomerFolderPredicate)


def read_day(errors, name, text):
    """The ``AAAA-MM-DD`` date in ``text``, None when empty; a bad one is reported in
    ``errors[name]`` (a filter or range form's field) and also gives None."""
    if not text:
        return None
    try:
        return dates.parse(text, ('%Y-%m-%d',))
    except dates.DateOutOfRange:
        errors[name] = dates.MSG_OUT_OF_RANGE
    except dates.BadDate:
        errors[name] = _('Escriba la fecha como AAAA-MM-DD.')
    return None
