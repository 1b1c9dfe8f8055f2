"""Every amount in sight, in Chromium: at 1280×720 and 1366×768 SALDOS shows invoices on
arrival, its column headers never under the pay bar, and nothing on any customer page sits
in a box that scrolls sideways; on a 360 px phone no box scrolls sideways on any page (the
payment, the receipt and the approval included) and the CLABE stays on one line.

The portal is set up once for the module, in its hardest state: Ana Compras' request 229
holds the manual's three invoices ("en proceso: pago 229 (Ana Compras, por aprobar)") and
the administrator's SPEI payment 230 waits for its transfer (the banner is on every page).
The tests only look, each in its own browser context, on one Chromium.
"""
import re

import pytest

from browser_support import new_page
from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from portal_support import CANON

pytestmark = pytest.mark.browser

BASE = f'/customers/{CANON}'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')
#: Every page a customer's administrator reaches, the payment pages in each state included.
PAGES = ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos', 'usuarios', 'bitacora',
         'invoices/6212976', 'payments/228/', 'payments/228/@@recibo',
         'payments/229/',     # the request, with the approval form
         'payments/230/')     # the SPEI instructions
PHONE = {'width': 360, 'height': 740}
LAPTOPS = ({'width': 1280, 'height': 720}, {'width': 1366, 'height': 768})

#: Every box that scrolls or clips sideways with more inside than it shows: the document,
#: and each element whose overflow-x is auto, scroll, hidden or clip. Only boxes of at most
#: 1 px (the visually hidden labels of screen readers) are left out: they show nothing.
SIDEWAYS = '''() => {
  const found = [];
  for (const el of [document.documentElement, ...document.body.querySelectorAll('*')]) {
    const overflow = getComputedStyle(el).overflowX;
    if (el !== document.documentElement && !['auto', 'scroll', 'hidden', 'clip'].includes(overflow)) {
      continue;
    }
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) {
      continue;
    }
    if (el.scrollWidth > el.clientWidth) {
      found.push([el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                  + (el.className && el.className.baseVal === undefined && el.className
                     ? '.' + el.className.trim().split(/\\s+/).join('.') : ''),
                  el.scrollWidth, el.clientWidth]);
    }
  }
  return found;
}'''

#: Every amount written on the page ($1,234.56) that is not wholly across the window.
AMOUNTS_OUT_OF_SIGHT = '''() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const money = /\\$[0-9][0-9,]*\\.[0-9]{2}/;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!money.test(node.textContent)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 1 && (r.left < -0.5 || r.right > window.innerWidth + 0.5)) {
        out.push([node.textContent.trim(), Math.round(r.left), Math.round(r.right)]);
      }
    }
  }
  return out;
}'''

#: The tables wider than their frame, whether the frame scrolls or lets them spill over.
WIDER_THAN_THEIR_FRAME = '''() => [...document.querySelectorAll('.table-wrap')]
  .filter(frame => frame.scrollWidth > frame.clientWidth)
  .map(frame => [frame.querySelector('table').className, frame.scrollWidth, frame.clientWidth])'''

#: SALDOS: the pay bar's box, the column headers' (the cells: they are what stays at the
#: top while the list scrolls) and each invoice row's.
SALDOS_BOXES = '''() => {
  const box = el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
  return {bar: box(document.querySelector('.pay-bar')),
          head: box(document.querySelector('table.saldos-table thead th')),
          rows: [...document.querySelectorAll('tr.invoice-row')].map(box),
          height: window.innerHeight};
}'''


