"""SALDOS as the manual shows it, without JavaScript: the list, "Calcular", paging, the
bank buttons (a confirmation page first; nothing recorded before ACEPTAR) and isolation
between customers. The paying itself is in test_payments.py."""
import datetime
import re
from decimal import Decimal

import httpx
import pytest
from webob.multidict import MultiDict

from canonportal.bootstrap import add_demo_data
from canonportal.payments import selection
from canonportal.resources import Invoice
from portal_support import (
    CANON, IXTAPA, Client, file_storage_uri, make_app, nothing_changes, with_root)
from payment_support import BBVA_ACCOUNT, BBVA_SECRET, Banks, bank_settings

SALDOS = f'/customers/{CANON}/saldos'
PAGAR = f'/customers/{CANON}/pagar'
MANUAL_THREE = ('6212976', '1233076', '1233080')
COLUMNS = ['Factura / Fecha', 'Fecha Vencimiento', 'Importe Factura USD', 'Tipo de Cambio',
           'Importe Factura MXN', 'Cantidad a Pagar MXN', 'Cantidad a Pagar USD',
           'Cantidad Pendiente', 'Pago en Tránsito']


@pytest.fixture
def app(tmp_path):
    """The portal with the demo data and both banks configured (the sandboxes in process)."""
    settings = bank_settings(httpx.WSGITransport(app=Banks().site))
    settings['zodbconn.uri'] = file_storage_uri(tmp_path)
    app = make_app(**settings)
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    return app


def the_form(page):
    return page.forms['saldos-form']


def tick(form, *keys):
    for box in form.fields['pick']:
        if box._value in keys:
            box.checked = True
    return form


def calculate(form, status=200):
    return form.submit('accion', value='calcular', status=status)


def total_of(page):
    return page.html.find('output', id='saldos-total').get_text(strip=True)


def row_of(page, key):
    return page.html.find('tr', attrs={'data-key': key})


def cells(row):
    return [td.get_text(' ', strip=True) for td in row.find_all('td')]


