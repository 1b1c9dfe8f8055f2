"""Spanish by default, English complete and selectable, the choice kept in the ``lang`` cookie.

Two halves: the catalogs (every msgid of the .pot has an English msgstr in the
.po, the compiled .mo matches the .po, the .pot matches the sources) and the
pages a user sees after choosing English with the language buttons of the
layout (a POST to /idioma with its CSRF token).
"""
import datetime
import io
import pathlib
import re
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from canonportal import formatting
from portal_support import CANON, Client, last_form, login_record, nothing_changes, with_root

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'canonportal'
LOCALE = PACKAGE / 'locale'
POT = LOCALE / 'canonportal.pot'
PO = LOCALE / 'en' / 'LC_MESSAGES' / 'canonportal.po'
MO = LOCALE / 'en' / 'LC_MESSAGES' / 'canonportal.mo'
REFRESH = 'run `make i18n`, translate the new entries of the .po, and run `make i18n` again'

CUSTOMER = f'/customers/{CANON}'
PLACEHOLDER = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_]*)\}')


def read_catalog(path):
    with open(path, 'rb') as handle:
        return read_po(handle)


def _key(value):
    """A plural entry's (singular, plural) pair as a tuple, whatever the reader gave."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _id(message):
    """The key of a catalog entry: its msgid, after its context if it has one."""
    return f'{message.context}\x04{message.id}' if message.context else _key(message.id)


def translations(catalog):
    """msgid → msgstr of the entries a translator finished (neither empty nor fuzzy); a
    plural entry is keyed by its (singular, plural) pair and counts only with every form, an
    entry with a context (msgctxt) by ``context + '\x04' + msgid``, as gettext keys it."""
    return {_id(m): _key(m.string) for m in catalog
            if m.id and not m.fuzzy and m.string
            and (not isinstance(m.string, (list, tuple)) or all(m.string))}


# --- the catalogs ----------------------------------------------------------------------------

def test_every_msgid_of_the_template_has_an_english_translation():
    pot = read_catalog(POT)
    english = translations(read_catalog(PO))
    msgids = [_id(m) for m in pot if m.id]
    assert len(msgids) > 200
    missing = [msgid for msgid in msgids if not english.get(msgid)]
    assert not missing, f'untranslated or fuzzy in {PO.name} ({REFRESH}): {missing}'


def test_translations_keep_the_placeholders():
    for msgid, msgstr in translations(read_catalog(PO)).items():
        if isinstance(msgid, tuple):   # every plural form keeps the placeholders of the plural
            for form in msgstr:
                assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(msgid[1])), msgid
            continue
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_the_english_catalog_is_english():
    english = translations(read_catalog(PO))
    assert english['ESTADOS DE CUENTA'] == 'ACCOUNT STATEMENTS'
    assert english['FACTURAS'] == 'INVOICES'
    assert english['SALDOS'] == 'BALANCES'
    assert english['HISTORIAL DE PAGOS'] == 'PAYMENT HISTORY'
    assert english['Cantidad a Pagar MXN'] == 'Amount to Pay MXN'
    assert english['Pago en Tránsito'] == 'Payment in Transit'
    # The role "Pago" is a person who pays; a payment is another word.
    assert english['rol\x04Pago'] == 'Payer' and english['Pago'] == 'Payment'
    # No entry was left as a copy of the Spanish (a few words are the same in both).
    same = {msgid for msgid, msgstr in english.items() if msgid == msgstr and isinstance(msgid, str)}
    assert same <= {'RFC:', 'Folio', 'Auditor', 'Total', 'No'}, same


def test_the_compiled_catalog_matches_the_po():
    po = read_catalog(PO)
    with open(MO, 'rb') as handle:
        compiled = read_mo(handle)
    assert translations(compiled) == translations(po), f'{MO.name} is stale: {REFRESH}'
    # And compiling the .po now gives the same messages as the committed .mo.
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    assert translations(read_mo(buffer)) == translations(compiled)


def test_the_template_matches_the_sources(tmp_path):
    """Every message the code and the templates mark is in the .pot (lingua, as `make i18n`)."""
    pot_create = shutil.which('pot-create', path=str(pathlib.Path(sys.executable).parent))
    if pot_create is None:
        pytest.skip('lingua is not installed (pip install -e ".[dev]")')
    fresh = tmp_path / 'fresh.pot'
    subprocess.run([pot_create, '-d', 'canonportal', '-o', str(fresh), 'canonportal'],
                   cwd=PACKAGE.parent, check=True, capture_output=True)
    extracted = {_id(m) for m in read_catalog(fresh) if m.id}
    committed = {_id(m) for m in read_catalog(POT) if m.id}
    assert not extracted - committed, f'new messages not in {POT.name} ({REFRESH})'
    assert not committed - extracted, f'messages gone from the sources still in {POT.name} ({REFRESH})'


def test_extraction_finds_python_mappings_and_template_attributes():
    msgids = {_id(m) for m in read_catalog(POT) if m.id}
    assert ('${count} factura', '${count} facturas') in msgids           # views: ngettext plurals
    assert 'Página ${current} de ${pages}' in msgids                     # views: _() with mapping
    assert 'Escriba una cantidad mayor que cero.' in msgids              # selection.py's own factory
    assert 'Menú' in msgids                                              # i18n:attributes
    assert 'Marque las facturas y descárguelas en un archivo ZIP (hasta ${limit} por archivo).' in msgids  # i18n:name
    assert 'La contraseña debe tener al menos 12 caracteres.' in msgids  # passwords.py


# --- choosing the language --------------------------------------------------------------------

def choose(client, language, path='/'):
    """Press the language button of ``path``'s layout, as a user would; return the page after."""
    page = client.get(path)
    form = page.forms[0]
    assert form.action.endswith('/idioma')
    assert form['csrf_token'].value
    response = form.submit('lang', value=language, status=303)
    assert client.cookies.get('lang') == language
    return response.follow()