@pytest.fixture(scope='module')
def portal(module_browser, module_spei_portal):
    """The portal with request 229 waiting for approval and SPEI payment 230 waiting."""
    portal = module_spei_portal
    ana = new_page(module_browser, portal, login=DEMO_CAPTURA_EMAIL, password=DEMO_CAPTURA_PASSWORD)
    try:
        ana.goto(portal.url(f'{BASE}/saldos'))
        for key in MANUAL_SELECTION:
            ana.check(f'input[name=pick][value="{key}"]')
        ana.get_by_role('button', name='BBVA Bancomer', exact=True).click()
        ana.locator('#pay-dialog').get_by_role('button', name='ACEPTAR').click()
        ana.wait_for_url(re.compile(r'/payments/229/?$'))
    finally:
        ana.context.close()
    admin = new_page(module_browser, portal)
    try:
        admin.goto(portal.url(f'{BASE}/saldos'))
        admin.fill('input[name="mxn-6213050"]', '350')
        admin.get_by_role('button', name='Transferencia SPEI', exact=True).click()
        admin.locator('#pay-dialog').get_by_role('button', name='ACEPTAR').click()
        admin.wait_for_url(re.compile(r'/payments/230/?$'))
    finally:
        admin.context.close()
    states = portal.with_root(lambda root: {
        reference: root.payments_by_reference[reference].state for reference in ('228', '229', '230')})
    assert states == {'228': 'approved', '229': 'requested', '230': 'pending'}
    return portal


def looking(browser, portal, viewport):
    """A signed-in page of the company's administrator at ``viewport``."""
    return new_page(browser, portal, viewport=viewport)


def test_on_a_phone_no_box_scrolls_sideways_and_every_amount_is_in_sight(module_browser, portal):
    page = looking(module_browser, portal, PHONE)
    try:
        seen = {}
        for name in PAGES:
            response = page.goto(portal.url(f'{BASE}/{name}'))
            assert response.ok, name
            seen[name] = (page.evaluate(SIDEWAYS), page.evaluate(AMOUNTS_OUT_OF_SIGHT),
                          page.evaluate(WIDER_THAN_THEIR_FRAME))
        assert seen == {name: ([], [], []) for name in PAGES}
        # The tables are cards: their cells stacked one under another, named.
        for name, table in (('facturas', 'table.invoice-list'), ('historial-de-pagos', 'table.history-table'),
                            ('payments/228/@@recibo', 'table.payment-lines'),
                            ('payments/229/', 'table.approve-lines')):
            page.goto(portal.url(f'{BASE}/{name}'))
            assert page.evaluate(f'''getComputedStyle(document.querySelector('{table} tbody tr'))
                                     .display''') == 'block', name
        # The CLABE never breaks across lines: on the instructions and on SALDOS.
        page.goto(portal.url(f'{BASE}/payments/230/'))
        assert page.evaluate("document.querySelector('#spei-clabe').getClientRects().length") == 1
        clabe = page.locator('#spei-clabe').bounding_box()
        assert clabe['height'] < 30 and clabe['x'] + clabe['width'] <= PHONE['width']
        page.goto(portal.url(f'{BASE}/saldos'))
        assert page.evaluate("document.querySelector('.spei-clabe .clabe').getClientRects().length") == 1
        # The pay bar: the total and the three banks in one short strip at the bottom.
        bar = page.locator('.pay-bar').bounding_box()
        assert bar['y'] + bar['height'] <= PHONE['height'] and bar['height'] < 140
    finally:
        page.context.close()


@pytest.mark.parametrize('viewport', LAPTOPS, ids=['1280x720', '1366x768'])
def test_on_a_laptop_saldos_shows_invoices_on_arrival_and_no_box_hides_anything(
        module_browser, portal, viewport):
    page = looking(module_browser, portal, viewport)
    try:
        page.goto(portal.url(f'{BASE}/saldos'))
        shown = page.evaluate(SALDOS_BOXES)
        # The banner of payment 230 above it all, and still: the headers and the first
        # invoices are in the window, above the pay bar.
        bar = shown['bar']['top']
        assert bar < shown['height'] and shown['head']['bottom'] <= bar
        in_sight = [row for row in shown['rows'] if row['top'] >= 0 and row['bottom'] <= bar]
        assert len(in_sight) >= 3, shown
        assert shown['rows'][0] == in_sight[0]
        # Scrolled down the list (in a window short enough for the table to pass its top),
        # the column headers stay at the top, never under the bar, and the last invoice
        # comes into sight above the bar.
        page.set_viewport_size({'width': viewport['width'], 'height': 460})
        page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
        shown = page.evaluate(SALDOS_BOXES)
        assert shown['rows'][0]['top'] < 0
        assert -0.5 <= shown['head']['top'] and shown['head']['bottom'] <= shown['bar']['top']
        assert shown['rows'][-1]['bottom'] <= shown['bar']['top']
        # "en proceso: pago 229 (Ana Compras, por aprobar)" wraps inside its cell.
        held = page.locator('tr[data-key="6212976"] .held-by')
        assert ' '.join(held.inner_text().split()) == 'en proceso: pago 229 (Ana Compras, por aprobar)'
        for name in PAGES:
            page.goto(portal.url(f'{BASE}/{name}'))
            assert (page.evaluate(SIDEWAYS), page.evaluate(AMOUNTS_OUT_OF_SIGHT)) == ([], []), name
    finally:
        page.context.close()