def add_open_invoices(app, count, rfc=CANON):
    def add(root):
        customer = root.customers[rfc]
        for number in range(count):
            due = datetime.date(2026, 12, 1) + datetime.timedelta(days=number // 50)
            customer.add_invoice(Invoice(f'8{number:06d}', '005300', datetime.date(2026, 11, 1),
                                         due, 'MXN', f'{100 + number}.25'))
    with_root(app, add)


# The page ---------------------------------------------------------------------------

def test_columns_are_exactly_the_manuals(canon):
    page = canon.get(SALDOS)
    headers = [th.get_text(strip=True) for th in page.html.select('table.saldos-table thead th')]
    assert headers == COLUMNS
    assert 'Medios de pago en línea' in page.text and 'Listado de facturas' in page.text
    assert page.html.select_one('div.table-wrap > table.saldos-table') is not None


def test_bank_buttons_and_the_note_about_other_banks(canon):
    page = canon.get(SALDOS)
    buttons = page.html.select('button[name=bank]')
    assert [(b['value'], b.get_text(strip=True)) for b in buttons] == [
        ('banamex', 'Citibanamex'), ('bbva', 'BBVA Bancomer')]
    assert all(b['formaction'].endswith('/pagar') for b in buttons)
    assert 'tarjetas de otros bancos a través de BBVA Bancomer' in page.text


def test_banks_come_from_the_settings(tmp_path, frozen_clock):
    app = make_app(**{'zodbconn.uri': file_storage_uri(tmp_path), 'canonportal.banks': 'bbva',
                      'bbva.endpoint_url': 'https://bank.test/sandbox/bbva/clb/endpoint/canon',
                      'bbva.account': BBVA_ACCOUNT, 'bbva.secret': BBVA_SECRET})
    with_root(app, lambda root: add_demo_data(root, today=datetime.date(2026, 11, 29)))
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'}).sign_in_active()
    page = client.get(SALDOS)
    assert [b['value'] for b in page.html.select('button[name=bank]')] == ['bbva']
    fields = tick(the_form(page), '6212976').submit_fields() + [('bank', 'banamex')]
    refused = client.post(PAGAR, fields, status=400)
    assert 'Elija uno de los bancos' in refused.text


def test_only_invoices_with_something_left_sorted_by_due_date(canon):
    page = canon.get(SALDOS)
    keys = [tr['data-key'] for tr in page.html.select('tr.invoice-row')]
    assert keys == ['1232081', '1233074', '1233075', '1233076', '1233077', '1233080', '1233081',
                    '6212976', '6213050']
    assert '6212901' not in page.text and '1233001' not in page.text   # paid


def test_rows_as_the_manual_prints_them(canon):
    page = canon.get(SALDOS)
    row = cells(row_of(page, '1233074'))
    assert row[0].startswith('Pagar la factura 1233074 05-10-2017')
    assert row[1:5] == ['04-11-2017', '$160.71 USD', '$18.8869 MXN', '$3,035.31 MXN']
    assert row[7] == '$3,035.31 MXN'          # Cantidad Pendiente: the balance in MXN
    assert row[8] == '$1.00 USD'              # Pago en Tránsito, in the invoice's currency
    mxn_row = row_of(page, '6212976')
    assert cells(mxn_row)[1:5] == ['05-11-2017', '', '', '$27,794.52 MXN']
    assert mxn_row.find('input', attrs={'name': 'usd-6212976'}) is None   # no USD for MXN
    assert row_of(page, '1233074').find('input', attrs={'name': 'usd-1233074'}) is not None
    # What the JavaScript fills in when ticked, from the server.
    tr = row_of(page, '1233074')
    assert (tr['data-left-mxn'], tr['data-left-usd']) == ('3016.42', '159.71')
    assert page.html.find('form', id='saldos-form')['data-rate'] == '18.8869'
    assert 'Tipo de cambio del día:' in page.text and '$18.8869 MXN' in page.text


def test_overdue_invoices_stand_out_with_a_visible_badge(canon):
    page = canon.get(SALDOS)
    row = row_of(page, '1233080')
    assert 'overdue' in row['class']
    assert row.find(class_='badge').get_text(strip=True) == 'Vencida'


def test_fields_are_labelled_and_the_total_is_a_live_output(canon):
    page = canon.get(SALDOS)
    html = page.html
    for field in html.select('table.saldos-table input[type=checkbox], table.saldos-table input[type=text]'):
        assert html.find('label', attrs={'for': field['id']}), field
    output = html.find('output', id='saldos-total')
    assert output['aria-live'] == 'polite' and total_of(page) == '$0.00 MXN'
    assert html.find('label', attrs={'for': 'saldos-total'})
    # Static JavaScript and CSS of the package; no inline script.
    scripts = html.find_all('script')
    assert [s.get('src', '').split('/static/')[-1] for s in scripts] == ['money.js', 'saldos.js']
    assert all(s.has_attr('defer') and not s.get_text(strip=True) for s in scripts)
    assert any(link['href'].endswith('/static/saldos.css') for link in html.find_all('link'))
    assert canon.get('/static/saldos.js').content_type in ('application/javascript', 'text/javascript')


def test_the_form_posts_with_a_csrf_token_and_enter_means_calcular(canon):
    page = canon.get(SALDOS)
    form = page.html.find('form', id='saldos-form')
    assert form['method'] == 'post' and form.find('input', attrs={'name': 'csrf_token'})['value']
    first_button = form.find('button')
    assert first_button['value'] == 'calcular'   # the default button is never a bank


# "Calcular" ---------------------------------------------------------------------------

def test_calcular_with_the_manuals_three_invoices(canon):
    result = calculate(tick(the_form(canon.get(SALDOS)), *MANUAL_THREE))
    form = the_form(result)
    assert form['mxn-6212976'].value == '27794.52'
    assert (form['mxn-1233076'].value, form['usd-1233076'].value) == ('3171.86', '167.94')
    assert (form['mxn-1233080'].value, form['usd-1233080'].value) == ('5904.42', '312.62')
    # 27,794.52 + 3,171.86 (167.94 × 18.8869 = 3,171.866, truncated) + 5,904.42.
    assert total_of(result) == '$36,870.80 MXN'
    assert [b.checked for b in form.fields['pick'] if b._value in MANUAL_THREE] == [True] * 3
    assert total_line(result) == 'Total a pagar: 3 facturas · $36,870.80 MXN Calcular'


def total_line(page):
    return ' '.join(page.html.find('div', class_='total-bar').get_text(' ').split())


def test_the_total_line_counts_the_invoices_with_the_catalogs_plural(canon):
    page = canon.get(SALDOS)
    assert total_line(page) == 'Total a pagar: 0 facturas · $0.00 MXN Calcular'
    one = calculate(tick(the_form(page), '6212976'))
    assert total_line(one) == 'Total a pagar: 1 factura · $27,794.52 MXN Calcular'
    form = one.html.find('form', id='saldos-form')
    # saldos.js counts with the same forms as the ticks change.
    assert (form['data-count-one'], form['data-count-other']) == ('{n} factura', '{n} facturas')
    canon.set_cookie('lang', 'en')
    english = calculate(tick(the_form(canon.get(SALDOS)), '6212976'))
    assert '1 invoice ·' in total_line(english)
    form = english.html.find('form', id='saldos-form')
    assert (form['data-count-one'], form['data-count-other']) == ('{n} invoice', '{n} invoices')


def overdue_payable(app, today=datetime.date(2026, 11, 29)):
    def read(root):
        return {key for key, invoice in root.customers[CANON].invoices.items()
                if invoice.due is not None and invoice.due < today and invoice.left_to_pay > 0}
    return with_root(app, read)


def test_select_all_overdue_ticks_them_on_every_page_and_keeps_typed_amounts(app, canon):
    add_open_invoices(app, 150)   # due from 1 December: not overdue, and a second page
    overdue = overdue_payable(app)
    assert len(overdue) >= 5 and '6212976' in overdue
    page = canon.get(SALDOS)
    assert page.html.find('button', value='vencidas').get_text(strip=True) == \
        'Seleccionar todas las vencidas'
    form = tick(the_form(page), '6212976')
    form['mxn-6212976'] = '100.00'
    with nothing_changes(app):                   # nothing is reserved
        result = form.submit('accion', value='vencidas')
    ticked = {box._value for box in the_form(result).fields['pick'] if box.checked}
    assert ticked == overdue          # none of the 150 not yet due
    assert the_form(result)['mxn-6212976'].value == '100.00'   # what was typed stays
    assert f'{len(overdue)} facturas' in total_line(result)


def test_select_all_overdue_is_offered_only_when_something_is_overdue(app, canon, frozen_clock):
    frozen_clock.now = datetime.datetime(2017, 1, 2, 18, 0, tzinfo=datetime.timezone.utc)
    page = canon.get(SALDOS)
    assert page.html.find('button', value='vencidas') is None
    assert page.html.find('th', attrs={'aria-sort': 'ascending'}).get_text(strip=True) == \
        'Fecha Vencimiento'


def test_calcular_with_partial_amounts_in_mxn_and_usd(canon):
    form = tick(the_form(canon.get(SALDOS)), '6212976', '1233080', '1233076')
    form['mxn-6212976'] = '1,000.50'
    form['usd-1233080'] = '100'
    form['mxn-1233076'] = '944.34'
    result = calculate(form)
    again = the_form(result)
    assert again['mxn-6212976'].value == '1000.50'
    assert (again['mxn-1233080'].value, again['usd-1233080'].value) == ('1888.69', '100.00')
    assert (again['mxn-1233076'].value, again['usd-1233076'].value) == ('944.34', '50.00')
    assert total_of(result) == '$3,833.53 MXN'
    # Without JavaScript, changing the USD now moves the MXN (the edited field wins).
    again['usd-1233080'] = '10'
    third = calculate(again)
    assert the_form(third)['mxn-1233080'].value == '188.86'
    assert total_of(third) == '$2,133.70 MXN'


def test_unticking_drops_the_row_even_with_amounts_left_in_it(canon):
    result = calculate(tick(the_form(canon.get(SALDOS)), *MANUAL_THREE))
    form = the_form(result)
    for box in form.fields['pick']:
        if box._value == '6212976':
            box.checked = False
    after = calculate(form)
    assert total_of(after) == '$9,076.28 MXN'
    assert the_form(after)['mxn-6212976'].value == ''


@pytest.mark.parametrize('typed, message', [
    ('-10', 'mayor que cero'), ('0', 'mayor que cero'), ('12.345', '2 decimales'),
    ('doce', 'cantidad válida'), ('27794.53', 'excede lo que queda por pagar'),
])
def test_bad_input_gets_a_message_next_to_the_field_and_changes_nothing(canon, app, typed, message):
    form = tick(the_form(canon.get(SALDOS)), '6212976', '1233080')
    form['mxn-6212976'] = typed
    with nothing_changes(app):
        result = calculate(form, status=400)
    field = result.html.find('input', attrs={'name': 'mxn-6212976'})
    error = result.html.find(id=field['aria-describedby'])
    assert message in error.get_text() and field['aria-invalid'] == 'true'
    assert error.find_parent('td') is field.find_parent('td')
    assert the_form(result)['mxn-6212976'].value == typed       # kept to be corrected
    assert 'Revise la selección' in result.text
    assert total_of(result) == '$5,904.42 MXN'                  # only the valid row


def test_over_what_is_left_counts_the_usd_in_transit(canon, app):
    form = tick(the_form(canon.get(SALDOS)), '1233074')
    form['usd-1233074'] = '160.71'   # the balance, but 1.00 USD is in transit
    with nothing_changes(app):
        result = calculate(form, status=400)
    assert '$159.71 USD' in result.html.find(id='usd-1-error').get_text()
    form = the_form(result)
    form['usd-1233074'] = '159.71'
    ok = calculate(form)
    assert total_of(ok) == '$3,016.42 MXN'


def test_the_rate_sent_by_the_browser_is_ignored(canon):
    form = tick(the_form(canon.get(SALDOS)), '1233080')
    fields = form.submit_fields() + [('rate', '1.0000'), ('data-rate', '1'), ('accion', 'calcular')]
    result = canon.post(SALDOS, fields)
    assert total_of(result) == '$5,904.42 MXN'


def test_unknown_and_foreign_invoice_keys_are_refused(canon, app):
    form = the_form(canon.get(SALDOS))
    fields = form.submit_fields() + [('pick', '7100501'), ('pick', 'nope'), ('pick', '6212901')]
    with nothing_changes(app):
        result = canon.post(SALDOS, fields, status=400)
        canon.post(PAGAR, fields + [('bank', 'bbva'), ('confirmado', '1')], status=400)
    errors = result.html.find(id='saldos-errors').get_text(' ', strip=True)
    for key in ('7100501', 'nope', '6212901'):
        assert f'Factura {key}' in errors
    assert 'no existe o ya no tiene saldo' in errors
    # They are reported once, not carried on to the next request.
    carried = [i['value'] for i in result.html.select('div.off-page input[name=pick]')]
    assert carried == []


def test_without_csrf_token_nothing_is_computed(canon, app):
    with nothing_changes(app):
        assert canon.post(SALDOS, {'pick': '6212976'}, status=400).status_int == 400
        assert canon.post(PAGAR, {'pick': '6212976', 'bank': 'bbva', 'confirmado': '1'},
                          status=400).status_int == 400


def test_a_stale_rate_blocks_usd_invoices_and_says_why(canon, app):
    def drop_todays_rate(root):
        del root.rates.by_date['2026-11-29']
    with_root(app, drop_todays_rate)
    page = canon.get(SALDOS)
    problem = page.html.find(id='rate-problem').get_text()
    assert '06-10-2017' in problem and 'USD' in problem
    assert row_of(page, '1233080').find('input', attrs={'name': 'pick'}).has_attr('disabled')
    assert not row_of(page, '6212976').find('input', attrs={'name': 'pick'}).has_attr('disabled')
    assert page.html.find('form', id='saldos-form')['data-rate'] == ''
    # Posting a USD invoice anyway is refused with the reason.
    fields = [('csrf_token', the_form(page)['csrf_token'].value), ('pick', '1233080'), ('pick', '6212976')]
    with nothing_changes(app):
        result = canon.post(SALDOS, fields, status=400)
        canon.post(PAGAR, fields + [('bank', 'bbva'), ('confirmado', '1')], status=400)
    assert '06-10-2017' in result.html.find(id='saldos-errors').get_text()
    assert total_of(result) == '$27,794.52 MXN'


# The bank buttons: a confirmation page, nothing recorded before ACEPTAR ----------------

def confirm_total(page):
    return page.html.find(class_='confirm-total').get_text(strip=True)


def test_a_bank_button_asks_for_confirmation_and_records_nothing(canon, app):
    form = tick(the_form(canon.get(SALDOS)), *MANUAL_THREE)
    # A total or rate the browser might send is ignored: the server computes it.
    fields = form.submit_fields() + [('bank', 'bbva'), ('total', '1.00'), ('rate', '1.0000')]
    with nothing_changes(app):                # nothing is reserved until ACEPTAR (confirmado=1)
        confirm = canon.post(PAGAR, fields)
    assert confirm.status_int == 200
    assert confirm.html.find(id='confirm-title').get_text(strip=True) == '¿Desea continuar con el pago?'
    assert confirm_total(confirm) == '$36,870.80 MXN'
    assert 'BBVA Bancomer' in confirm.text
    form = confirm.forms[len(confirm.forms) - 1]
    assert form.action.endswith('/pagar')
    assert form['bank'].value == 'bbva' and form['csrf_token'].value
    assert sorted(f.value for f in form.fields['pick']) == sorted(MANUAL_THREE)
    buttons = {b.get_text(strip=True): b for b in confirm.html.select('form.confirm-actions button')}
    assert buttons['ACEPTAR']['name'] == 'confirmado' and buttons['ACEPTAR']['value'] == '1'
    assert buttons['CANCELAR']['formaction'].endswith('/saldos')
    # CANCELAR goes back to SALDOS with the selection, still nothing recorded.
    with nothing_changes(app):
        back = canon.post(SALDOS, form.submit_fields())
    assert total_of(back) == '$36,870.80 MXN'


def test_pay_revalidates_and_refuses_bad_or_empty_selections(canon, app):
    page = canon.get(SALDOS)
    with nothing_changes(app):
        empty = canon.post(PAGAR, the_form(page).submit_fields() + [('bank', 'banamex')], status=400)
        assert 'Seleccione al menos una factura' in empty.text
        form = tick(the_form(page), '6212976')
        form['mxn-6212976'] = '99999999'
        over = canon.post(PAGAR, form.submit_fields() + [('bank', 'banamex')], status=400)
        assert 'excede lo que queda por pagar' in over.text
        assert over.html.find(class_='confirm-total') is None     # SALDOS again, not the confirmation
        # Even with confirmado=1 a bad selection is refused before anything is written.
        fields = form.submit_fields() + [('bank', 'banamex'), ('confirmado', '1')]
        confirmed = canon.post(PAGAR, fields, status=400)
        assert 'excede lo que queda por pagar' in confirmed.text
        unknown = canon.post(PAGAR, tick(the_form(page), '6212976').submit_fields()
                             + [('bank', 'paypal'), ('confirmado', '1')], status=400)
        assert 'Elija uno de los bancos' in unknown.text


def test_pay_needs_post(canon, app):
    # A GET (a reload, a bookmark, the language switch on the confirmation) pays nothing:
    # it leads back to SALDOS.
    with nothing_changes(app):
        answer = canon.get(PAGAR + '?pick=6212976&bank=banamex&confirmado=1', status=303)
    assert answer.location.endswith(SALDOS)


# Paging -----------------------------------------------------------------------------

def test_paging_keeps_the_selection_and_the_total(canon, app):
    add_open_invoices(app, 250)
    page = canon.get(SALDOS)
    assert len(page.html.select('tr.invoice-row')) == 100
    assert 'Página 1 de 3' in page.html.find('nav', class_='pager').get_text(' ', strip=True)
    # Page 1: the manual's three, one of them partial.
    form = tick(the_form(page), *MANUAL_THREE)
    form['mxn-6212976'] = '1000'
    second = form.submit('pagina', value='2')
    assert total_of(second) == '$10,076.28 MXN'
    assert second.html.find('form', id='saldos-form')['data-offpage-total'] == '10076.28'
    hidden = {i['name']: i['value'] for i in second.html.select('div.off-page input')}
    assert hidden['mxn-6212976'] == '1000.00' and hidden['usd-1233080'] == '312.62'
    # Page 2: one more, then back to page 1: everything is still selected.
    form = the_form(second)
    key = second.html.select('tr.invoice-row')[0]['data-key']
    left = second.html.select('tr.invoice-row')[0]['data-left-mxn']
    tick(form, key)
    first = form.submit('pagina', value='1')
    assert total_of(first) == f'${Decimal("10076.28") + Decimal(left):,.2f} MXN'
    assert the_form(first)['mxn-6212976'].value == '1000.00'
    assert [b.checked for b in the_form(first).fields['pick'] if b._value in MANUAL_THREE] == [True] * 3
    # The bank button takes every page's selection.
    confirm = canon.post(PAGAR, the_form(first).submit_fields() + [('bank', 'bbva')])
    assert confirm.html.find(id='confirm-title') is not None
    assert confirm_total(confirm) == total_of(first)
    assert len(confirm.html.select('form.confirm-actions input[name=pick]')) == 4


def test_an_error_on_another_page_is_listed_with_a_way_to_reach_it(canon, app):
    add_open_invoices(app, 250)
    page = canon.get(SALDOS)
    form = tick(the_form(page), '6212976')
    form['mxn-6212976'] = 'mucho'
    with nothing_changes(app):
        result = form.submit('pagina', value='3', status=400)
    errors = result.html.find(id='saldos-errors')
    assert 'Factura 6212976' in errors.get_text() and 'cantidad válida' in errors.get_text()
    go = errors.find('button', attrs={'name': 'pagina'})
    # 6212976 is due 05-11-2017: the page of the list that shows it.
    back = the_form(result).submit('pagina', value=go['value'], status=400)
    assert back.html.find('input', attrs={'name': 'mxn-6212976'})['value'] == 'mucho'


def test_five_thousand_open_invoices_show_one_page_of_a_hundred(canon, app):
    # How fast is the benchmarks' business (docs/benchmarks.md), not a timed test's.
    add_open_invoices(app, 5000)
    page = canon.get(SALDOS + '?pagina=51')
    assert len(page.html.select('tr.invoice-row')) == 9   # 5,009 open invoices, 100 a page
    assert 'Página 51 de 51' in page.html.find('nav', class_='pager').get_text(' ', strip=True)
    assert len(page.body) < 400_000


# Isolation --------------------------------------------------------------------------

def test_another_customer_cannot_see_or_post_to_canons_saldos(other_client, app, frozen_clock):
    other = other_client.sign_in_active(rfc=IXTAPA)
    token = other.csrf()
    fields = {'csrf_token': token, 'pick': '6212976', 'bank': 'bbva', 'confirmado': '1'}
    with nothing_changes(app):
        assert other.get(SALDOS, status=403).status_int == 403
        assert other.post(SALDOS, fields, status=403).status_int == 403
        assert other.post(PAGAR, fields, status=403).status_int == 403
        # And on its own page Canon's invoices are unknown.
        own = other.get(f'/customers/{IXTAPA}/saldos')
        result = other.post(f'/customers/{IXTAPA}/pagar', fields, status=400)
    assert '6212976' not in own.text and '7100501' in own.text
    assert 'no existe o ya no tiene saldo' in result.text


def test_anonymous_visitors_are_sent_to_sign_in(client, app):
    response = client.get(SALDOS, status=302)
    assert response.location.endswith('/')
    fields = {'pick': '6212976', 'bank': 'bbva', 'confirmado': '1', 'csrf_token': client.csrf()}
    with nothing_changes(app):
        assert client.post(PAGAR, {'pick': '6212976'}, status='*').status_int in (400, 403)
        assert client.post(PAGAR, fields, status='*').status_int in (302, 403)


def test_amounts_in_the_page_are_escaped(canon, app):
    form = tick(the_form(canon.get(SALDOS)), '6212976')
    form['mxn-6212976'] = '<script>alert(1)</script>'
    with nothing_changes(app):
        result = calculate(form, status=400)
    assert '<script>alert(1)</script>' not in result.text
    assert not re.search(r'<script>alert', result.text)


# The row cache ------------------------------------------------------------------------

def test_a_reloaded_page_shows_what_changed_in_the_database_meanwhile(canon, app):
    """Rows are kept rendered between requests; a committed change shows at once."""
    before = cells(row_of(canon.get(SALDOS), '6212976'))
    assert before[7] == '$27,794.52 MXN'
    cells(row_of(canon.get(SALDOS), '6212976'))       # served from the cache now

    def erp_lowers_the_balance(root):
        root.customers[CANON].invoices['6212976'].set_balance(Decimal('1000.00'))
    with_root(app, erp_lowers_the_balance)

    after = cells(row_of(canon.get(SALDOS), '6212976'))
    assert after[7] == '$1,000.00 MXN'
    assert after[:7] == before[:7]


def test_a_ticked_row_shows_the_amount_typed_not_a_kept_copy(canon):
    canon.get(SALDOS)                                   # every row rendered and kept
    form = tick(the_form(canon.get(SALDOS)), '6212976')
    form['mxn-6212976'] = '100.00'
    page = calculate(form)
    row = row_of(page, '6212976')
    assert row.find('input', attrs={'name': 'mxn-6212976'})['value'] == '100.00'
    assert row.find('input', attrs={'name': 'pick'}).has_attr('checked')
    assert 'selected' in row['class']
    untouched = row_of(page, '6213050')
    assert untouched.find('input', attrs={'name': 'mxn-6213050'})['value'] == ''


# -- A flood of fields (issue 11): refused at once, before any work -------------------

def flood(form, count):
    """The genuine form plus ``count`` ticked keys that are not the customer's."""
    return form.submit_fields() + [('pick', f'9{n:07d}') for n in range(count)]


@pytest.mark.parametrize('path', [SALDOS, PAGAR])
def test_ten_thousand_pick_fields_get_a_400_at_once_and_change_nothing(canon, app, path,
                                                                     monkeypatch):
    fields = flood(tick(the_form(canon.get(SALDOS)), '6212976'), 10_000) + [('bank', 'bbva'),
                                                                           ('confirmado', '1')]
    keys_read = []
    real = selection._valid_key
    monkeypatch.setattr(selection, '_valid_key', lambda key: keys_read.append(key) or real(key))
    with nothing_changes(app):
        refused = canon.post(path, fields, status=400)
    assert 'más facturas de las que tiene por pagar' in refused.text
    assert refused.headers['Content-Security-Policy']
    # Refused on the count of fields, before any key is read (it took 11 s when each of the
    # 10,000 was read and looked up).
    assert keys_read == []


def test_every_open_invoice_ticked_is_still_a_genuine_form(canon):
    form = the_form(canon.get(SALDOS))
    for box in form.fields['pick']:
        box.checked = True
    page = calculate(form, status='*')
    assert page.status_int in (200, 400)
    assert 'más facturas de las que tiene por pagar' not in page.text
    assert total_of(page) != '$0.00 MXN'


class CountingMultiDict(MultiDict):
    """A MultiDict that counts the lookups by name (each one scans every field)."""

    lookups = 0

    def _count(self):
        type(self).lookups += 1

    def getall(self, key):
        self._count()
        return super().getall(key)

    def getone(self, key):
        self._count()
        return super().getone(key)

    def __getitem__(self, key):
        self._count()
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._count()
        return super().get(key, default)


def test_the_form_is_read_in_one_pass():
    """30,000 fields (a customer with 5,000 open invoices posts that many) are read in one
    pass: looking each name up in a MultiDict (a scan of every field) took 52 s."""
    CountingMultiDict.lookups = 0
    fields = CountingMultiDict()
    for n in range(5_000):
        key = f'{n:07d}'
        fields.add('pick', key)
        for prefix in ('mxn-', 'usd-', 'prev-mxn-', 'prev-usd-'):
            fields.add(prefix + key, '1.00')
    fields.add('mxn-0000007', '2.50')      # the last value of a repeated name wins
    entries = selection.entries_from_form(fields)
    assert CountingMultiDict.lookups == 0
    assert len(entries) == 5_000
    assert {e.key: e.mxn for e in entries}['0000007'] == '2.50'
