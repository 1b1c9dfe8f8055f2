"""The generic management view: an object's properties and, for folders, its children.

A folder may hold a million customers, or five thousand invoices of one
customer, so the listing never loads more than the page it shows when it can
avoid it:

- by name (the BTree's order, both ways) only the page's keys are walked and
  only the page's children loaded; descending order steps back with
  ``maxKey`` instead of indexing from the end (which would load every bucket);
- attribute filters (invoice status or currency, payment state) load children
  one by one in name order, stop as soon as the page is full and give up after
  :data:`SCAN_LIMIT` children, saying so;
- sorting by any other column needs every child, so it is offered only for
  folders of at most :data:`SORT_LIMIT` children.

The per-type pages (customer, invoice, payment, statement) live in their own
modules and use :func:`object_values` and :func:`customer_tabs` from here.
"""
import datetime
import itertools
from decimal import Decimal
from urllib.parse import urlencode

from persistent import Persistent
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.traversal import find_interface
from pyramid.view import view_config

from ... import clock
from ...formatting import Formatter
from ...i18n import _
from ...resources import Customer, Folder
from ...resources.customer import ACTIVE, NEW, Customers
from ...resources.invoice import CURRENCIES, OPEN, OVERDUE, PAID
from ...resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REFUND_NEEDED, REVIEW)
from ...resources.staff import StaffFolder
from . import PAGE_SIZE, ROLE_LABELS, ROUTE, VIEW, Page, manage_globals, manage_url, page_number

#: Column sorts load every child: offered only up to this many.
SORT_LIMIT = 2000
#: Attribute filters stop after looking at this many children.
SCAN_LIMIT = 20000
#: Above every character a key can hold: ``prefix + TOP`` bounds the keys starting with prefix.
TOP = '\U0010ffff' * 64

CONTENTS_TEMPLATE = 'canonportal:templates/manage/contents.pt'

#: Query parameters of the listings.
PREFIX_PARAM = 'prefijo'
ORDER_PARAM = 'orden'
DIRECTION_PARAM = 'dir'
DESCENDING = 'desc'

#: Payment states as staff read them.
PAYMENT_STATE_LABELS = {
    PENDING: _('Pendiente'),
    APPROVED: _('Aprobado'),
    APPLIED: _('Aplicado'),
    REVIEW: _('En revisión'),
    DECLINED: _('Rechazado'),
    CANCELLED: _('Cancelado'),
    EXPIRED: _('Vencido'),
    REFUND_NEEDED: _('Reembolso pendiente'),
}

INVOICE_STATUS_LABELS = {
    OPEN: _('Abierta'),
    OVERDUE: _('Vencida'),
    PAID: _('Pagada'),
}

CUSTOMER_STATE_LABELS = {
    NEW: _('Nuevo: aún no entra (usuario y contraseña = RFC)'),
    ACTIVE: _('Activo'),
}

YES, NO = _('Sí'), _('No')


# -- walking a folder by name --------------------------------------------------------------

def _just_below(key):
    """A bound just under ``key``: every key smaller than it is <= the bound."""
    if not key:
        return None
    last = key[-1]
    if last == '\x00':
        return key[:-1]
    return key[:-1] + chr(ord(last) - 1) + TOP


def keys_descending(tree, low=None, high=None):
    """The keys of an OOBTree from ``high`` down to ``low`` (both included), lazily.

    Each step is one ``maxKey`` lookup, so the first page costs a few bucket
    loads however large the tree (``keys()[-1]`` would load every bucket).
    """
    bound = high
    while True:
        try:
            key = tree.maxKey(bound) if bound is not None else tree.maxKey()
        except ValueError:  # nothing at or below the bound
            return
        if low is not None and key < low:
            return
        yield key
        bound = _just_below(key)
        if bound is None:
            return


def folder_keys(folder, prefix='', descending=False):
    """The names of ``folder``'s children starting with ``prefix``, in BTree order."""
    low, high = (prefix, prefix + TOP) if prefix else (None, None)
    if descending:
        return keys_descending(folder.data, low, high)
    return iter(folder.keys(low, high))


# -- what each kind of folder shows ---------------------------------------------------------

