"""A customer's journeys around a payment, in Chromium against the sandbox banks: the
banner that resumes or cancels a payment left at the bank, "Reintentar" after a
declined card, the language switch after a failed sign-in and on the confirmation
page, and a receipt link opened after the session expired."""
import datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from browser_support import new_page, sign_in
from canonportal import clock
from portal_support import CANON, GOOD_PASSWORD
from test_browser_payment import (
    APPROVING_CARD, BANK_PAGES, DECLINED_EXPIRY, MANUAL_SELECTION, MANUAL_TOTAL, SALDOS,
    accept_and_reach_bank, click_bank, pay_with_card, saldos_rows, tick_manual_invoices,
)

pytestmark = pytest.mark.browser

DESKTOP = {'width': 1366, 'height': 768}
PHONE = {'width': 360, 'height': 740}


def state_of(portal, reference='229'):
    return portal.with_root(lambda root: root.payments_by_reference[reference].state)


def banner(page):
    return page.locator('.in-progress-item')


@pytest.mark.parametrize('viewport', [DESKTOP, PHONE], ids=['1366', '360'])
def test_the_banner_resumes_and_cancels_a_payment_left_at_the_bank(browser, paying_portal, viewport):
    page = new_page(browser, paying_portal, viewport=viewport)
    try:
        tick_manual_invoices(page, paying_portal)
        click_bank(page, 'bbva')
        accept_and_reach_bank(page, 'bbva')
        # The customer closes the bank's tab and comes back to the portal.
        page.goto(paying_portal.url(SALDOS))
        expect(banner(page)).to_contain_text(
            f'Pago 229 por {MANUAL_TOTAL} en proceso en BBVA Bancomer.')
        expect(page.locator('tr[data-key="6212976"] .held-by')).to_have_text('en proceso: pago 229')
        box = banner(page).bounding_box()
        assert box['x'] >= 0 and box['x'] + box['width'] <= viewport['width']
        assert page.evaluate('document.documentElement.scrollWidth') <= viewport['width']

        # "Continuar el pago": back at the bank, for the same payment and amount.
        banner(page).get_by_role('button', name='Continuar el pago').click()
        page.wait_for_url(BANK_PAGES['bbva'])
        expect(page.locator('table.summary')).to_contain_text(MANUAL_TOTAL)
        bank_tab = page

        # "Cancelar el pago" from another tab: the invoices are free at once.
        portal_tab = page.context.new_page()
        portal_tab.goto(paying_portal.url(SALDOS))
        banner(portal_tab).get_by_role('button', name='Cancelar el pago').click()
        portal_tab.wait_for_url('**/saldos')
        expect(portal_tab.locator('main')).to_contain_text('Pago 229 cancelado')
        expect(banner(portal_tab)).to_have_count(0)
        rows = saldos_rows(portal_tab, paying_portal)
        for key in MANUAL_SELECTION:
            assert rows[key]['selectable'] and rows[key]['in_transit'] == '', rows[key]
        assert state_of(paying_portal) == 'cancelled'

        # The customer pays anyway in the bank's tab: the approval is not lost, it goes to review.
        pay_with_card(bank_tab)
        assert state_of(paying_portal) == 'review'
    finally:
        page.context.close()


def test_reintentar_after_a_declined_card_restores_the_selection(browser, paying_portal):
    page = new_page(browser, paying_portal, viewport=DESKTOP)
    try:
        tick_manual_invoices(page, paying_portal)
        page.fill('input[name="mxn-6212976"]', '1000.00')
        partial = '$10,076.28 MXN'   # 1,000.00 + 3,171.86 + 5,904.42
        expect(page.locator('#saldos-total')).to_have_text(partial)
        click_bank(page, 'banamex', total=partial)
        accept_and_reach_bank(page, 'banamex', total=partial)
        pay_with_card(page, (APPROVING_CARD[0], DECLINED_EXPIRY, APPROVING_CARD[2]))
        expect(page.locator('.payment-result h2')).to_have_text('El banco rechazó el pago')

        page.get_by_role('link', name='Reintentar').click()
        page.wait_for_url('**/saldos?**')
        ticked = page.eval_on_selector_all('input[name=pick]:checked', 'boxes => boxes.map(b => b.value)')
        assert sorted(ticked) == sorted(MANUAL_SELECTION)
        assert page.input_value('input[name="mxn-6212976"]') == '1000.00'
        assert page.input_value('input[name="usd-1233080"]') == '312.62'
        expect(page.locator('#saldos-total')).to_have_text(partial)
        expect(page.locator('#saldos-count')).to_have_text('3 facturas')
    finally:
        page.context.close()


