"""What an attacker would try: other customers' URLs, staff URLs, forged POSTs,
stolen or stale cookies, default passwords, and error pages that say too much.

The URL lists are built from the view registry, so a view added later is
covered without touching this module.
"""
import datetime
import re
from dataclasses import dataclass

import pytest
from pyramid.config import Configurator
from pyramid.interfaces import IDefaultPermission, IException
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.traversal import find_resource
from zope.interface.interfaces import IInterface

from canonportal.bootstrap import add_demo_data
from canonportal.resources import (
    Customer, Folder, Invoice, Payment, PortalRoot, Statement, StaffUser, root_factory)
from canonportal.resources.audit import AuditLog
from canonportal.resources.customer import Customers
from canonportal.resources.exports import ExportRecord
from canonportal.resources.imports import ImportRecord
from canonportal.resources.staff import StaffFolder
from canonportal.resources.company_user import CompanyUser
from canonportal.resources.complement import (
    Complement, ComplementPayment, PaidDocument, add_complement,
)
from canonportal.resources.incoming_transfer import IncomingTransfer, Transfers
from canonportal.views import PUBLIC_VIEWS
from portal_support import (
    BASE_SETTINGS, CANON, GOOD_PASSWORD, IXTAPA, Client, file_storage_uri, last_form, link_in,
    login_record, make_app, nothing_changes, signed_in_home, throttle, with_root)

HOST = 'portal.example.mx'
LOGIN_URL = f'http://{HOST}/'
CANON_NAME = 'Canon Mexicana SA de CV'
CSRF_MESSAGE = 'El formulario expiró o no es válido'

#: Views allowed to take a POST without a CSRF token: only bank notification
#: endpoints, which authenticate by signature. Each entry is a view key (see
#: ``RegisteredView.key``) and must say why.
CSRF_EXEMPT = {
    # /banco/<bank>/retorno/<ref> and /banco/<bank>/notificacion: the banks' post-backs and
    # webhooks, authenticated by HMAC signature or notification secret, never by the session.
    ('PortalRoot', 'banco'),
    # /reconciliar: canonportal-reconcile asking the server that holds the FileStorage;
    # authenticated by a token derived from the session secret.
    ('PortalRoot', 'reconciliar'),
    # /empaquetar: canonportal-pack asking that server to pack it; the same kind of token.
    ('PortalRoot', 'empaquetar'),
    # /alta-personal: canonportal-adduser asking that server to make a staff account; the
    # same kind of token, its own.
    ('PortalRoot', 'alta-personal'),
    # /notificar: canonportal-notify asking that server to mail the day's reminders; the
    # same kind of token, its own.
    ('PortalRoot', 'notificar'),
    # /baja: the one-click unsubscribe link a mail client POSTs with no session (RFC 8058),
    # authorized by the link's stored token (a forged one is refused in test_notify_mail.py).
    ('PortalRoot', 'baja'),
    # /spei/abono: the receiving bank's deposit notifications, signed with the shared secret
    # (a forged one is refused in test_spei.py).
    ('PortalRoot', 'spei'),
}

#: One object of each resource type, all of them customer A's or staff's.
#: (path, type) — a view registered for a type is requested on every sample of it.
SAMPLE_REP = 'AC2ACB5B-B6CA-59E6-AFD3-574E6ACD9767'

SAMPLES = (
    ('/', PortalRoot),
    ('/customers/', Customers),
    (f'/customers/{CANON}/', Customer),
    (f'/customers/{CANON}/invoices/', Folder),
    (f'/customers/{CANON}/statements/', Folder),
    (f'/customers/{CANON}/payments/', Folder),
    (f'/customers/{CANON}/invoices/6212976/', Invoice),
    (f'/customers/{CANON}/invoices/1233074/', Invoice),
    (f'/customers/{CANON}/statements/171001/', Statement),
    (f'/customers/{CANON}/payments/228/', Payment),
    ('/staff/', StaffFolder),
    ('/staff/alice/', StaffUser),
    ('/audit/', AuditLog),
    ('/imports/', Folder),
    ('/exports/', Folder),
    ('/imports/20261129-180000-ab12/', ImportRecord),
    ('/exports/20261129-180000/', ExportRecord),
    (f'/customers/{CANON}/users/', Folder),
    (f'/customers/{CANON}/users/u000000000001/', CompanyUser),
    ('/transfers/', Transfers),
    ('/transfers/20261129-BNET0100261129000001/', IncomingTransfer),
    (f'/customers/{CANON}/complements/', Folder),
    (f'/customers/{CANON}/complements/{SAMPLE_REP}/', Complement),
)

