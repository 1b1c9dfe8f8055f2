"""The staff's search box: customers, invoices and payments from one text.

What is looked up, cheapest first:

- customers by RFC (exact, or the RFCs starting with the text: a BTree range),
  by confirmed email (the customers' email index), and by name: a case- and
  accent-insensitive substring over the customers, which has no index, so the
  scan stops after :data:`NAME_SCAN_LIMIT` customers and says so;
- invoices by serie-folio (``root.invoices_by_key``, exact or prefix) and by
  CFDI UUID (``root.invoices_by_uuid``, exact or prefix);
- payments by "Referencia de pago" (``root.payments_by_reference``) and by
  the bank's reference or authorization: no index either, so the newest
  payments are scanned (walking back from the payment counter) up to
  :data:`BANK_SCAN_LIMIT`.

One exact hit and nothing else: the browser goes straight to it.
"""
import itertools
import re
import unicodedata

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ...i18n import _
from ...resources import PortalRoot, customer_of
from ...resources.folder import TOP
from . import ROUTE, VIEW, manage_globals, manage_url
from .labels import INVOICE_STATUS_LABELS, PAYMENT_STATE_LABELS
from .listing import Cells

TEMPLATE = 'canonportal:templates/manage/search.pt'

MAX_QUERY = 100
#: Results shown per kind of object.
RESULT_LIMIT = 20
#: Customers looked at for a name match, payments for a bank reference.
NAME_SCAN_LIMIT = 20000
BANK_SCAN_LIMIT = 20000
#: Shorter texts match too much to be worth a scan or a prefix walk.
MIN_SCAN_LENGTH = 3

_RFC_PREFIX = re.compile(r'^[A-Z&Ñ0-9]{2,13}$')
_UUID_PREFIX = re.compile(r'^[0-9A-F-]{8,36}$')


def fold(text):
    """Lower case without accents or repeated spaces: 'Compañía  Ñandú' → 'compania nandu'."""
    decomposed = unicodedata.normalize('NFKD', text or '')
    plain = ''.join(c for c in decomposed if not unicodedata.combining(c))
    return ' '.join(plain.casefold().split())


def prefix_range(tree, prefix, limit):
    """Up to ``limit`` values of ``tree`` whose keys start with ``prefix``."""
    found = []
    for key in tree.keys(prefix, prefix + TOP):
        found.append(tree[key])
        if len(found) >= limit:
            break
    return found


class Results:
    """What one search found, grouped by kind, exact hits first, without duplicates."""

    def __init__(self):
        self.groups = {'customers': [], 'invoices': [], 'payments': []}
        self.exact = []
        self.notes = []
        self._seen = set()

    def add(self, kind, obj, exact=False):
        key = id(obj)
        if key in self._seen:
            if exact and obj not in self.exact:
                self.exact.append(obj)
                for item in self.groups[kind]:
                    if item[0] is obj:
                        item[1] = True
            return
        if len(self.groups[kind]) >= RESULT_LIMIT:
            return
        self._seen.add(key)
        self.groups[kind].append([obj, exact])
        if exact:
            self.exact.append(obj)

    @property
    def count(self):
        return sum(len(items) for items in self.groups.values())

    def only_exact_hit(self):
        if len(self.exact) == 1 and self.count == 1:
            return self.exact[0]
        return None


def find_customers(root, text, results):
    customers = root.customers
    upper = text.upper()
    exact = customers.get(upper)
    if exact is not None:
        results.add('customers', exact, exact=True)
    if '@' in text:
        by_email = customers.find_by_email(text)
        if by_email is not None:
            results.add('customers', by_email, exact=True)
    if _RFC_PREFIX.match(upper) and len(upper) >= MIN_SCAN_LENGTH:
        for customer in prefix_range(customers, upper, RESULT_LIMIT):
            results.add('customers', customer)
    wanted = fold(text)
    if len(wanted) < MIN_SCAN_LENGTH:
        return
    scanned = 0
    for customer in customers.values():
        if scanned >= NAME_SCAN_LIMIT:
            results.notes.append(_(
                'Por nombre se revisaron los primeros ${count} clientes (por RFC); escriba el RFC '
                'o más letras del nombre si no aparece.', mapping={'count': NAME_SCAN_LIMIT}))
            break
        scanned += 1
        if wanted in fold(customer.name):
            results.add('customers', customer)
            if len(results.groups['customers']) >= RESULT_LIMIT:
                break


