"""SALDOS and FACTURAS kept rendered (canonportal/views/kept.py): whatever changed in the
database — a payment, an import, the day's rate, a person's role or accounts — the next
page shows it; every session gets its own CSRF token and language, every person and
customer their own page; what a request typed, and its errors, appear where they belong."""
import datetime

import pytest

from urllib.parse import urlsplit

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from canonportal.erp.imports import run_import
from canonportal.passwords import hash_password
from canonportal.resources.company_user import CompanyUser
from canonportal.views.kept import PAGE_CACHE
from erp_samples import balances_csv, named_files, rates_csv
from payment_support import FIRST, new_payer
from portal_support import CANON, IXTAPA, Client, with_root

SALDOS = f'/customers/{CANON}/saldos'
FACTURAS = f'/customers/{CANON}/facturas'
PASSWORD = 'Colegas-Canon-2026!'
NOW = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=datetime.timezone.utc)


def tokens(page):
    """Every CSRF token of the page's forms."""
    return {field['value'] for field in page.html.find_all('input', attrs={'name': 'csrf_token'})}


def folios(page, table):
    """The folios listed: SALDOS' rows by their data-key, FACTURAS' by their folio cell."""
    if table == 'saldos-table':
        return [row['data-key'] for row in page.html.select('table.saldos-table tbody tr')]
    return [cell.get_text(strip=True) for cell in page.html.select('table.invoice-list td.folio')]


def facturas_cell(page, folio, label):
    """The text of FACTURAS' cell ``label`` ("Saldo", "Estado") in ``folio``'s row."""
    for row in page.html.select('table.invoice-list tbody tr'):
        link = row.find('td', class_='folio')
        if link is not None and link.get_text(strip=True) == folio:
            return row.find('td', attrs={'data-label': label}).get_text(' ', strip=True)
    raise AssertionError(f'{folio} not listed')


def saldos_balance(page, folio):
    return page.html.find('tr', attrs={'data-key': folio}).find(
        'td', attrs={'data-label': 'Cantidad Pendiente'}).get_text(strip=True)


def colleague(app, email, name, role, accounts=()):
    """A person of Canon Mexicana, signed in."""
    def add(root):
        user = CompanyUser(email, name, role, accounts)
        user.__name__ = 'u' + email.split('@')[0]
        user.password_hash = hash_password(PASSWORD)
        root.customers[CANON].add_user(user)
    with_root(app, add)
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert client.login(email, PASSWORD).status_int == 303
    client.set_cookie('lang', 'es')
    return client


def change_person(app, email, **changes):
    def change(root):
        user = next(u for u in root.customers[CANON].users.values() if u.email == email)
        for name, value in changes.items():
            setattr(user, name, value)
    with_root(app, change)


def import_files(app, files):
    report = with_root(app, lambda root: run_import(root, named_files(files), 'staff:alice',
                                                    now=NOW))
    assert report.ok, report.text()


# The page is kept, the request's parts are its own ----------------------------------------

@pytest.mark.parametrize('path', [SALDOS, FACTURAS])
def test_a_reload_is_served_kept_with_the_sessions_own_csrf_token(app, canon, path):
    PAGE_CACHE.clear()
    # The activation's flash message is this session's: shown once, on the first page.
    first = canon.get(path)
    assert 'Su cuenta está activa' in first.html.find(class_='flash').get_text()
    assert len(PAGE_CACHE) == 1
    again = canon.get(path)
    assert again.html.find(class_='flash') is None
    assert len(PAGE_CACHE) == 1 and canon.get(path).text == again.text    # the same page, kept
    own = canon.csrf()
    assert tokens(again) == {own}                                 # every form: this session's
    # The same customer signed in from another browser: the same kept page, its own token.
    other = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    other.set_cookie('lang', 'es')
    assert other.login(CANON, 'un pájaro azul sobre el volcán').status_int == 303
    other.get(path)     # (its sign-in was written on the customer: a new serial, a new page)
    kept = len(PAGE_CACHE)
    second = other.get(path)
    assert tokens(second) == {other.csrf()} and other.csrf() != own
    assert tokens(canon.get(path)) == {own} and len(PAGE_CACHE) == kept   # one page, two tokens
    # Each token is the one its session's forms need: the language form works with it...
    lang_form = next(form for form in second.forms.values() if form.action.endswith('/idioma'))
    assert lang_form['came_from'].value == path
    answer = lang_form.submit('lang', value='en', status=303)
    assert answer.location.endswith(path)
    # ...and the other session's token is refused.
    forged = canon.post('/idioma', {'csrf_token': other.csrf(), 'lang': 'en', 'came_from': path},
                        status='*')
    assert forged.status_int >= 400