#: The URLs of customer A and of staff named in the issue, whatever views exist.
FIXED_URLS = tuple(f'/customers/{CANON}/{page}' for page in (
    '', 'estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos')) + (
    f'/customers/{CANON}/invoices/6212976', f'/customers/{CANON}/invoices/1233074',
    f'/customers/{CANON}/statements/171001', f'/customers/{CANON}/payments/228',
    '/manage', '/manage/', '/manage/customers', f'/manage/customers/{CANON}',
    '/staff', '/staff/', '/staff/alice', '/customers', '/customers/',
)


# -- the view registry ---------------------------------------------------------------------

@dataclass
class RegisteredView:
    context: object
    name: str
    methods: tuple
    permission: object
    route_name: str
    require_csrf: object

    @property
    def key(self):
        """``(context type name, view name)`` as in PUBLIC_VIEWS; route views use the route
        name, and ``route:type`` when the route traverses (the /manage views)."""
        if self.route_name and self.context is not None:
            return (f'{self.route_name}:{getattr(self.context, "__name__", self.context)}', self.name)
        if self.route_name:
            return (self.route_name, self.name)
        return (getattr(self.context, '__name__', str(self.context)), self.name)

    def answers(self, method):
        return self.methods is None or method in self.methods

    @property
    def is_static(self):
        return bool(self.route_name and self.route_name.startswith('__static'))


def _is_exception_view(view):
    context = view['context']
    if view['exception_only']:
        return True
    if IInterface.providedBy(context):
        return context.isOrExtends(IException)
    return isinstance(context, type) and issubclass(context, BaseException)


def registered_views(registry):
    """Every view that answers a URL (exception views left out), with its effective permission."""
    default_permission = registry.queryUtility(IDefaultPermission)
    views = []
    for item in registry.introspector.get_category('views'):
        view = item['introspectable']
        if _is_exception_view(view):
            continue
        explicit = [r['value'] for r in item['related'] if r.category_name == 'permissions']
        methods = view['request_methods']
        if isinstance(methods, str):
            methods = (methods,)
        views.append(RegisteredView(
            context=view['context'], name=view['name'], methods=methods,
            permission=explicit[0] if explicit else default_permission,
            route_name=view['route_name'], require_csrf=view['require_csrf']))
    assert views, 'the registry lists no views'
    return views


def route_path(registry, route_name):
    """A concrete path for a route, placeholders filled with 'x'."""
    for item in registry.introspector.get_category('routes'):
        route = item['introspectable']
        if route['name'] == route_name:
            pattern = re.sub(r'\{[^}]*\}', 'x', route['pattern'])
            pattern = re.sub(r'\*\w+', '', pattern)
            return '/' + pattern.lstrip('/')
    raise AssertionError(f'no route {route_name}')


def _provided_by(context, sample_type):
    if context is None:
        return True
    if IInterface.providedBy(context):
        return context.implementedBy(sample_type)
    return issubclass(sample_type, context)


def view_urls(registry, view):
    """The URLs at which ``view`` answers for customer A's or staff's objects."""
    prefix = ''
    if view.route_name and view.context is None:
        return [route_path(registry, view.route_name) + (view.name or '')]
    if view.route_name:
        prefix = route_path(registry, view.route_name).rstrip('/')
    urls = []
    for path, sample_type in SAMPLES:
        if _provided_by(view.context, sample_type):
            urls.append(prefix + path + ('@@' + view.name if view.name else ''))
    assert urls, (f'view {view.key} is registered for {view.context!r}, a type with no '
                  'sample object: add one to SAMPLES')
    return urls


