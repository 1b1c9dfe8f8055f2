"""SALDOS in a real browser: ticking fills the amounts, edits follow, the total is live
and equals what the server computes."""
import pytest

from canonportal import clock
from portal_support import CANON

pytestmark = pytest.mark.browser

SALDOS = f'/customers/{CANON}/saldos'


def tick(page, key):
    page.check(f'input[name=pick][value="{key}"]')


def total(page):
    return page.locator('#saldos-total').inner_text().strip()


def field(page, currency, key):
    return page.locator(f'input[name="{currency}-{key}"]')


def test_ticking_the_manual_invoices_and_editing_amounts(signed_in, live_portal):
    page = signed_in
    page.goto(live_portal.url(SALDOS))
    assert page.locator('h2', has_text='Listado de facturas').is_visible()
    assert total(page) == '$0.00 MXN'

    for key in ('6212976', '1233076', '1233080'):
        tick(page, key)
    # What is left, at the day's stored rate 18.8869 (USD → MXN truncated to the cent):
    # 27,794.52 + 167.94 × 18.8869 (3,171.865986 → 3,171.86) + 312.62 × 18.8869 (5,904.42).
    assert field(page, 'mxn', '6212976').input_value() == '27794.52'
    assert field(page, 'mxn', '1233076').input_value() == '3171.86'
    assert field(page, 'usd', '1233076').input_value() == '167.94'
    assert field(page, 'mxn', '1233080').input_value() == '5904.42'
    assert field(page, 'usd', '1233080').input_value() == '312.62'
    assert total(page) == '$36,870.80 MXN'

    # A partial amount on the MXN invoice: the total follows.
    field(page, 'mxn', '6212976').fill('1000')
    assert total(page) == '$10,076.28 MXN'

    # Editing the MXN of a USD invoice moves its USD, and the other way round.
    field(page, 'mxn', '1233080').fill('1888.69')
    assert field(page, 'usd', '1233080').input_value() == '100.00'
    field(page, 'usd', '1233076').fill('10')
    assert field(page, 'mxn', '1233076').input_value() == '188.86'   # 188.869, truncated
    assert total(page) == '$3,077.55 MXN'   # 1,000.00 + 188.86 + 1,888.69

    # Unticking clears the row and the total drops.
    page.uncheck('input[name=pick][value="1233076"]')
    assert field(page, 'mxn', '1233076').input_value() == ''
    assert total(page) == '$2,888.69 MXN'

    # The server agrees with the live total ("Calcular").
    page.locator('.total-bar button', has_text='Calcular').click()
    page.wait_for_load_state()
    assert total(page) == '$2,888.69 MXN'
    assert field(page, 'usd', '1233080').input_value() == '100.00'
    assert page.locator('input[name=pick][value="6212976"]').is_checked()


def test_phone_width_and_keyboard(browser, live_portal):
    from browser_support import sign_in
    context = browser.new_context(viewport={'width': 360, 'height': 740})
    page = context.new_page()
    try:
        sign_in(page, live_portal)
        page.goto(live_portal.url(SALDOS))
        # The page does not scroll sideways: each invoice is a card.
        assert page.evaluate('document.documentElement.scrollWidth') <= 360
        assert page.locator('#saldos-total').is_visible()
        # Keyboard: focus the checkbox, tick it with Space, Enter in an amount recalculates.
        box = page.locator('input[name=pick][value="6212976"]')
        box.focus()
        page.keyboard.press('Space')
        assert box.is_checked()
        assert page.locator('#saldos-total').inner_text().strip() == '$27,794.52 MXN'
        amount = page.locator('input[name="mxn-6212976"]')
        amount.fill('123.45')
        amount.press('Enter')
        page.wait_for_load_state()
        assert page.url.endswith('/saldos')   # "Calcular", never a bank
        assert page.locator('#saldos-total').inner_text().strip() == '$123.45 MXN'
    finally:
        context.close()


def test_the_javascript_converts_exactly_as_the_server(signed_in, live_portal):
    from decimal import Decimal

    from canonportal.money import mxn_to_usd, usd_to_mxn
    rate = Decimal('18.8869')
    page = signed_in
    page.goto(live_portal.url(SALDOS))
    tick(page, '1233080')
    for usd in ('0.01', '0.5', '1', '10', '52.95', '100.37', '167.94', '312.62', '312.6'):
        field(page, 'usd', '1233080').fill(usd)
        assert field(page, 'mxn', '1233080').input_value() == f'{usd_to_mxn(usd, rate):.2f}', usd
    for mxn in ('0.10', '0.19', '1000', '3171.86', '3171.87', '5904.42', '1,234.5', '$99.99'):
        field(page, 'mxn', '1233080').fill(mxn)
        expected = mxn_to_usd(mxn.replace(',', '').replace('$', ''), rate)
        assert field(page, 'usd', '1233080').input_value() == f'{expected:.2f}', mxn
    assert total(page) == '$99.99 MXN'


# SALDOS' columns in view at 1280–1920 px and no box scrolling sideways on any customer page,
# at 360 px too: tests/test_browser_layout.py.


def error_of(page, which, folio):
    box = page.locator(f'tr[data-key="{folio}"] input.{which} ~ p.field-error')
    return box.inner_text().strip() if box.count() else None