def test_the_language_buttons_come_back_to_each_requests_own_address(canon):
    canon.get(FACTURAS)
    page = canon.get(FACTURAS + '?pagina=1')
    form = next(form for form in page.forms.values() if form.action.endswith('/idioma'))
    assert form['came_from'].value == FACTURAS + '?pagina=1'


def test_saldos_calculates_with_the_kept_pages_form(canon):
    canon.get(SALDOS)
    form = canon.get(SALDOS).forms['saldos-form']
    for box in form.fields['pick']:
        if box._value == '6212976':   # noqa: SLF001 - WebTest's checkbox value
            box.checked = True
    result = form.submit('accion', value='calcular', status=200)
    assert result.html.find('tr', attrs={'data-key': '6212976'}).find(
        'input', attrs={'name': 'pick'}).has_attr('checked')
    assert result.html.find('output', id='saldos-total').get_text(strip=True) != '$0.00 MXN'


# Typed values and their errors, where they happen -----------------------------------------

def test_a_wrong_amount_is_shown_red_on_its_row_and_the_next_page_is_clean(canon):
    canon.get(SALDOS)
    form = canon.get(SALDOS).forms['saldos-form']
    for box in form.fields['pick']:
        if box._value == '6212976':   # noqa: SLF001
            box.checked = True
    form['mxn-6212976'] = '12x'
    result = form.submit('accion', value='calcular', status=400)
    row = result.html.find('tr', attrs={'data-key': '6212976'})
    field = row.find('input', attrs={'name': 'mxn-6212976'})
    assert field['value'] == '12x' and field['aria-invalid'] == 'true'
    assert row.find('p', class_='field-error') is not None
    assert result.html.find(id='saldos-errors') is not None
    clean = canon.get(SALDOS)
    assert clean.html.find(id='saldos-errors') is None
    assert clean.html.find('input', attrs={'name': 'mxn-6212976'})['value'] == ''


def test_a_wrong_filter_is_shown_under_its_field_with_what_was_typed(canon):
    canon.get(FACTURAS)
    page = canon.get(FACTURAS + '?desde=2017-13-45&buscar=62129', status=400)
    assert page.html.find(id='f-desde')['value'] == '2017-13-45'
    assert page.html.find(id='f-desde')['aria-invalid'] == 'true'
    assert page.html.find(id='e-desde') is not None
    assert page.html.find(id='f-buscar')['value'] == '62129'
    clean = canon.get(FACTURAS)
    assert clean.html.find(id='e-desde') is None and clean.html.find(id='f-desde')['value'] == ''


# Nothing stale -----------------------------------------------------------------------------

def test_an_import_that_changes_a_balance_shows_at_once(app, canon):
    assert saldos_balance(canon.get(SALDOS), '6212976') != '$100.00 MXN'
    canon.get(FACTURAS)
    import_files(app, {'saldos.csv': balances_csv({'RFC': CANON, 'Folio': '6212976',
                                                   'Saldo': '100.00'})})
    assert saldos_balance(canon.get(SALDOS), '6212976') == '$100.00 MXN'
    assert facturas_cell(canon.get(FACTURAS), '6212976', 'Saldo') == '$100.00 MXN'


def test_a_new_rate_of_the_day_shows_at_once(app, canon):
    assert '$18.8869' in canon.get(SALDOS).html.find(class_='day-rate').get_text()
    import_files(app, {'fix.csv': rates_csv(['2026-11-29', '19.1234'])})
    assert '$19.1234' in canon.get(SALDOS).html.find(class_='day-rate').get_text()


def test_midnight_makes_an_invoice_due_today_overdue(app, client, frozen_clock):
    def due_today(root):
        invoice = root.customers[CANON].invoices['6213050']
        invoice.due = datetime.date(2026, 11, 29)
        invoice.reindex()
    with_root(app, due_today)
    frozen_clock.now = datetime.datetime(2026, 11, 30, 5, 20, tzinfo=datetime.timezone.utc)
    client.sign_in_active()         # 23:20 in Mexico City, 29 November
    for _minutes in (0, 20):
        assert facturas_cell(client.get(FACTURAS), '6213050', 'Estado').startswith('Abierta')
        frozen_clock.advance(minutes=20)
    # 00:00 in Mexico City: 30 November.
    assert facturas_cell(client.get(FACTURAS), '6213050', 'Estado').startswith('Vencida')