def requests_to(registry, skip_public=True):
    """``(method, url, view)`` for every non-public view on every sample object."""
    found = []
    for view in registered_views(registry):
        if view.is_static or (skip_public and view.key in PUBLIC_VIEWS):
            continue
        method = 'GET' if view.answers('GET') else 'POST'
        for url in view_urls(registry, view):
            found.append((method, url, view))
    return found


def new_client(app, **environ):
    return Client(app, extra_environ=dict({'HTTP_HOST': HOST}, **environ))


def add_sample_records(root):
    """One ERP import and one export, so their pages are crawled too."""
    when = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=datetime.timezone.utc)
    root.imports.add('20261129-180000-ab12', ImportRecord(
        'invoices', when, 'staff:alice', [('facturas.csv', 120, '0' * 64)], created_count=1))
    record = root.exports.add('20261129-180000', ExportRecord(
        'pagos-erp-20261129-120000.csv', when, 'staff:alice', ('228',), row_count=1))
    record.set_csv(b'referencia_pago\r\n228\r\n', use_blob=False)
    transfer = IncomingTransfer('20261129-BNET0100261129000001', {
        'tracking_key': 'BNET0100261129000001', 'operation_date': '2026-11-29',
        'amount': '500.00', 'beneficiary_account': '646180157000000004'}, when, 'camt053')
    root.transfers.add_transfer(transfer)     # unmatched: in the staff's queue
    colleague = CompanyUser('ana@example.mx', 'Ana', 'captura', created=when)
    colleague.__name__ = 'u000000000001'
    root.customers[CANON].add_user(colleague)
    document = PaidDocument(invoice_uuid='X', invoice_key='1233074', account='005300',
                            currency='USD', instalment=1, balance_before=1, paid=1,
                            balance_after=0)
    add_complement(root.customers[CANON], Complement(SAMPLE_REP, CANON, when.date(), [
        ComplementPayment(paid_on=when.date(), amount=1, currency='MXN', operation='',
                          reference='228', documents=(document,))], when))


@pytest.fixture
def sampled_app(staff_app):
    """The demo portal with its staff and one object of every type (import, export, …)."""
    with_root(staff_app, add_sample_records)
    return staff_app


def test_every_sample_path_leads_to_an_object_of_its_type(sampled_app):
    def check(root):
        for path, sample_type in SAMPLES:
            assert isinstance(find_resource(root, path), sample_type), path
    with_root(sampled_app, check)


# -- deny by default ---------------------------------------------------------------------------

def test_every_view_has_a_permission_or_is_listed_public(app):
    registry = app.registry
    assert registry.queryUtility(IDefaultPermission) == 'view'
    public = set()
    for view in registered_views(registry):
        if view.is_static:
            assert view.answers('GET')
            continue
        if view.permission in (None, NO_PERMISSION_REQUIRED):
            assert view.key in PUBLIC_VIEWS, (
                f'view {view.key} needs no permission but is not in canonportal.views.PUBLIC_VIEWS')
            public.add(view.key)
    # The list holds no stale entry and nothing listed public has quietly become protected.
    assert public == PUBLIC_VIEWS


def test_root_acl_ends_with_deny_all(app):
    from pyramid.authorization import DENY_ALL
    assert PortalRoot.__acl__[-1] == DENY_ALL


def test_views_taking_posts_without_csrf_are_listed(app):
    exempt = {view.key for view in registered_views(app.registry) if view.require_csrf is False}
    assert exempt <= CSRF_EXEMPT


def test_management_views_need_a_staff_permission(app):
    manage = [v for v in registered_views(app.registry) if v.route_name == 'manage']
    assert ('manage:PortalRoot', '') in {v.key for v in manage}
    assert {v.permission for v in manage} <= {'manage-view', 'manage', 'manage-staff'}
    # GET pages only read; anything that changes something needs more than manage-view.
    for view in manage:
        if view.permission == 'manage-view':
            assert view.methods and set(view.methods) <= {'GET', 'HEAD'}, view.key


# -- isolation: customer B and anonymous visitors on customer A's and staff URLs ----------------