def visible_text(page):
    soup = page.html
    for hidden in soup(['script', 'style']):
        hidden.decompose()
    return ' '.join(soup.get_text(' ').split())


@pytest.fixture(scope='module')
def spanish_phrases():
    """Spanish msgids of two words or more whose English differs: none may show in English."""
    return sorted(msgid for msgid, msgstr in translations(read_catalog(PO)).items()
                  if isinstance(msgid, str) and msgid != msgstr and '${' not in msgid
                  and len(msgid.split()) >= 2
                  and len(msgid) >= 10)


def assert_english(page, spanish_phrases, present=(), absent=()):
    text = visible_text(page)
    assert page.html.html['lang'] == 'en'
    for label in present:
        assert label in text, label
    for label in absent:
        assert label not in text, label
    left = [phrase for phrase in spanish_phrases if phrase in text]
    assert not left, f'Spanish left on an English page: {left}'


def test_spanish_is_the_default(client):
    page = client.get('/')
    assert page.html.html['lang'] == 'es'
    assert 'Iniciar sesión' in visible_text(page)
    assert 'lang' not in client.cookies


def test_login_page_in_english(client, spanish_phrases):
    page = choose(client, 'en')
    assert page.request.path == '/'
    assert_english(page, spanish_phrases,
                   present=['Customer Portal', 'Username:', 'Password:', 'Sign in',
                            'Recover password', 'NOTE:'],
                   absent=['Iniciar sesión', 'Contraseña:', 'Usuario:', 'Recuperar contraseña'])
    assert page.html.find('title').get_text().startswith('Customer Portal')


def test_a_refused_login_says_so_in_english(app, client, spanish_phrases):
    choose(client, 'en')
    with nothing_changes(app, but=login_record(CANON)):
        page = client.login(CANON, 'not the password')
    assert_english(page, spanish_phrases, present=['Incorrect username or password.'])


