"""Paying in a real browser, the manual's steps 4–7, against the sandbox banks.

The portal and both sandbox banks run on one waitress server, as ``make run``
serves them (``paying_portal``): the customer ticks the manual's three invoices
on SALDOS, confirms $36,870.80 in the "¿Desea continuar con el pago?" dialog, pays
with a test card on the sandbox bank's page, comes back to the result page and
finds the payment in HISTORIAL DE PAGOS and the amounts "in transit".
"""
import re

import pytest
from playwright.sync_api import expect
from pyramid_mailer import get_mailer

from browser_support import new_page
from portal_support import CANON

pytestmark = pytest.mark.browser

SALDOS = f'/customers/{CANON}/saldos'
HISTORY = f'/customers/{CANON}/historial-de-pagos'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')
MANUAL_TOTAL = '$36,870.80 MXN'
# What each of the manual's invoices has left, in its own currency and in MXN at 18.8869.
MANUAL_LINES = {
    '6212976': ('$27,794.52 MXN', '$27,794.52 MXN'),
    '1233076': ('$3,171.86 MXN', '$167.94 USD'),
    '1233080': ('$5,904.42 MXN', '$312.62 USD'),
}
APPROVING_CARD = ('5123450000000008', '01/39', '100')
DECLINED_EXPIRY = '05/39'
RESULT_URL = re.compile(rf'/customers/{CANON}/payments/\d+/?$')
BANK_LABELS = {'bbva': 'BBVA Bancomer', 'banamex': 'Citibanamex'}
BANK_PAGES = {'bbva': '**/sandbox/bbva/clb/pay/*', 'banamex': '**/sandbox/banamex/checkout/pay/*'}


# -- reading the portal's pages -------------------------------------------------

def table_rows(page, selector):
    """The cells' text of each body row of the table ``selector``."""
    return page.locator(f'{selector} tbody tr').evaluate_all(
        'rows => rows.map(row => Array.from(row.cells, cell => cell.innerText.trim()))')


def facts(page):
    """The result page's ``<dl class="facts">`` as {label: value}."""
    return page.locator('.payment-result dl.facts').evaluate(
        'dl => Object.fromEntries(Array.from(dl.querySelectorAll("dt"), '
        'dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))')


def saldos_rows(page, portal):
    """SALDOS as {invoice: {'selectable': bool, 'pending': text, 'in_transit': text}}."""
    page.goto(portal.url(SALDOS))
    expect(page.locator('h2', has_text='Listado de facturas')).to_be_visible()
    found = {}
    for row in page.locator('tr.invoice-row').all():
        key = row.get_attribute('data-key')
        cells = row.locator('td')
        found[key] = {
            'selectable': row.locator('input[name=pick]').is_enabled(),
            'pending': cells.nth(7).inner_text().strip(),
            'in_transit': cells.nth(8).inner_text().strip(),
        }
    return found


def history_of(page, portal, reference):
    """HISTORIAL DE PAGOS rows of payment ``reference`` as {invoice: (bank ref, amount)}."""
    page.goto(portal.url(HISTORY))
    expect(page.locator('h1, h2', has_text='Listado de pagos').first).to_be_visible()
    return {row[4]: (row[2], row[3]) for row in table_rows(page, 'table.history-table')
            if row[1].split()[0] == reference}   # the cell also names who prepared it


# -- the customer's steps ---------------------------------------------------------

DIALOG_LINES = [['6212976', '$27,794.52 MXN'], ['1233076', '$3,171.86 MXN\n$167.94 USD'],
                ['1233080', '$5,904.42 MXN\n$312.62 USD']]


def tick_manual_invoices(page, portal):
    page.goto(portal.url(SALDOS))
    for key in MANUAL_SELECTION:
        page.check(f'input[name=pick][value="{key}"]')
    expect(page.locator('#saldos-total')).to_have_text(MANUAL_TOTAL)


def click_bank(page, bank, total=MANUAL_TOTAL):
    """Click the bank's button: the confirmation dialog opens with the total and the bank."""
    page.get_by_role('button', name=BANK_LABELS[bank], exact=True).click()
    dialog = page.locator('#pay-dialog')
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role('heading')).to_have_text('¿Desea continuar con el pago?')
    expect(dialog.locator('#pay-dialog-total')).to_have_text(total)
    expect(dialog.locator('#pay-dialog-bank')).to_have_text(BANK_LABELS[bank])
    if total == MANUAL_TOTAL:   # the dialog lists what it will pay, as the page without JS does
        assert sorted(table_rows(page, '#pay-dialog table')) == sorted(DIALOG_LINES)
        expect(dialog.locator('#pay-dialog-count')).to_have_text('3 facturas')
    return dialog