def _attack(app, attacker, anonymous):
    """Request every URL of customer A and of staff; return the ones not refused."""
    leaks = []
    urls = [('GET', url, None) for url in FIXED_URLS] + requests_to(app.registry)
    for method, url, view in urls:
        if method == 'GET':
            response = attacker.get(url, status='*')
        else:
            response = attacker.post(url, {'csrf_token': attacker.csrf()}, status='*')
        status = response.status_int
        refused = status in (403, 404)
        if anonymous and status == 302:
            refused = response.location == LOGIN_URL
        if not refused or CANON_NAME in response.text:
            leaks.append((method, url, status, view and view.key))
    return leaks, len(urls)


def test_other_customer_is_refused_on_every_url_of_customer_a_and_of_staff(sampled_app):
    attacker = new_client(sampled_app).sign_in_active(rfc=IXTAPA)
    assert attacker.get(f'/customers/{IXTAPA}/saldos').status_int == 200
    with nothing_changes(sampled_app):
        leaks, tried = _attack(sampled_app, attacker, anonymous=False)
    assert leaks == []
    assert tried >= len(FIXED_URLS) + 4
    # Still signed in as itself: the refusals did not end the session.
    assert signed_in_home(attacker).endswith(f'/customers/{IXTAPA}/estados-de-cuenta')


def test_anonymous_visitor_is_refused_on_every_url_of_customer_a_and_of_staff(sampled_app):
    attacker = new_client(sampled_app)
    with nothing_changes(sampled_app):
        leaks, _ = _attack(sampled_app, attacker, anonymous=True)
    assert leaks == []


class ReplayingBrowser(Client):
    """Presents one session cookie and its CSRF token on every request, as an attacker
    replaying a copied cookie would (the portal's answers never replace it)."""

    cookie = token = None

    def do_request(self, req, status=None, expect_errors=None):
        self.set_cookie('canonportal', self.cookie)
        return super().do_request(req, status=status, expect_errors=expect_errors)

    def csrf(self, path=None):
        return self.token


def test_a_colleague_of_a_disabled_company_is_refused_on_every_url_and_writes_nothing(staff_app):
    """The identity loader keeps every person of a disabled company out, whatever the page:
    here staff's flag alone (no session ended), so only that rule stands in the way."""
    from canonportal.passwords import hash_password

    def add_administrador(root):
        boss = CompanyUser('dir@example.mx', 'Dora', 'admin')
        boss.__name__ = 'u0dir'
        boss.password_hash = hash_password(GOOD_PASSWORD)
        root.customers[CANON].add_user(boss)
    with_root(staff_app, add_administrador)
    colleague = new_client(staff_app)
    assert colleague.login('dir@example.mx', GOOD_PASSWORD).status_int == 303
    assert colleague.get(f'/customers/{CANON}/usuarios').status_int == 200
    replay = ReplayingBrowser(staff_app, extra_environ={'HTTP_HOST': HOST})
    replay.token = colleague.csrf()
    replay.cookie = colleague.cookies['canonportal']

    def disable(root):
        root.customers[CANON].disabled = True
    with_root(staff_app, disable)
    with nothing_changes(staff_app):
        leaks, tried = _attack(staff_app, replay, anonymous=True)
    assert leaks == []
    assert tried >= len(FIXED_URLS) + 4
    # Enabled again (the flag alone), the same cookie is the colleague's again.
    with_root(staff_app, lambda root: setattr(root.customers[CANON], 'disabled', False))
    assert replay.get(f'/customers/{CANON}/usuarios').status_int == 200


def test_the_rfc_as_password_opens_no_session_and_no_page(app, mailer):
    """Anyone can read an RFC off an invoice: RFC/RFC only mails the ERP's address (issue 11)."""
    pending = new_client(app)
    answer = pending.login(IXTAPA, IXTAPA)
    assert answer.status_int == 200 and 'p***@example.com' in answer.text
    assert [m.recipients for m in mailer.outbox] == [['pagos@example.com']]
    assert signed_in_home(pending) is None
    for page in ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos'):
        response = pending.get(f'/customers/{IXTAPA}/{page}')
        assert response.status_int == 302 and response.location == LOGIN_URL
    assert pending.get('/manage').location == LOGIN_URL