def test_saldos_fits_its_frame_up_to_1920_with_a_request_pending(module_browser, portal):
    page = looking(module_browser, portal, {'width': 1920, 'height': 1080})
    try:
        page.goto(portal.url(f'{BASE}/saldos'))
        assert page.evaluate(SIDEWAYS) == []
        cut = page.evaluate('''() => { const frame = document.querySelector('.saldos .table-wrap')
                                         .getBoundingClientRect();
            return [...document.querySelectorAll('table.saldos-table th, table.saldos-table td')]
              .filter(cell => { const r = cell.getBoundingClientRect();
                                return r.width > 0 && (r.right > frame.right + 0.5 || r.left < frame.left - 0.5); })
              .map(cell => cell.innerText.trim()); }''')
        assert cut == []
    finally:
        page.context.close()


def bank_looks(page, bank):
    return page.evaluate('''name => { const style = getComputedStyle(document.querySelector('button.bank-' + name));
        return [style.backgroundColor, style.color, style.cursor]; }''', bank)


def test_disabled_bank_buttons_look_disabled(module_browser, portal):
    page = looking(module_browser, portal, LAPTOPS[1])
    try:
        page.goto(portal.url(f'{BASE}/saldos'))
        grey = ['rgb(236, 236, 236)', 'rgb(118, 118, 118)', 'not-allowed']
        assert {bank: bank_looks(page, bank) for bank in ('banamex', 'bbva', 'spei')} == \
            dict.fromkeys(('banamex', 'bbva', 'spei'), grey)
        page.check('input[name=pick][value="1233075"]')
        assert bank_looks(page, 'bbva') == ['rgb(0, 68, 129)', 'rgb(255, 255, 255)', 'pointer']
        assert bank_looks(page, 'banamex') == ['rgb(255, 255, 255)', 'rgb(0, 45, 114)', 'pointer']
    finally:
        page.context.close()


def test_the_approval_total_follows_the_amounts_as_they_are_lowered(module_browser, portal):
    page = looking(module_browser, portal, LAPTOPS[1])
    try:
        page.goto(portal.url(f'{BASE}/payments/229/'))
        total = page.locator('#approve-total')
        assert total.inner_text() == '$36,870.80 MXN'
        page.fill('input[name="amount-6212976"]', '1000')
        assert total.inner_text() == '$10,076.28 MXN'          # 1,000.00 + 3,171.86 + 5,904.42
        page.uncheck('input[name=keep][value="1233080"]')
        assert total.inner_text() == '$4,171.86 MXN'
        page.fill('input[name="amount-1233076"]', '100')         # USD at the day's 18.8869
        assert total.inner_text() == '$2,888.69 MXN'
        page.fill('input[name="amount-1233076"]', '500')         # more than requested: counts nothing
        assert total.inner_text() == '$1,000.00 MXN'
        assert page.get_attribute('input[name="amount-1233076"]', 'aria-invalid') == 'true'
    finally:
        page.context.close()


def test_the_period_statement_says_the_limit_before_submitting(module_browser, portal):
    page = looking(module_browser, portal, PHONE)
    try:
        page.goto(portal.url(f'{BASE}/estados-de-cuenta'))
        assert page.locator('#range-limit').inner_text() == 'El periodo puede abarcar hasta 5 años.'
        here = page.url
        page.fill('#hasta', '2017-10-31')
        page.fill('#desde', '2012-10-30')
        assert page.locator('#desde-too-long').inner_text() == 'El periodo no puede ser mayor a 5 años.'
        assert page.get_attribute('#desde', 'aria-invalid') == 'true'
        page.fill('#desde', '2012-10-31')
        assert page.locator('#desde-too-long').count() == 0 and page.url == here
    finally:
        page.context.close()
