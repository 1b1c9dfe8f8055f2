"""The README's SPEI demo in Chromium: the manual's three invoices → "Transferencia SPEI" →
the instructions → a transfer sent on the sandbox bank's page → "Pago aprobado" with
Banxico's CEP, at 1366×768 and on a 360 px phone."""
import re

import pytest
from playwright.sync_api import expect

from browser_support import new_page
from portal_support import CANON

pytestmark = pytest.mark.browser

SALDOS = f'/customers/{CANON}/saldos'
MANUAL_SELECTION = ('6212976', '1233076', '1233080')


@pytest.mark.parametrize('viewport', [{'width': 1366, 'height': 768}, {'width': 360, 'height': 740}],
                         ids=['1366', '360'])
def test_the_manual_invoices_paid_by_spei_through_the_sandbox(browser, spei_portal_live, viewport):
    portal = spei_portal_live
    page = new_page(browser, portal, viewport=viewport)
    try:
        page.goto(portal.url(SALDOS))
        for key in MANUAL_SELECTION:
            page.check(f'input[name=pick][value="{key}"]')
        expect(page.locator('#saldos-total')).to_have_text('$36,870.80 MXN')
        page.get_by_role('button', name='Transferencia SPEI', exact=True).click()
        dialog = page.locator('#pay-dialog')
        expect(dialog.locator('#pay-dialog-bank')).to_have_text('Transferencia SPEI')
        dialog.get_by_role('button', name='ACEPTAR').click()
        page.wait_for_url(re.compile(r'/payments/229/?$'))
        expect(page.locator('.payment-result h2')).to_have_text('Esperando su transferencia SPEI')
        assert page.evaluate('document.documentElement.scrollWidth') <= viewport['width']
        clabe = page.locator('#spei-clabe').inner_text().strip()
        amount = page.locator('#spei-amount').text_content().strip()
        reference = page.locator('#spei-reference').inner_text().strip()
        assert (amount, reference) == ('36870.80', '0000229')

        bank = page.context.new_page()
        bank.goto(portal.url('/sandbox/spei/'))
        bank.fill('#cuenta_beneficiaria', clabe)
        bank.fill('#monto', amount)
        bank.fill('#referencia', reference)
        bank.get_by_role('button', name='Enviar transferencia').click()
        expect(bank.locator('h1')).to_have_text('Transferencia enviada')
        tracking = bank.locator('#clave').inner_text().strip()
        for prefix, sandbox in portal.site.mounts:
            sandbox.deliverer.wait(timeout=10)

        page.reload()
        expect(page.locator('.payment-result h2')).to_have_text('Pago aprobado')
        expect(page.locator('dl.facts').first).to_contain_text(tracking)
        expect(page.locator('p.cep-links')).to_be_visible()
        assert page.evaluate('document.documentElement.scrollWidth') <= viewport['width']
        pdf = page.request.get(page.url.rstrip('/') + '/@@cep.pdf')
        assert pdf.ok and pdf.body().startswith(b'%PDF')
        state = portal.with_root(lambda root: (root.payments_by_reference['229'].state,
                                               root.payments_by_reference['229'].cep_state))
        assert state == ('approved', 'verified')
    finally:
        page.context.close()