def test_get_requests_change_nothing_in_the_database(sampled_app):
    """No writes on GET: a signed-in customer and a staff member crawl every GET view."""
    owner = new_client(sampled_app).sign_in_active(rfc=CANON)
    staff = new_client(sampled_app)
    staff.login('alice', GOOD_PASSWORD)
    with nothing_changes(sampled_app):
        for browser in (owner, staff):
            for method, url, _view in requests_to(sampled_app.registry, skip_public=False):
                if method == 'GET':
                    assert browser.get(url, status='*').status_int < 500, url


# -- CSRF ---------------------------------------------------------------------------------------

PLAUSIBLE_FIELDS = {
    'login': CANON, 'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD,
    'email': 'atacante@example.mx', 'lang': 'en', 'came_from': '/', 'token': 'x',
}


def test_every_post_view_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(
        sampled_app, mailer):
    app = sampled_app
    clients = {'anonymous': new_client(app)}
    clients['customer'] = new_client(app).sign_in_active(rfc=CANON)
    clients['staff'] = new_client(app)
    clients['staff'].login('alice', GOOD_PASSWORD)
    homes = {name: signed_in_home(c) for name, c in clients.items()}
    assert homes['anonymous'] is None and None not in list(homes.values())[1:]
    attacker_token = new_client(app).csrf()
    post_views = [v for v in registered_views(app.registry)
                  if v.answers('POST') and not v.is_static and v.key not in CSRF_EXEMPT]
    assert {('PortalRoot', 'login'), ('PortalRoot', 'logout'), ('PortalRoot', 'activar')} <= {
        v.key for v in post_views}
    with nothing_changes(app):
        for view in post_views:
            refused_for_csrf = False
            for url in view_urls(app.registry, view):
                for name, browser in clients.items():
                    for token in (None, '', 'not-a-token', attacker_token):
                        fields = dict(PLAUSIBLE_FIELDS)
                        if token is not None:
                            fields['csrf_token'] = token
                        response = browser.post(url, fields, status='*')
                        assert response.status_int in (400, 403, 404), (view.key, name, url)
                        cookies = response.headers.get('Set-Cookie', '')
                        assert 'lang=' not in cookies, (view.key, name)
                        if response.status_int == 400 and CSRF_MESSAGE in response.text:
                            refused_for_csrf = True
            if not view.route_name:
                assert refused_for_csrf, f'no client got past the permission check of {view.key}'
    assert {name: signed_in_home(c) for name, c in clients.items()} == homes


def test_login_without_csrf_token_neither_signs_in_nor_counts_failures(client, app):
    client.sign_in_active(rfc=CANON)
    client.post_form('/logout', {})
    with nothing_changes(app):
        for _ in range(6):
            client.post('/login', {'login': CANON, 'password': 'no es la contraseña'}, status=400)
        client.post('/login', {'login': CANON, 'password': GOOD_PASSWORD}, status=400)
    assert signed_in_home(client) is None
    assert client.login(CANON, GOOD_PASSWORD).status_int == 303


def test_activation_without_csrf_token_changes_nothing(client, app, mailer):
    client.login(CANON, CANON)
    link = client.activation_link()
    with nothing_changes(app):
        client.post(link, {'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD,
                           'csrf_token': 'forged'}, status=400)
    assert signed_in_home(client) is None
    assert client.get(link).status_int == 200     # the link still works


def test_logout_without_csrf_token_keeps_the_session(client, app):
    client.sign_in_active(rfc=IXTAPA)
    with nothing_changes(app):
        client.post('/logout', {}, status=400)
        client.post('/logout', {'csrf_token': 'forged'}, status=400)
    assert client.get(f'/customers/{IXTAPA}/saldos').status_int == 200