class Column:
    """One column of a listing: ``cell(child, cells)`` gives the text, ``sort`` a sort key."""

    def __init__(self, key, label, cell, sort=None, numeric=False):
        self.key = key
        self.label = label
        self.cell = cell
        self.sort = sort
        self.numeric = numeric


class Choice:
    """A filter over an attribute: ``test(child, value, today)``, with ``options`` [(value, label)]."""

    def __init__(self, param, label, options, test):
        self.param = param
        self.label = label
        self.options = tuple(options)
        self.test = test

    @property
    def values(self):
        return {value for value, _label in self.options}


class Cells:
    """What the cell functions need: the locale's formatter and Mexico City's today."""

    def __init__(self, request):
        self.fmt = Formatter(request.locale_name)
        self.today = clock.mexico_today()
        self.translate = request.localizer.translate

    def label(self, labels, key):
        return self.translate(labels[key]) if key in labels else key

    def yes_no(self, value):
        return self.translate(YES if value else NO)


def _when(child):
    for name in ('when', 'created', 'issued'):
        value = getattr(child, name, None)
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value
    return None


def _when_text(child, cells):
    value = _when(child)
    if isinstance(value, datetime.datetime):
        return cells.fmt.timestamp(value)
    return cells.fmt.day(value)


def _sortable_when(child):
    value = _when(child)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    return None


CUSTOMER_COLUMNS = (
    Column('name', _('Razón social'), lambda c, x: c.name, lambda c: (c.name or '').casefold()),
    Column('accounts', _('Cuentas'), lambda c, x: ', '.join(c.accounts)),
    Column('state', _('Acceso'), lambda c, x: x.label(CUSTOMER_STATE_LABELS, c.state),
           lambda c: c.state),
    Column('email', _('Correo confirmado'), lambda c, x: c.email or '—',
           lambda c: c.email or ''),
    Column('disabled', _('Deshabilitado'), lambda c, x: x.yes_no(c.disabled),
           lambda c: bool(c.disabled)),
)

INVOICE_COLUMNS = (
    Column('account', _('Cuenta'), lambda i, x: i.account, lambda i: i.account),
    Column('issued', _('Emisión'), lambda i, x: x.fmt.day(i.issued), lambda i: i.issued),
    Column('due', _('Vencimiento'), lambda i, x: x.fmt.day(i.due), lambda i: i.due),
    Column('amount', _('Importe'), lambda i, x: x.fmt.money(i.amount, i.currency),
           lambda i: i.amount_mxn, numeric=True),
    Column('balance', _('Saldo'), lambda i, x: x.fmt.money(i.balance, i.currency),
           lambda i: i.balance_mxn, numeric=True),
    Column('in_transit', _('En tránsito'), lambda i, x: x.fmt.money(i.in_transit, i.currency),
           lambda i: i.in_transit, numeric=True),
    # By status: unpaid ones first, the longest overdue on top, the paid ones last.
    Column('status', _('Estado'), lambda i, x: x.label(INVOICE_STATUS_LABELS, i.status(x.today)),
           lambda i: (i.balance <= 0, i.due or datetime.date.max)),
)

STATEMENT_COLUMNS = (
    Column('account', _('Cuenta'), lambda s, x: s.account, lambda s: s.account),
    Column('issued', _('Emisión'), lambda s, x: x.fmt.timestamp(s.issued), _sortable_when),
    Column('pdf', _('PDF'), lambda s, x: x.translate(_('Del ERP') if s.pdf is not None
                                                     else _('Generado por el portal'))),
)

PAYMENT_COLUMNS = (
    Column('created', _('Creado'), lambda p, x: x.fmt.timestamp(p.created), _sortable_when),
    Column('bank', _('Banco'), lambda p, x: p.bank, lambda p: p.bank),
    Column('state', _('Estado'), lambda p, x: x.label(PAYMENT_STATE_LABELS, p.state),
           lambda p: p.state),
    Column('total', _('Total'), lambda p, x: x.fmt.money(p.total_mxn, 'MXN'),
           lambda p: p.total_mxn, numeric=True),
    Column('bank_reference', _('Referencia bancaria'), lambda p, x: p.bank_reference or '—'),
)