def accept_and_reach_bank(page, bank, total=MANUAL_TOTAL):
    """ACEPTAR: the portal reserves the invoices and the browser lands on the bank's page."""
    page.locator('#pay-dialog').get_by_role('button', name='ACEPTAR').click()
    page.wait_for_url(BANK_PAGES[bank])
    expect(page.locator('header.bank')).to_contain_text('SANDBOX')
    # The bank asks for what the server computed, not for anything the browser said.
    expect(page.locator('table.summary')).to_contain_text(total)


def pay_with_card(page, card=APPROVING_CARD):
    number, expiry, csc = card
    page.fill('#card', number)
    page.fill('#expiry', expiry)
    page.fill('#csc', csc)
    page.get_by_role('button', name='Pagar', exact=True).click()
    page.wait_for_url(RESULT_URL)
    expect(page.locator('.payment-result h2')).to_be_visible()


def pay(page, portal, bank, card=APPROVING_CARD):
    """Steps 4–6 with the manual's invoices; returns the result page's facts."""
    tick_manual_invoices(page, portal)
    click_bank(page, bank)
    accept_and_reach_bank(page, bank)
    pay_with_card(page, card)
    return facts(page)


def receipts_sent(portal, reference):
    return [m for m in get_mailer(portal.app.registry).outbox
            if m.subject == f'Recibo de pago {reference}']


def assert_approved_and_recorded(page, portal, bank, bank_reference_pattern):
    """The result page, HISTORIAL DE PAGOS and the invoices after an approved payment."""
    expect(page.locator('.payment-result h2')).to_have_text('Pago aprobado')
    shown = facts(page)
    reference = shown['Referencia de pago']
    assert reference == '229', shown          # the demo data's last payment is 228
    assert re.fullmatch(bank_reference_pattern, shown['Referencia bancaria']), shown
    assert shown['Banco'] == BANK_LABELS[bank]
    assert shown['Monto'] == MANUAL_TOTAL
    lines = {row[0]: (row[1], row[2]) for row in table_rows(page, '.payment-result table')}
    assert lines == MANUAL_LINES
    assert len(receipts_sent(portal, reference)) == 1

    # Step 7: HISTORIAL DE PAGOS, one row per invoice paid, with the bank's reference.
    page.get_by_role('link', name='Ir a HISTORIAL DE PAGOS').click()
    rows = history_of(page, portal, reference)
    assert rows == {key: (shown['Referencia bancaria'], mxn)
                    for key, (mxn, _own) in MANUAL_LINES.items()}
    assert table_rows(page, 'table.history-table')[0][1].split()[0] == reference   # newest first

    # The amounts are in transit on each invoice, in the invoice's own currency.
    for key, (_mxn, own) in MANUAL_LINES.items():
        page.goto(portal.url(f'/customers/{CANON}/invoices/{key}'))
        transit = page.locator('dl.amounts div', has=page.locator('dt', has_text='Pago en tránsito'))
        expect(transit.locator('dd')).to_have_text(own)

    # SALDOS no longer offers them for payment; the manual's $1.00 USD of payment 228 stays.
    rows = saldos_rows(page, portal)
    assert not {key for key in MANUAL_SELECTION if rows.get(key, {}).get('selectable')}, rows
    assert rows['1233074']['in_transit'] == '$1.00 USD'
    return reference


# -- the tests ----------------------------------------------------------------------

def test_paying_the_manual_invoices_at_the_sandbox_bbva(browser, paying_portal):
    page = new_page(browser, paying_portal)
    try:
        pay(page, paying_portal, 'bbva')
        assert_approved_and_recorded(page, paying_portal, 'bbva', r'BBVA \d{6}')
    finally:
        page.context.close()


def test_paying_the_manual_invoices_at_the_sandbox_citibanamex(browser, paying_portal):
    page = new_page(browser, paying_portal)
    try:
        pay(page, paying_portal, 'banamex')
        reference = assert_approved_and_recorded(page, paying_portal, 'banamex', r'BC-Banamex \d{6}')
        # The sandbox's webhook reached the portal too, over HTTP: still one receipt.
        for _prefix, sandbox in paying_portal.site.mounts:
            sandbox.deliverer.wait(timeout=10)
        deliveries = dict(paying_portal.site.mounts)['/sandbox/banamex'].deliverer.entries(reference)
        assert [entry.get('status') for entry in deliveries] == [200], deliveries
        assert len(receipts_sent(paying_portal, reference)) == 1
    finally:
        page.context.close()