def test_https_post_from_a_foreign_origin_is_refused_even_with_a_valid_token(app):
    new_client(app).sign_in_active(rfc=IXTAPA)
    browser = new_client(app, **{'wsgi.url_scheme': 'https'})
    token = browser.csrf()
    fields = {'login': IXTAPA, 'password': GOOD_PASSWORD, 'csrf_token': token}
    with nothing_changes(app):
        response = browser.post('/login', fields,
                                headers={'Origin': 'https://atacante.example'}, status='*')
    assert response.status_int == 400
    assert signed_in_home(browser) is None
    same_site = browser.post('/login', fields,
                             headers={'Origin': f'https://{HOST}'}, status='*')
    assert same_site.status_int == 303


# -- cookies ------------------------------------------------------------------------------------

def session_cookie_header(response):
    headers = [h for h in response.headers.getall('Set-Cookie') if h.startswith('canonportal=')]
    assert headers, response.headers
    return headers[-1]


def test_session_cookie_is_httponly_samesite_lax_and_small(app, client):
    client.sign_in_active(rfc=IXTAPA)
    browser = new_client(app)
    # The session starts with the sign-in form's CSRF token and names its user after a
    # sign-in; a page that changes nothing in it does not send it again.
    started = browser.get('/')
    signed_in = browser.login(IXTAPA, GOOD_PASSWORD, status=303)
    for header in (session_cookie_header(started), session_cookie_header(signed_in)):
        flags = [part.strip().lower() for part in header.split(';')[1:]]
        assert 'httponly' in flags
        assert 'samesite=lax' in flags
        assert 'secure' not in flags  # development: plain http on localhost
        assert len(header) < 4096


def test_session_cookie_is_secure_when_configured(tmp_path):
    app = make_app(**{'canonportal.session_secure': 'true',
                      'zodbconn.uri': file_storage_uri(tmp_path)})
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    browser = new_client(app, **{'wsgi.url_scheme': 'https'})
    response = browser.get('/')     # the sign-in form's CSRF token starts the session
    flags = [part.strip().lower() for part in session_cookie_header(response).split(';')[1:]]
    assert {'secure', 'httponly', 'samesite=lax'} <= set(flags)


def test_the_session_cookie_carries_no_password_or_hash(client):
    client.sign_in_active(rfc=IXTAPA)
    import base64
    value = client.cookies['canonportal']
    decoded = base64.urlsafe_b64decode(value + '=' * (-len(value) % 4))
    assert GOOD_PASSWORD.encode() not in decoded
    assert b'argon2' not in decoded


# -- headers and error pages --------------------------------------------------------------------

def assert_security_headers(response):
    csp = response.headers['Content-Security-Policy']
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(';') if part.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives['frame-ancestors'] == ["'none'"]
    assert directives['default-src'] == ["'self'"]
    assert directives['object-src'] == ["'none'"]
    assert directives['base-uri'] == ["'none'"]
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    assert response.headers['Referrer-Policy'] in (
        'no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin')


def test_security_headers_on_ok_not_found_and_forbidden_pages(client):
    assert_security_headers(client.get('/', status=200))
    assert_security_headers(client.get('/no-existe', status=404))
    assert_security_headers(client.get('/static/portal.css', status=200))
    client.sign_in_active(rfc=IXTAPA)
    assert_security_headers(client.get(f'/customers/{IXTAPA}/saldos', status=200))
    assert_security_headers(client.get(f'/customers/{CANON}/saldos', status=403))
    assert_security_headers(client.post('/logout', {}, status=400))


def test_hsts_only_when_configured(client, tmp_path):
    assert 'Strict-Transport-Security' not in client.get('/').headers
    folder = tmp_path / 'hsts'
    folder.mkdir()
    app = make_app(**{'canonportal.hsts': 'true', 'zodbconn.uri': file_storage_uri(folder)})
    with_root(app, lambda root: None)
    hsts = new_client(app).get('/').headers['Strict-Transport-Security']
    assert int(re.search(r'max-age=(\d+)', hsts).group(1)) >= 31536000


def test_signed_in_pages_are_not_stored_by_browsers(client):
    client.sign_in_active(rfc=IXTAPA)
    for page in ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos'):
        response = client.get(f'/customers/{IXTAPA}/{page}')
        assert 'no-store' in response.headers['Cache-Control']


