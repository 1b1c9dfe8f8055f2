"""Folder listings of the management views: one page of a folder's children,
filtered and sorted, with the columns its kind registered.

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

Each resource type's management module says how its folders are listed with
:func:`register_listing` (Substance D's per-type ``columns``); any other folder
gets the generic columns.
"""
import datetime
import itertools
from urllib.parse import urlencode

from ... import clock
from ...formatting import Formatter
from ...i18n import _, ngettext
from ...resources.folder import TOP, keys_descending
from . import PAGE_SIZE, Page, manage_url, page_number
from .labels import NO, YES

#: "1 elemento", "120 elementos" (the catalog's plural forms).
ITEM_COUNT = ngettext('${count} elemento', '${count} elementos')
MATCH_COUNT = ngettext('${count} elemento coincide', '${count} elementos coinciden')

#: Column sorts load every child: offered only up to this many.
SORT_LIMIT = 2000
#: Attribute filters stop after looking at this many children.
SCAN_LIMIT = 20000

#: Query parameters of the listings.
PREFIX_PARAM = 'prefijo'
ORDER_PARAM = 'orden'
DIRECTION_PARAM = 'dir'
DESCENDING = 'desc'

# -- walking a folder by name --------------------------------------------------------------

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


def sortable_when(child):
    """A naive UTC datetime to sort dates and datetimes together (None when there is none)."""
    value = _when(child)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    return None


GENERIC_COLUMNS = (
    Column('title', _('Título'), lambda o, x: str(getattr(o, 'title', '') or ''),
           lambda o: str(getattr(o, 'title', '') or '')),
    Column('when', _('Fecha'), _when_text, sortable_when),
    Column('type', _('Tipo'), lambda o, x: type(o).__name__, lambda o: type(o).__name__),
)

class Kind:
    """How one kind of folder lists its children."""

    def __init__(self, name, name_label, columns, filters=()):
        self.name = name
        self.name_label = name_label
        self.columns = columns
        self.filters = filters


GENERIC = Kind('generic', _('Nombre'), GENERIC_COLUMNS)

#: ``(matches(folder), Kind)`` in the order they were registered.
_REGISTERED = []


def register_listing(kind, folder_type=None, under=None, name=None):
    """List the folders that are ``folder_type`` instances, or that are called ``name``
    inside an ``under`` instance, with ``kind``'s columns and filters."""
    def matches(folder):
        if folder_type is not None:
            return isinstance(folder, folder_type)
        return isinstance(folder.__parent__, under) and folder.__name__ == name
    _REGISTERED.append((matches, kind))
    return kind


def kind_of(folder):
    return next((kind for matches, kind in _REGISTERED if matches(folder)), GENERIC)


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
            parts.append(ITEM_COUNT.format(self.request, self.count))
        elif page.total is not None:
            parts.append(MATCH_COUNT.format(self.request, page.total))
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