def test_a_partial_payment_shows_in_transit_on_saldos(browser, paying_portal):
    """The manual's screen: 1.00 USD of 1233074 in transit, the rest still payable."""
    page = new_page(browser, paying_portal)
    try:
        page.goto(paying_portal.url(SALDOS))
        page.fill('input[name="usd-1233074"]', '1')
        page.fill('input[name="mxn-6213050"]', '350')
        expect(page.locator('#saldos-total')).to_have_text('$368.88 MXN')   # 1.00 USD → 18.88 MXN, + 350.00
        click_bank(page, 'banamex', total='$368.88 MXN')
        accept_and_reach_bank(page, 'banamex', total='$368.88 MXN')
        pay_with_card(page)
        expect(page.locator('.payment-result h2')).to_have_text('Pago aprobado')
        assert facts(page)['Monto'] == '$368.88 MXN'

        rows = saldos_rows(page, paying_portal)
        assert rows['1233074']['in_transit'] == '$2.00 USD'   # payment 228's 1.00 and this one
        assert rows['6213050']['in_transit'] == '$350.00 MXN'
        assert rows['1233074']['selectable'] and rows['6213050']['selectable']
        # Ticking offers only what is left.
        page.check('input[name=pick][value="6213050"]')
        expect(page.locator('input[name="mxn-6213050"]')).to_have_value('4000.00')
    finally:
        page.context.close()


def test_cancelar_keeps_the_customer_on_saldos_with_nothing_reserved(browser, paying_portal):
    page = new_page(browser, paying_portal)
    try:
        tick_manual_invoices(page, paying_portal)
        dialog = click_bank(page, 'bbva')
        here = page.url
        dialog.get_by_role('button', name='CANCELAR').click()
        expect(dialog).to_be_hidden()
        assert page.url == here
        # The selection is still there to pay or change.
        for key in MANUAL_SELECTION:
            expect(page.locator(f'input[name=pick][value="{key}"]')).to_be_checked()
        expect(page.locator('#saldos-total')).to_have_text(MANUAL_TOTAL)

        # Nothing was reserved nor numbered.
        rows = saldos_rows(page, paying_portal)
        for key in MANUAL_SELECTION:
            assert rows[key]['selectable'] and rows[key]['in_transit'] == '', rows[key]
        assert paying_portal.with_root(lambda root: root.payment_counter.value) == 228
        assert history_of(page, paying_portal, '229') == {}
    finally:
        page.context.close()


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_declined_card_releases_the_invoices(browser, paying_portal, bank):
    page = new_page(browser, paying_portal)
    try:
        tick_manual_invoices(page, paying_portal)
        click_bank(page, bank)
        accept_and_reach_bank(page, bank)
        # While the customer is at the bank, the invoices are reserved: listed, not selectable.
        other = page.context.new_page()
        reserved = saldos_rows(other, paying_portal)
        assert not any(reserved[key]['selectable'] for key in MANUAL_SELECTION), reserved
        other.close()

        pay_with_card(page, (APPROVING_CARD[0], DECLINED_EXPIRY, APPROVING_CARD[2]))
        expect(page.locator('.payment-result h2')).to_have_text('El banco rechazó el pago')
        expect(page.locator('.payment-result')).to_contain_text('Las facturas quedaron liberadas')
        shown = facts(page)
        assert shown['Referencia de pago'] == '229' and 'Referencia bancaria' not in shown
        assert receipts_sent(paying_portal, '229') == []

        rows = saldos_rows(page, paying_portal)
        for key in MANUAL_SELECTION:
            assert rows[key]['selectable'] and rows[key]['in_transit'] == '', rows[key]
        tick_manual_invoices(page, paying_portal)   # and the same total again
    finally:
        page.context.close()


def test_saldos_shows_in_transit_on_invoices_paid_in_full(browser, paying_portal):
    page = new_page(browser, paying_portal)
    try:
        pay(page, paying_portal, 'bbva')
        expect(page.locator('.payment-result h2')).to_have_text('Pago aprobado')
        rows = saldos_rows(page, paying_portal)
        for key, (_mxn, own) in MANUAL_LINES.items():
            assert key in rows, f'{key} is missing from SALDOS'
            assert rows[key]['in_transit'] == own
            assert not rows[key]['selectable']
    finally:
        page.context.close()