def _explode(request):
    # Write something first: the failed request must roll it back.
    request.root.payment_counter.next()
    raise RuntimeError('detalle interno /srv/canonportal secreto-42')


@pytest.fixture
def failing_app(tmp_path):
    """The portal plus one test-only view that raises."""
    settings = dict(BASE_SETTINGS, **{
        'zodbconn.uri': file_storage_uri(tmp_path),
        'tm.manager_hook': 'pyramid_tm.explicit_manager', 'retry.attempts': '3'})
    with Configurator(settings=settings, root_factory=root_factory) as config:
        config.include('canonportal.configure')
        config.add_view(_explode, context=PortalRoot, name='explota',
                        permission=NO_PERMISSION_REQUIRED)
    app = config.make_wsgi_app()
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    return app


def test_server_error_is_a_friendly_spanish_page_with_headers_and_no_traceback(failing_app):
    with nothing_changes(failing_app):
        response = new_client(failing_app).get('/explota', status=500)
    assert_security_headers(response)
    assert 'no-store' in response.headers['Cache-Control']
    assert 'Error del sistema' in response.text
    assert 'Ocurrió un error inesperado' in response.text
    for secret in ('Traceback', 'RuntimeError', 'secreto-42', '/srv/canonportal', '.py'):
        assert secret not in response.text


# -- sessions -----------------------------------------------------------------------------------

def test_logout_ends_the_session_and_a_copied_cookie_stops_working(client, other_client):
    client.sign_in_active(rfc=IXTAPA)
    stolen = client.cookies['canonportal']
    other_client.set_cookie('canonportal', stolen)
    assert other_client.get(f'/customers/{IXTAPA}/saldos').status_int == 200
    response = client.post_form('/logout', {})
    assert response.status_int == 303 and response.location == LOGIN_URL
    assert signed_in_home(client) is None
    assert client.get(f'/customers/{IXTAPA}/saldos').location == LOGIN_URL
    other_client.set_cookie('canonportal', stolen)
    assert other_client.get(f'/customers/{IXTAPA}/saldos').location == LOGIN_URL
    # Signing in again works as usual.
    assert client.login(IXTAPA, GOOD_PASSWORD).status_int == 303
    assert client.get(f'/customers/{IXTAPA}/saldos').status_int == 200


def test_asking_again_kills_the_first_link_and_locks_nobody_out(app, client, other_client,
                                                                mailer):
    client.login(CANON, CANON)
    first = client.activation_link()
    for _ in range(2):             # repeated: never a lock, each time a new link
        assert other_client.login(CANON, CANON).status_int == 200
    second = other_client.activation_link()
    assert first != second
    with nothing_changes(app):
        assert 'no es válido' in client.get(first, status=400).text
        client.post(first, {'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD,
                            'csrf_token': client.csrf()}, status=400)
    other_client.activate()
    assert other_client.get(f'/customers/{CANON}/saldos').status_int == 200
    assert signed_in_home(client) is None
    # Once active, the RFC is never a password again: a failed sign-in like any other.
    with nothing_changes(app, but=login_record(CANON)):
        assert client.login(CANON, CANON, status=400).status_int == 400
    assert with_root(app, lambda root: len(root.customers[CANON].failed_logins)) == 1
    assert 'no es válido' in client.get(second, status=400).text


def test_password_reset_ends_every_session_of_the_customer(app, client, other_client, mailer):
    client.sign_in_active(rfc=CANON, email='tesoreria@example.mx')
    assert other_client.login(CANON, GOOD_PASSWORD).status_int == 303
    bystander = new_client(app).sign_in_active(rfc=IXTAPA)
    for browser in (client, other_client):
        assert browser.get(f'/customers/{CANON}/saldos').status_int == 200

    mailer.outbox.clear()
    thief = new_client(app)
    thief.post_form('/recuperar-contrasena', {'login': CANON})
    link = link_in(mailer.outbox[-1], '/restablecer').replace(f'https://{HOST}', '')
    form = last_form(thief.get(link))
    form['password'] = form['password_confirmation'] = 'una frase nueva y bastante larga'
    assert 'contraseña cambió' in form.submit().text

    for browser in (client, other_client):
        assert browser.get(f'/customers/{CANON}/saldos').location == LOGIN_URL
        assert signed_in_home(browser) is None
    # No automatic sign-in after a reset, and other customers are untouched.
    assert signed_in_home(thief) is None
    assert bystander.get(f'/customers/{IXTAPA}/saldos').status_int == 200