STAFF_COLUMNS = (
    Column('role', _('Rol'), lambda u, x: x.label(ROLE_LABELS, getattr(u, 'role', '')),
           lambda u: getattr(u, 'role', '')),
    Column('disabled', _('Deshabilitado'), lambda u, x: x.yes_no(getattr(u, 'disabled', False)),
           lambda u: bool(getattr(u, 'disabled', False))),
)

GENERIC_COLUMNS = (
    Column('title', _('Título'), lambda o, x: str(getattr(o, 'title', '') or ''),
           lambda o: str(getattr(o, 'title', '') or '')),
    Column('when', _('Fecha'), _when_text, _sortable_when),
    Column('type', _('Tipo'), lambda o, x: type(o).__name__, lambda o: type(o).__name__),
)

INVOICE_FILTERS = (
    Choice('estado', _('Estado'), INVOICE_STATUS_LABELS.items(),
           lambda invoice, value, today: invoice.status(today) == value),
    Choice('moneda', _('Moneda'), [(c, c) for c in CURRENCIES],
           lambda invoice, value, today: invoice.currency == value),
)

PAYMENT_FILTERS = (
    Choice('estado', _('Estado'), PAYMENT_STATE_LABELS.items(),
           lambda payment, value, today: payment.state == value),
)


class Kind:
    """How one kind of folder lists its children."""

    def __init__(self, name, name_label, columns, filters=()):
        self.name = name
        self.name_label = name_label
        self.columns = columns
        self.filters = filters


KINDS = {
    'customers': Kind('customers', _('RFC'), CUSTOMER_COLUMNS),
    'invoices': Kind('invoices', _('Factura'), INVOICE_COLUMNS, INVOICE_FILTERS),
    'statements': Kind('statements', _('Estado de cuenta'), STATEMENT_COLUMNS),
    'payments': Kind('payments', _('Referencia de pago'), PAYMENT_COLUMNS, PAYMENT_FILTERS),
    'staff': Kind('staff', _('Usuario'), STAFF_COLUMNS),
    'generic': Kind('generic', _('Nombre'), GENERIC_COLUMNS),
}


def kind_of(folder):
    if isinstance(folder, Customers):
        return KINDS['customers']
    if isinstance(folder, StaffFolder):
        return KINDS['staff']
    if isinstance(folder.__parent__, Customer) and folder.__name__ in KINDS:
        return KINDS[folder.__name__]
    return KINDS['generic']


# -- one page of a folder ---------------------------------------------------------------------

