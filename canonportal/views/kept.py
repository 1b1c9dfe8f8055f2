"""Customer pages kept rendered (SALDOS, FACTURAS): the page around one request's parts.

A page is rendered once with holes (:class:`canonportal.fragments.Holes`) where
the parts of one request go — the CSRF token, the address the language buttons
come back to, the flash messages and the banner of payments in progress — and
kept in :data:`PAGE_CACHE` under everything else it shows: the customer and the
person by their database serials, what the person may do and see, the language,
the address the portal is reached at, and the page's own data (its caller's
``key``: SALDOS' rows and FACTURAS' by their invoices' serials). Each request
fills the holes in last (:func:`kept_page`).

A caller passes ``key=None`` for what is not worth keeping (a page showing what
one request typed, its errors): it is rendered the same way and not kept. A
person or customer changed in this transaction has no serial yet: not kept either.

The layout's per-request parts are rendered by :func:`live_part` from
``templates/live_parts.pt`` — here for the holes, and for every other page as
the renderer global ``live`` (``canonportal.views.add_renderer_globals``).
"""
import html
from functools import partial

from pyramid.csrf import get_csrf_token
from pyramid.renderers import get_renderer, render

from .. import clock
from ..formatting import Formatter
from ..fragments import FragmentCache, Holes, generation, serials

#: Pages kept rendered, per process: at most 512 pages and 32 MB (SALDOS with 20 open
#: invoices is about 39 kB, with 100 about 170 kB; FACTURAS with 20 invoices 27 kB).
PAGE_CACHE = FragmentCache(512, budget=32 * 1024 * 1024, weigh=lambda shell: shell.size)
HOLES = Holes()
LIVE_TEMPLATE = 'canonportal:templates/live_parts.pt'


def person_key(request, customer, values):
    """What every customer page shows of who is asking and where, or ``None``
    when the customer or the person changed in this transaction.

    ``values`` are the page's (:func:`canonportal.views.customer.page`): the menu
    (a company administrator's is longer), whether the person may pay and the
    accounts they see."""
    identity = request.identity
    user = identity.user if identity is not None else None
    found = serials(customer, user) if user is not None else serials(customer)
    if found is None:
        return None
    return (generation(request.registry), request.locale_name, request.application_url,
            found, identity.principal_id if identity is not None else None,
            tuple(name for name, _label in values['menu']), values['may_pay'],
            tuple(values['own_accounts']), copyright_year())


def copyright_year():
    """The year in the layout's footer."""
    return clock.mexico_today().year


def kept_page(request, template, values, key, more=None):
    """``request.response`` with ``template`` rendered from ``values``: the page kept
    under ``key`` (see the module) with this request's parts filled in.

    ``more()``: the values needed only to render, not asked for when the page is kept."""
    shell = PAGE_CACHE.get(key) if key is not None else None
    if shell is None:
        marked = dict(values, **(more() if more is not None else {}))
        marked.update(get_csrf_token=partial(HOLES.marker, 'csrf'),
                      came_from=HOLES.marker('came_from'), live=HOLES.marker)
        shell = HOLES.shell(render(template, marked, request=request))
        if key is not None:
            PAGE_CACHE.put(key, shell)
    filled = {'csrf': html.escape(get_csrf_token(request)),
              'came_from': html.escape(request.path_qs),
              'flash': live_part(request, values, 'flash'),
              'banner': live_part(request, values, 'banner')}
    response = request.response     # text/html; charset=UTF-8, Pyramid's default
    response.body = shell.fill(filled)
    return response


def live_part(request, values, name):
    """The HTML of the layout's part ``name`` for this request: ``flash`` (the session's
    messages, taken) or ``banner`` (``values['in_progress']`` on a page with a menu)."""
    if name == 'flash':
        # Looked at first: taking none would still mark the session changed, and the
        # session cookie would be signed and sent again with every page.
        if not request.session.peek_flash():
            return ''
        return _render_part(request, 'flash', messages=request.session.pop_flash())
    if name == 'banner':
        in_progress = values.get('in_progress')
        if not (in_progress and values.get('menu')):
            return ''
        return _render_part(request, 'banner', in_progress=in_progress)
    raise KeyError(name)


def _render_part(request, part, **values):
    template = get_renderer(LIVE_TEMPLATE).implementation()
    return template(part=part, request=request, fmt=Formatter(request.locale_name),
                    get_csrf_token=partial(get_csrf_token, request), **values)