def test_idle_session_ends_after_30_minutes_without_requests(client, frozen_clock):
    client.sign_in_active(rfc=IXTAPA)
    page = f'/customers/{IXTAPA}/saldos'
    for _ in range(4):  # two hours of steady use, a request every 29 minutes
        frozen_clock.advance(minutes=29)
        assert client.get(page).status_int == 200
    frozen_clock.advance(minutes=31)
    assert client.get(page).location == LOGIN_URL
    assert signed_in_home(client) is None


def test_session_ends_after_12_hours_however_active(client, frozen_clock):
    client.sign_in_active(rfc=IXTAPA)
    page = f'/customers/{IXTAPA}/saldos'
    for _ in range(28):  # 11 h 40 min
        frozen_clock.advance(minutes=25)
        assert client.get(page).status_int == 200
    frozen_clock.advance(minutes=25)  # 12 h 05 min since signing in
    assert client.get(page).location == LOGIN_URL
    assert signed_in_home(client) is None


def test_login_rotates_the_session_cookie_and_the_csrf_token(client, app):
    new_client(app).sign_in_active(rfc=IXTAPA)
    page = client.get('/')
    anonymous_cookie = client.cookies['canonportal']
    anonymous_token = page.html.find('input', {'name': 'csrf_token'})['value']
    form = last_form(page)
    form['login'], form['password'] = IXTAPA, GOOD_PASSWORD
    form.submit(status=303)
    assert client.cookies['canonportal'] != anonymous_cookie
    assert client.csrf('/recuperar-contrasena') != anonymous_token
    # The token seen before signing in no longer passes.
    client.post('/logout', {'csrf_token': anonymous_token}, status=400)
    assert signed_in_home(client) is not None
    # Session fixation: whoever planted the pre-login cookie is still anonymous.
    planter = new_client(app)
    planter.set_cookie('canonportal', anonymous_cookie)
    assert signed_in_home(planter) is None


# -- credentials --------------------------------------------------------------------------------

@pytest.mark.parametrize('login, password', [
    ('admin', 'admin'), ('admin', 'password'), ('admin', 'admin123'), ('admin', ''),
    ('administrator', 'administrator'), ('root', 'root'), ('test', 'test'),
    ('staff', 'staff'), ('canon', 'canon'), ('operator', 'operator'),
])
def test_there_are_no_default_staff_credentials(client, app, login, password):
    assert with_root(app, lambda root: len(root.staff)) == 0
    with nothing_changes(app, but=throttle):      # counted like any unknown name
        response = client.login(login, password, status=400)
    assert 'Usuario o contraseña incorrectos' in response.text
    assert signed_in_home(client) is None
    assert client.get('/manage').location == LOGIN_URL


def test_login_answers_alike_for_unknown_and_known_users(client, other_client, sampled_app):
    client.sign_in_active(rfc=CANON)
    client.post_form('/logout', {})

    def attempt(login):
        browser = new_client(sampled_app)
        response = browser.login(login, 'una contraseña equivocada', status='*')
        return response.status_int, response.html.find('main').get_text(' ', strip=True)

    # Each failure is counted where it belongs, nothing else is written; staff's is audited.
    with nothing_changes(sampled_app, but=(throttle, login_record(CANON), login_record(IXTAPA),
                                           login_record('alice')),
                         audited=[('staff.login', 'bad-credentials')]):
        unknown_rfc = attempt('XAXX010101000')
        assert unknown_rfc[0] == 400
        assert attempt(CANON) == unknown_rfc            # active customer, wrong password
        assert attempt(IXTAPA) == unknown_rfc           # never signed in, wrong password
        assert attempt('alice') == attempt('bob')       # staff: known and unknown username