class Listing:
    """The children of ``folder`` the request asks for: one page, filtered and sorted."""

    def __init__(self, request, folder, kind=None, size=PAGE_SIZE):
        self.request = request
        self.folder = folder
        self.kind = kind or kind_of(folder)
        self.cells = Cells(request)
        params = request.GET
        self.errors = []
        self.truncated = False
        self.scanned = 0

        self.prefix = (params.get(PREFIX_PARAM) or '').strip()[:100]
        self.chosen = {}
        for choice in self.kind.filters:
            value = (params.get(choice.param) or '').strip()
            if value and value in choice.values:
                self.chosen[choice.param] = value
            elif value:
                self.errors.append(_('Valor no válido para «${label}»; se ignoró.',
                                     mapping={'label': request.localizer.translate(choice.label)}))

        self.count = len(folder)
        self.sortable = self._small_enough()
        columns = {c.key: c for c in self.kind.columns if c.sort is not None}
        self.order = params.get(ORDER_PARAM) or ''
        if self.order and (self.order not in columns or not self.sortable):
            if self.order in columns:
                self.errors.append(_('Con más de ${limit} elementos solo se ordena por nombre; '
                                     'filtre primero por prefijo.', mapping={'limit': SORT_LIMIT}))
            self.order = ''
        self.descending = params.get(DIRECTION_PARAM) == DESCENDING

        if self.order:
            children = sorted(self._filtered(folder_keys(folder, self.prefix)),
                              key=_sort_key(columns[self.order].sort), reverse=self.descending)
            self.page = Page(request, children, page_number(request), size, total=len(children))
        else:
            keys = folder_keys(folder, self.prefix, self.descending)
            filtering = bool(self.prefix or self.chosen)
            total = None if filtering else self.count
            self.page = Page(request, self._filtered(keys), page_number(request), size, total=total)
        if self.truncated:
            self.errors.append(_('La búsqueda se detuvo tras revisar ${count} elementos; '
                                 'use un prefijo para acotarla.', mapping={'count': self.scanned}))

    def _small_enough(self):
        """Whether the children a column sort would load are at most SORT_LIMIT.

        A big folder qualifies when the name prefix narrows it enough (only
        keys are walked to tell, at most SORT_LIMIT + 1 of them).
        """
        if self.count <= SORT_LIMIT:
            return True
        if not self.prefix:
            return False
        keys = folder_keys(self.folder, self.prefix)
        return sum(1 for _key in itertools.islice(keys, SORT_LIMIT + 1)) <= SORT_LIMIT

    @property
    def filtered(self):
        return bool(self.prefix or self.chosen)

    def _filtered(self, keys):
        """The children under ``keys`` that pass the chosen filters (lazily, bounded)."""
        tests = [(choice, self.chosen[choice.param]) for choice in self.kind.filters
                 if choice.param in self.chosen]
        today = self.cells.today
        folder = self.folder
        for key in keys:
            if tests:
                if self.scanned >= SCAN_LIMIT:
                    self.truncated = True
                    return
                self.scanned += 1
            child = folder.get(key)
            if child is None:
                continue
            if all(choice.test(child, value, today) for choice, value in tests):
                yield child

    @property
    def summary(self):
        """'120 elementos · Página 1 de 3' (what is known without counting a filtered set)."""
        translate = self.request.localizer.translate
        page = self.page
        parts = []
        if not self.filtered:
            parts.append(translate(_('${count} elementos', mapping={'count': self.count})))
        elif page.total is not None:
            parts.append(translate(_('${count} elementos coinciden', mapping={'count': page.total})))
        if page.items and page.count:
            parts.append(translate(_('Página ${number} de ${count}',
                                     mapping={'number': page.number, 'count': page.count})))
        elif page.items:
            parts.append(translate(_('Página ${number}', mapping={'number': page.number})))
        return ' · '.join(parts)

    @property
    def rows(self):
        request = self.request
        return [{'name': child.__name__, 'url': manage_url(request, child),
                 'cells': [column.cell(child, self.cells) for column in self.kind.columns]}
                for child in self.page.items]

    def url(self, **changes):
        """This listing's URL with ``changes`` to its query (a new order or filter: page 1)."""
        query = {k: v for k, v in self.request.GET.items() if k != 'page'}
        query.update(changes)
        query = {k: v for k, v in query.items() if v not in (None, '')}
        return self.request.path_url + ('?' + urlencode(query) if query else '')

    def header(self, key):
        """``(url or None, aria-sort)`` of a column header (``key`` '' is the name)."""
        current = self.order == key
        sort = None
        if current:
            sort = 'descending' if self.descending else 'ascending'
        if key and (not self.sortable or key not in {c.key for c in self.kind.columns
                                                    if c.sort is not None}):
            return None, sort
        direction = DESCENDING if current and not self.descending else ''
        return self.url(**{ORDER_PARAM: key, DIRECTION_PARAM: direction}), sort

    @property
    def clear_url(self):
        return self.request.path_url


def _sort_key(function):
    """Sort with None values last, whatever the direction's other values are."""
    def key(child):
        value = function(child)
        return (value is None, value if value is not None else 0)
    return key


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
    """The tabs of a customer's pages: summary, invoices, statements, payments."""
    return (
        ('', manage_url(request, customer), _('Cliente')),
        ('invoices', manage_url(request, customer.invoices), _('Facturas')),
        ('statements', manage_url(request, customer.statements), _('Estados de cuenta')),
        ('payments', manage_url(request, customer.payments), _('Pagos')),
    )


def owning_customer(resource):
    return find_interface(resource, Customer)


def object_values(request, context, **values):
    """``manage_globals`` plus the customer's tabs for anything inside a customer."""
    customer = owning_customer(context)
    if customer is not None and 'tabs' not in values:
        values['tabs'] = customer_tabs(request, customer)
        current = context
        while current.__parent__ is not customer and current is not customer:
            current = current.__parent__
        values['current_tab'] = '' if current is customer else current.__name__
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