def test_activation_page_in_english(app, client, mailer, spanish_phrases):
    choose(client, 'en')
    sent = client.login(CANON, CANON)
    assert_english(sent, spanish_phrases, present=['We sent a link to activate your account'])
    # The activation mail follows the chosen language too.
    assert mailer.outbox[-1].subject == 'Activate your account'
    assert 'To activate your account' in mailer.outbox[-1].body
    page = client.get(client.activation_link())
    assert_english(page, spanish_phrases,
                   present=['Activate account', 'Name:', 'Email:', 'New password',
                            'Confirm the password', 'Save and continue', 'at least 12 characters'],
                   absent=['Activar cuenta', 'Contraseña nueva', 'Guardar y continuar'])
    form = last_form(page)
    form['password'] = form['password_confirmation'] = 'short'
    with nothing_changes(app):
        refused = form.submit(status=400)
    assert_english(refused, spanish_phrases, present=['The password must have at least 12 characters.'])


@pytest.fixture
def english_customer(client, frozen_clock):
    """Canon Mexicana signed in after choosing English on the login page."""
    choose(client, 'en')
    return client.sign_in_active()


def test_account_statements_in_english(app, english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/estados-de-cuenta')
    assert_english(page, spanish_phrases,
                   present=['ACCOUNT STATEMENTS', 'INVOICES', 'BALANCES', 'PAYMENT HISTORY',
                            'Account statements', 'Name:', 'Customer #', 'Issue date',
                            'Download account statement', 'Download PDF', 'Generate PDF',
                            # the flash of the activation, translated when it was flashed
                            'Done. Your account is active'],
                   absent=['Fecha de expedición', 'Estados de cuenta', 'Descargar estado de cuenta'])
    issued = with_root(app, lambda root: root.customers[CANON].statements['171001'].issued)
    text = visible_text(page)
    assert formatting.timestamp(issued, 'en') in text
    assert formatting.timestamp(issued, 'es') not in text
    assert 'p.m.' not in text


def test_the_role_pago_is_payer_in_english_wherever_it_is_named(english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/usuarios')
    roles = {radio['value']: radio.find_parent('label').find('strong').get_text(strip=True)
             for radio in page.html.find_all('input', attrs={'name': 'role', 'type': 'radio'})}
    assert roles == {'consulta': 'View only', 'captura': 'Preparer', 'pago': 'Payer',
                     'admin': 'Administrator'}
    assert_english(page, spanish_phrases, absent=['Payment:'])


def test_invoices_in_english(english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/facturas')
    assert_english(page, spanish_phrases,
                   present=['Filter invoices', 'Issued from', 'Search by folio or UUID', 'Date', 'Due',
                            'Currency', 'Amount', 'Balance', 'Status', 'Overdue', 'Paid', '11 invoices',
                            'Download XML and PDF'],
                   absent=['Fecha de expedición', 'Vencimiento', 'Vencida', 'Moneda', 'facturas'])
    text = visible_text(page)
    assert formatting.money(Decimal('27794.52'), 'MXN', 'en') == '$27,794.52 MXN'
    assert '$27,794.52 MXN' in text and '$160.71 USD' in text
    assert '2017-10-06' in text and '06-10-2017' not in text    # ISO dates in English
    # A refused filter explains itself in English.
    refused = english_customer.get(f'{CUSTOMER}/facturas', {'estado': 'x', 'desde': 'x'}, status=400)
    assert_english(refused, spanish_phrases,
                   present=['Invalid status; choose open, overdue or paid.',
                            'Check the highlighted filters; the others were applied.'])
    # One invoice's page.
    link = page.html.find('a', string='6212976')['href']
    invoice = english_customer.get(link)
    assert_english(invoice, spanish_phrases,
                   present=['Invoice 6212976', 'Invoice details', 'Fiscal folio (UUID)', 'Issue date',
                            'Due date', 'Outstanding balance', 'Download XML (CFDI)', '← Back to invoices'],
                   absent=['Datos de la factura', 'Fecha de emisión'])


def test_balances_in_english(english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/saldos')
    assert_english(page, spanish_phrases,
                   present=['BALANCES', 'Online payment methods', 'Invoice list', 'Invoice / Date',
                            'Due Date', 'Invoice Amount USD', 'Exchange Rate', 'Invoice Amount MXN',
                            'Amount to Pay MXN', 'Amount to Pay USD', 'Outstanding Amount',
                            'Payment in Transit', 'Calculate'],
                   absent=['Listado de facturas', 'Medios de pago en línea', 'Cantidad a Pagar MXN',
                           'Pago en Tránsito', 'Tipo de Cambio', 'Calcular'])
    text = visible_text(page)
    assert formatting.rate(Decimal('18.8869'), 'en') in text
    assert '$27,794.52 MXN' in text


def test_payment_history_in_english(english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/historial-de-pagos')
    assert_english(page, spanish_phrases,
                   present=['PAYMENT HISTORY', 'Payment history', 'Filter by account:', 'Filter by date:',
                            'Payment date', 'Payment reference', 'Bank reference', 'Amount',
                            'Invoice paid', 'Records: 1', 'Total paid: $18.31 MXN', 'Download CSV',
                            'Payment list'],
                   absent=['Fecha de pago', 'Filtrar por cuenta', 'Referencia bancaria', 'Historial de pagos',
                           'Invoice list'])
    text = visible_text(page)
    paid = datetime.datetime(2017, 10, 10, 13, 34, tzinfo=datetime.timezone.utc)  # 08:34 in Mexico City
    assert formatting.timestamp(paid, 'en') == '2017-10-10 08:34:00 AM'
    assert '2017-10-10 08:34:00 AM' in text
    assert 'a.m.' not in text
    csv = english_customer.get(f'{CUSTOMER}/historial-de-pagos.csv')
    header = csv.body.decode('utf-8-sig').splitlines()[0]
    assert header.startswith('Payment date,Payment reference,Bank reference,Amount (MXN),Invoice paid')
    assert 'Fecha de pago' not in csv.body.decode('utf-8-sig')


def test_statement_pdf_in_english(english_customer):
    pypdf = pytest.importorskip('pypdf')
    response = english_customer.get(f'{CUSTOMER}/estado-de-cuenta.pdf',
                                    {'cuenta': '005300', 'desde': '2017-10-01', 'hasta': '2017-10-31'})
    assert response.content_type == 'application/pdf'
    text = ' '.join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.body)).pages)
    assert 'Opening balance' in text and 'Closing balance' in text
    assert 'Saldo inicial' not in text


def test_error_pages_in_english(english_customer, spanish_phrases):
    page = english_customer.get(f'{CUSTOMER}/no-such-page', status=404)
    assert_english(page, spanish_phrases, present=['Page not found', 'Go to the home page'],
                   absent=['Página no encontrada'])


def test_the_cookie_keeps_the_choice_across_requests_and_sign_in(client, frozen_clock):
    choose(client, 'en')
    for _ in range(2):
        assert 'Sign in' in visible_text(client.get('/'))
    client.sign_in_active()
    assert client.cookies.get('lang') == 'en'
    assert 'ACCOUNT STATEMENTS' in visible_text(client.get(f'{CUSTOMER}/estados-de-cuenta'))
    # Another browser without the cookie still gets Spanish.
    other = Client(client.app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert 'Iniciar sesión' in visible_text(other.get('/'))


def test_switching_back_to_spanish(client, frozen_clock):
    choose(client, 'en')
    client.sign_in_active()
    page = choose(client, 'es', f'{CUSTOMER}/historial-de-pagos')
    assert page.request.path == f'{CUSTOMER}/historial-de-pagos'   # back where the user was
    text = visible_text(page)
    assert page.html.html['lang'] == 'es'
    assert 'HISTORIAL DE PAGOS' in text and 'Fecha de pago' in text
    assert '10/10/2017 08:34:00 a.m.' in text
    assert 'PAYMENT HISTORY' not in text and 'Payment date' not in text
    assert client.cookies.get('lang') == 'es'
    statements = visible_text(client.get(f'{CUSTOMER}/estados-de-cuenta'))
    assert 'Fecha de expedición' in statements and 'Issue date' not in statements


def test_an_unknown_language_changes_nothing(client):
    choose(client, 'en')
    token = client.get('/').forms[0]['csrf_token'].value
    client.post('/idioma', {'csrf_token': token, 'lang': 'fr',
                            'came_from': '/'}, status=303)
    assert client.cookies.get('lang') == 'en'
    assert 'Sign in' in visible_text(client.get('/'))


def test_the_language_form_needs_its_csrf_token(app, client):
    client.get('/')
    with nothing_changes(app):
        client.post('/idioma', {'lang': 'en', 'came_from': '/'}, status=400)
    assert 'lang' not in client.cookies
    assert 'Iniciar sesión' in visible_text(client.get('/'))


def test_remembered_translations_never_freeze_a_message_with_values(app):
    from pyramid.interfaces import ILocalizer

    from canonportal.i18n import _
    english = app.registry.queryUtility(ILocalizer, name='en')
    message = 'La factura ${folio} ya no se puede pagar.'
    first = english.translate(_(message, mapping={'folio': 'A-1'}))
    second = english.translate(_(message, mapping={'folio': 'B-2'}))
    assert 'A-1' in first and 'B-2' in second and first != second
    # Plain labels are remembered per language and per default text.
    assert english.translate(_('Saldos')) == english.translate(_('Saldos')) != 'Saldos'
    spanish = app.registry.queryUtility(ILocalizer, name='es')
    assert spanish.translate(_('Saldos')) == 'Saldos'


def test_switching_language_after_a_failed_sign_in_shows_the_sign_in_page_in_english(client):
    failed = client.login(CANON, 'not the password', status=400)
    assert failed.request.path == '/login'
    form = failed.forms[0]
    assert form['came_from'].value == '/login'
    page = form.submit('lang', value='en', status=303).follow()      # GET /login
    page = page.follow() if page.status_int == 302 else page
    assert page.request.path == '/' and 'Sign in' in visible_text(page)


def test_switching_language_on_the_confirmation_page_lands_on_saldos(client):
    client.sign_in_active()
    saldos = client.get(f'/customers/{CANON}/saldos')
    form = saldos.forms['saldos-form']
    fields = [(k, v) for k, v in form.submit_fields() if k != 'accion']
    fields += [('pick', '6212976'), ('bank', 'banamex')]
    confirm = client.post(f'/customers/{CANON}/pagar', fields, status='*')
    switch = confirm.forms[0]
    assert switch['came_from'].value == f'/customers/{CANON}/pagar'
    page = switch.submit('lang', value='en', status=303).follow()
    assert page.status_int == 303 and page.location.endswith(f'/customers/{CANON}/saldos')
    assert 'BALANCES' in visible_text(page.follow()).upper()


@pytest.mark.parametrize('language, one, many', [
    ('es', ['1 factura', '1 elemento', 'Se exportó 1 pago en p.csv.'],
     ['0 facturas', '2 elementos', 'Se exportaron 2 pagos en p.csv.']),
    ('en', ['1 invoice', '1 item', '1 payment was exported to p.csv.'],
     ['0 invoices', '2 items', '2 payments were exported to p.csv.'])])
def test_counts_take_the_catalogs_plural_forms(language, one, many):
    from types import SimpleNamespace

    from pyramid.i18n import make_localizer

    from canonportal.views.customer import INVOICE_COUNT
    from canonportal.views.manage.erp import EXPORTED
    from canonportal.views.manage.listing import ITEM_COUNT
    request = SimpleNamespace(localizer=make_localizer(language, [str(LOCALE)]))
    assert [INVOICE_COUNT.format(request, 1), ITEM_COUNT.format(request, 1),
            EXPORTED.format(request, 1, file='p.csv')] == one
    assert [INVOICE_COUNT.format(request, 0), ITEM_COUNT.format(request, 2),
            EXPORTED.format(request, 2, file='p.csv')] == many