def test_a_wrong_amount_is_flagged_on_its_row_as_it_is_typed(signed_in, live_portal):
    page = signed_in
    page.goto(live_portal.url(SALDOS))
    tick(page, '6212976')
    mxn = field(page, 'mxn', '6212976')
    for typed, message in (
            ('abc', 'Escriba una cantidad válida, por ejemplo 1234.56.'),
            ('-5', 'Escriba una cantidad mayor que cero.'),
            ('10.123', 'Use a lo más 2 decimales.'),
            ('99999', 'La cantidad excede lo que queda por pagar de esta factura ($27,794.52 MXN).')):
        mxn.fill(typed)
        assert error_of(page, 'mxn', '6212976') == message, typed
        assert mxn.get_attribute('aria-invalid') == 'true'
    mxn.fill('1000.00')
    assert error_of(page, 'mxn', '6212976') is None and mxn.get_attribute('aria-invalid') is None
    assert total(page) == '$1,000.00 MXN'
    # The server says the same on "Calcular" (JavaScript mirrors it, never replaces it).
    usd = field(page, 'usd', '1233080')
    tick(page, '1233080')
    usd.fill('400')
    assert error_of(page, 'usd', '1233080').startswith('La cantidad excede lo que queda por pagar')


def test_the_bank_buttons_wait_for_something_valid_to_pay(browser, paying_portal):
    from browser_support import new_page
    page = new_page(browser, paying_portal)
    try:
        page.goto(paying_portal.url(SALDOS))
        banks = page.locator('button.bank')
        assert banks.count() == 2
        assert banks.nth(0).is_disabled() and banks.nth(1).is_disabled()   # nothing ticked
        tick(page, '6212976')
        assert banks.nth(0).is_enabled() and banks.nth(1).is_enabled()
        field(page, 'mxn', '6212976').fill('-5')
        assert banks.nth(0).is_disabled() and banks.nth(1).is_disabled()   # nothing valid
        field(page, 'mxn', '6212976').fill('5')
        assert banks.nth(0).is_enabled()
    finally:
        page.context.close()


def count(page):
    return page.locator('#saldos-count').inner_text().strip()


def test_saldos_on_a_phone_is_one_card_per_invoice(browser, paying_portal):
    live_portal = paying_portal
    from browser_support import new_page
    page = new_page(browser, live_portal, viewport={'width': 360, 'height': 740})
    try:
        page.goto(live_portal.url(SALDOS))
        assert page.evaluate('document.documentElement.scrollWidth') <= 360
        card = page.locator('tr[data-key="1233080"]')
        box = card.bounding_box()
        assert box['x'] >= 0 and box['x'] + box['width'] <= 360
        # Every value of the card is in view across, under its column's name.
        labelled = page.evaluate('''() => [...document.querySelectorAll('tr[data-key="1233080"] td')]
            .filter(td => getComputedStyle(td).display !== 'none')
            .map(td => { const r = td.getBoundingClientRect();
                         return [getComputedStyle(td, '::before').content, r.left >= 0 && r.right <= 360]; })''')
        names = [name for name, _inside in labelled]
        assert all(inside for _name, inside in labelled), labelled
        assert names[1:] == ['"Fecha Vencimiento"', '"Importe Factura USD"', '"Tipo de Cambio"',
                             '"Importe Factura MXN"', '"Cantidad a Pagar MXN"',
                             '"Cantidad a Pagar USD"', '"Cantidad Pendiente"'], names
        # An MXN invoice's card has no USD lines.
        mxn_card = page.locator('tr[data-key="6212976"] td.usd-only')
        assert all(not mxn_card.nth(i).is_visible() for i in range(mxn_card.count()))
        # Ticking and typing on the card, then the total bar and the bank buttons are reachable.
        tick(page, '1233080')
        field(page, 'usd', '1233080').fill('100')
        assert total(page) == '$1,888.69 MXN' and count(page) == '1 factura'
        bar = page.locator('.total-bar').bounding_box()
        assert bar['y'] + bar['height'] <= 740 and bar['x'] + bar['width'] <= 360   # stays on screen
        bank = page.locator('.bank-buttons button').first
        bank.scroll_into_view_if_needed()
        assert bank.bounding_box()['x'] + bank.bounding_box()['width'] <= 360
        # The confirmation lists the invoice and its amounts, all of it on the phone's screen.
        bank.click()
        dialog = page.locator('#pay-dialog')
        assert dialog.is_visible()
        assert dialog.locator('tbody tr').inner_text().split() == [
            '1233080', '$1,888.69', 'MXN', '$100.00', 'USD']
        box = dialog.bounding_box()
        assert box['x'] >= 0 and box['x'] + box['width'] <= 360
        assert page.evaluate("(() => { const d = document.querySelector('#pay-dialog .dialog-lines');"
                             " return d.scrollWidth <= d.clientWidth; })()")
    finally:
        page.context.close()


def test_the_total_line_counts_the_ticked_invoices(signed_in, live_portal):
    page = signed_in
    page.goto(live_portal.url(SALDOS))
    assert count(page) == '0 facturas'
    for key in ('6212976', '1233076', '1233080'):
        tick(page, key)
    assert count(page) == '3 facturas' and total(page) == '$36,870.80 MXN'
    field(page, 'mxn', '1233076').fill('abc')   # a row the server would refuse adds nothing
    assert count(page) == '2 facturas'
    page.uncheck('input[name=pick][value="1233076"]')
    page.uncheck('input[name=pick][value="1233080"]')
    assert count(page) == '1 factura' and total(page) == '$27,794.52 MXN'


def test_select_all_overdue(signed_in, live_portal):
    page = signed_in
    page.goto(live_portal.url(SALDOS))
    page.get_by_role('button', name='Seleccionar todas las vencidas').click()
    page.wait_for_load_state()
    ticked = page.eval_on_selector_all('input[name=pick]:checked', 'boxes => boxes.map(b => b.value)')
    overdue = live_portal.with_root(lambda root: sorted(
        key for key, invoice in root.customers[CANON].invoices.items()
        if invoice.left_to_pay > 0 and invoice.due is not None
        and invoice.due < clock.mexico_today()))
    assert sorted(ticked) == overdue and len(overdue) >= 3
    assert count(page) == f'{len(overdue)} facturas'