def find_invoices(root, text, results):
    upper = text.upper()
    candidates = {text, upper, re.sub(r'\s+', '-', upper)}
    for key in candidates:
        invoice = root.invoices_by_key.get(key)
        if invoice is not None:
            results.add('invoices', invoice, exact=True)
    invoice = root.invoices_by_uuid.get(upper)
    if invoice is not None:
        results.add('invoices', invoice, exact=True)
    if len(upper) >= 8 and _UUID_PREFIX.match(upper):
        for invoice in prefix_range(root.invoices_by_uuid, upper, RESULT_LIMIT):
            results.add('invoices', invoice)
    if len(text) >= MIN_SCAN_LENGTH:
        for key in sorted(candidates):
            for invoice in prefix_range(root.invoices_by_key, key, RESULT_LIMIT):
                results.add('invoices', invoice)


def find_payments(root, text, results):
    payment = root.payments_by_reference.get(text)
    if payment is not None:
        results.add('payments', payment, exact=True)
    wanted = fold(text)
    if len(wanted) < MIN_SCAN_LENGTH:
        return
    for payment in itertools.islice(root.payments_newest_first(), BANK_SCAN_LIMIT):
        if payment is None:
            continue
        bank_reference = fold(payment.bank_reference or '')
        data = {fold(str(v)) for v in (payment.bank_data or {}).values()}
        if wanted == bank_reference or wanted in data:
            results.add('payments', payment, exact=True)
        elif bank_reference and wanted in bank_reference:
            results.add('payments', payment)
        if len(results.groups['payments']) >= RESULT_LIMIT:
            break
    else:
        if root.payment_counter.value > BANK_SCAN_LIMIT:
            results.notes.append(_(
                'Por referencia bancaria se revisaron los ${count} pagos más recientes.',
                mapping={'count': BANK_SCAN_LIMIT}))


def search(root, text):
    results = Results()
    find_customers(root, text, results)
    find_invoices(root, text, results)
    find_payments(root, text, results)
    return results


def rows(request, results):
    """What the page lists: ``{kind: [{title, detail, url, exact}]}``."""
    cells = Cells(request)
    fmt = cells.fmt
    shown = {}
    for obj, exact in results.groups['customers']:
        shown.setdefault('customers', []).append({
            'title': obj.rfc, 'detail': obj.name, 'url': manage_url(request, obj), 'exact': exact})
    for obj, exact in results.groups['invoices']:
        customer = customer_of(obj)
        detail = ' · '.join([customer.rfc, obj.uuid or '', fmt.money(obj.balance, obj.currency),
                             cells.label(INVOICE_STATUS_LABELS, obj.status(cells.today))])
        shown.setdefault('invoices', []).append({
            'title': obj.key, 'detail': detail, 'url': manage_url(request, obj), 'exact': exact})
    for obj, exact in results.groups['payments']:
        detail = ' · '.join([customer_of(obj).rfc, fmt.money(obj.total_mxn, 'MXN'),
                             cells.label(PAYMENT_STATE_LABELS, obj.state),
                             obj.bank_reference or ''])
        shown.setdefault('payments', []).append({
            'title': obj.reference, 'detail': detail, 'url': manage_url(request, obj),
            'exact': exact})
    return shown


GROUPS = (
    ('customers', _('Clientes')),
    ('invoices', _('Facturas')),
    ('payments', _('Pagos')),
)


@view_config(route_name=ROUTE, context=PortalRoot, name='buscar', permission=VIEW,
             request_method='GET', renderer=TEMPLATE)
def search_view(context, request):
    text = ' '.join((request.GET.get('q') or '').split())
    values = {'page_title': _('Buscar'), 'query': text, 'groups': GROUPS, 'found': {},
              'notes': [], 'error': None, 'searched': bool(text)}
    if len(text) > MAX_QUERY:
        request.response.status = 400
        values['error'] = _('La búsqueda es demasiado larga (máximo ${max} caracteres).',
                            mapping={'max': MAX_QUERY})
        return manage_globals(request, context, **values)
    if text:
        results = search(context, text)
        hit = results.only_exact_hit()
        if hit is not None:
            return HTTPFound(manage_url(request, hit))
        values.update(found=rows(request, results), notes=results.notes)
    return manage_globals(request, context, **values)