def test_a_payment_shows_in_the_banner_and_in_transit(portal, payer):
    payer.set_cookie('lang', 'es')
    saldos, facturas = payer.get(SALDOS), payer.get(FACTURAS)
    assert saldos.html.find(class_='in-progress') is None
    assert 'en tránsito' not in facturas_cell(facturas, '6212976', 'Estado')
    payer.pay('bbva', '6212976')
    saldos, facturas = payer.get(SALDOS), payer.get(FACTURAS)
    banner = saldos.html.find(class_='in-progress')
    assert banner is not None and 'en proceso' in banner.get_text()
    assert {form.find('input', attrs={'name': 'csrf_token'})['value']
            for form in banner.find_all('form')} == {payer.csrf()}
    assert saldos.html.find('tr', attrs={'data-key': '6212976'}).find(
        'td', class_='transit').get_text(strip=True) != ''
    assert 'en tránsito' in facturas_cell(facturas, '6212976', 'Estado')
    assert facturas.html.find(class_='in-progress') is not None


def held_by(page, folio):
    return ' '.join(page.html.find('tr', attrs={'data-key': folio}).find(
        class_='held-by').get_text().split())


def test_an_approved_request_no_longer_shows_as_waiting_for_approval(portal, payer, banks):
    ana = new_payer(portal, banks)
    assert ana.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    answer = ana.pay('bbva', '6212976', '6212977', '1233076')    # above the threshold
    assert answer.status_int == 303
    request_page = payer.get(urlsplit(answer.location).path)
    waiting = f'en proceso: pago {FIRST} (Ana Compras, por aprobar)'
    assert held_by(payer.get(SALDOS), '6212976') == waiting
    assert held_by(payer.get(SALDOS), '6212976') == waiting       # kept
    approve = next(f for f in request_page.forms.values() if f.action.endswith('@@aprobar'))
    assert approve.submit().status_int == 200                    # on to the bank
    assert held_by(payer.get(SALDOS), '6212976') == f'en proceso: pago {FIRST}'


def test_a_language_switch_shows_the_page_in_the_new_language(canon):
    canon.get(SALDOS)           # the activation's flash message, shown once
    spanish = canon.get(SALDOS)
    canon.set_cookie('lang', 'en')
    english = canon.get(SALDOS)
    assert spanish.html.html['lang'] == 'es' and english.html.html['lang'] == 'en'
    assert 'Listado de facturas' in spanish.text and 'Listado de facturas' not in english.text
    canon.set_cookie('lang', 'es')
    assert canon.get(SALDOS).text == spanish.text


def test_a_role_or_account_change_shows_at_once(app, canon):
    ana = colleague(app, 'ana.pagos@example.mx', 'Ana Pagos', 'pago')
    assert ana.get(SALDOS).html.find(id='view-only') is None
    assert '6212976' in folios(ana.get(FACTURAS), 'invoice-list')
    change_person(app, 'ana.pagos@example.mx', role='consulta')
    saldos = ana.get(SALDOS)
    assert saldos.html.find(id='view-only') is not None
    assert saldos.html.find(class_='pay-bar') is None
    change_person(app, 'ana.pagos@example.mx', accounts=('005301',))
    assert folios(ana.get(FACTURAS), 'invoice-list') == ['6213050']
    assert folios(ana.get(SALDOS), 'saldos-table') == ['6213050']


# No one sees another's page ----------------------------------------------------------------

def test_colleagues_and_customers_each_see_their_own_page(app, canon, ixtapa):
    limited = colleague(app, 'ana.cuenta@example.mx', 'Ana Cuenta', 'pago', accounts=('005301',))
    everything = colleague(app, 'beto.todo@example.mx', 'Beto Todo', 'consulta')
    for _round in range(2):     # the second round is served from what the first kept
        for client, name, wanted in (
                (limited, 'Ana Cuenta', ['6213050']),
                (everything, 'Beto Todo', None),
                (canon, 'Canon Mexicana SA de CV', None)):
            for path, table in ((FACTURAS, 'invoice-list'), (SALDOS, 'saldos-table')):
                page = client.get(path)
                assert page.html.find(class_='who').get_text(strip=True) == name
                assert tokens(page) == {client.csrf()}
                shown = folios(page, table)
                if wanted is None:
                    assert '6212976' in shown and '6213050' in shown
                else:
                    assert shown == wanted
        own = ixtapa.get(f'/customers/{IXTAPA}/facturas')
        assert IXTAPA in own.text and CANON not in own.text
        assert folios(own, 'invoice-list') == ['7100502', '7100501']
        assert tokens(own) == {ixtapa.csrf()}
    # Beto may only look: no pay bar, while Ana (pago) has one.
    assert everything.get(SALDOS).html.find(class_='pay-bar') is None
    assert limited.get(SALDOS).html.find(class_='pay-bar') is not None