def test_english_after_a_failed_sign_in_shows_the_sign_in_page_in_english(browser, live_portal):
    context = browser.new_context(locale='es-MX', viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_portal.url('/'))
        page.fill('input[name=login]', CANON)
        page.fill('input[name=password]', 'not the password')
        page.get_by_role('button', name='Iniciar sesión').click()
        expect(page.locator('p.error')).to_have_text('Usuario o contraseña incorrectos.')
        page.get_by_role('button', name='English').click()
        page.wait_for_load_state()
        expect(page.locator('h1')).to_have_text('Customer Portal')
        expect(page.get_by_role('button', name='Sign in')).to_be_visible()
        assert urlsplit(page.url).path in ('/', '/login')
        # Signing in from there works, in English.
        page.fill('input[name=login]', CANON)
        page.fill('input[name=password]', GOOD_PASSWORD)
        page.get_by_role('button', name='Sign in').click()
        expect(page.locator('nav.menu')).to_contain_text('ACCOUNT STATEMENTS')
    finally:
        context.close()


def test_english_on_the_confirmation_page_lands_on_a_page_that_exists(browser, paying_portal):
    page = new_page(browser, paying_portal, viewport=DESKTOP, java_script_enabled=False)
    try:
        page.goto(paying_portal.url(SALDOS))
        for key in MANUAL_SELECTION:
            page.check(f'input[name=pick][value="{key}"]')
        page.get_by_role('button', name='BBVA Bancomer', exact=True).click()
        page.wait_for_load_state()
        expect(page.locator('h2#confirm-title')).to_have_text('¿Desea continuar con el pago?')
        expect(page.locator('.confirm-total')).to_have_text(MANUAL_TOTAL)
        response_codes = []
        page.on('response', lambda response: response_codes.append(response.status))
        page.get_by_role('button', name='English').click()
        page.wait_for_load_state()
        assert 404 not in response_codes and 500 not in response_codes, response_codes
        expect(page.locator('h1')).to_have_text('Balances')
        assert page.url.endswith('/saldos')
        assert paying_portal.with_root(lambda root: root.payment_counter.value) == 228   # nothing paid
    finally:
        page.context.close()


def test_a_receipt_link_opened_after_the_session_expired_ends_on_the_receipt(
        browser, live_portal, monkeypatch):
    receipt = live_portal.url(f'/customers/{CANON}/payments/228/recibo')
    context = browser.new_context(locale='es-MX', viewport=DESKTOP)
    page = context.new_page()
    try:
        sign_in(page, live_portal)
        page.goto(receipt)
        expect(page.locator('main')).to_contain_text('BC-Banamex 063197')
        # 31 idle minutes later (the server runs in this process: its clock moves too).
        later = clock.utcnow() + datetime.timedelta(minutes=31)
        monkeypatch.setattr(clock, 'utcnow', lambda: later)
        page.goto(receipt)
        expect(page.locator('input[name=password]')).to_be_visible()
        page.fill('input[name=login]', CANON)
        page.fill('input[name=password]', GOOD_PASSWORD)
        page.get_by_role('button', name='Iniciar sesión').click()
        page.wait_for_url(receipt)
        expect(page.locator('main')).to_contain_text('BC-Banamex 063197')
    finally:
        context.close()
