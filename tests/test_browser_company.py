"""Company accounts in Chromium: the administrator invites a colleague, who signs in with
the email as Captura and prepares the manual's three invoices; above the company's
$10,000.00 they wait; the administrator approves and pays at the sandbox BBVA. A payment
split in two waits too, and a phone shows the approver what it adds to."""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from pyramid_mailer import get_mailer

from browser_support import new_page
from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from portal_support import CANON
from test_browser_payment import BANK_PAGES, MANUAL_SELECTION, MANUAL_TOTAL, pay_with_card

pytestmark = pytest.mark.browser

PASSWORD = 'Colega-Canon-2026!'


def test_invite_accept_prepare_approve_pay(browser, paying_portal):
    portal = paying_portal
    admin = new_page(browser, portal, viewport={'width': 1366, 'height': 768})
    colleague = None
    try:
        admin.goto(portal.url(f'/customers/{CANON}/usuarios'))
        admin.fill('#invite-name', 'Ana López')
        admin.fill('#invite-email', 'ana@example.mx')
        admin.check('input[name=role][value=captura]')
        admin.get_by_role('button', name='Enviar invitación').click()
        expect(admin.locator('.flash')).to_contain_text('Enviamos la invitación a ana@example.mx')

        [mail] = [m for m in get_mailer(portal.app.registry).outbox if 'ana@example.mx' in m.recipients]
        link = re.search(r'https?://\S+/bienvenida/[\w-]+', mail.body).group(0)
        colleague = browser.new_context(locale='es-MX', viewport={'width': 360, 'height': 740}).new_page()
        colleague.goto(portal.url(urlsplit(link).path))
        # A welcome, not a password reset: who invited her, her role and accounts, her user.
        expect(colleague.locator('h1')).to_have_text('Le damos la bienvenida')
        expect(colleague.locator('#invitation')).to_contain_text('ana@example.mx')
        assert colleague.evaluate('document.documentElement.scrollWidth') <= 360
        colleague.fill('#password', PASSWORD)
        colleague.fill('#password_confirmation', PASSWORD)
        colleague.locator('main form button[type=submit]').click()
        # Choosing the password signed her in: she lands on her home.
        colleague.wait_for_url(re.compile(r'/estados-de-cuenta$'))
        expect(colleague.locator('p.ident')).to_contain_text('Ana López')

        colleague.goto(portal.url(f'/customers/{CANON}/saldos'))
        for key in MANUAL_SELECTION:
            colleague.check(f'input[name=pick][value="{key}"]')
        expect(colleague.locator('#saldos-total')).to_have_text(MANUAL_TOTAL)
        colleague.get_by_role('button', name='BBVA Bancomer', exact=True).click()
        colleague.locator('#pay-dialog').get_by_role('button', name='ACEPTAR').click()
        colleague.wait_for_url(re.compile(r'/payments/229/?$'))
        expect(colleague.locator('.payment-result h2')).to_have_text('Solicitud de pago: espera aprobación')
        expect(colleague.locator('#approve-form')).to_have_count(0)      # not by who prepared it
        assert colleague.evaluate('document.documentElement.scrollWidth') <= 360

        admin.goto(portal.url(f'/customers/{CANON}/payments/229/'))
        expect(admin.locator('.payment-result')).to_contain_text('Preparada por Ana López')
        admin.locator('#approve-form').get_by_role('button', name='Aprobar y pagar').click()
        admin.wait_for_url(BANK_PAGES['bbva'])
        expect(admin.locator('table.summary')).to_contain_text(MANUAL_TOTAL)
        pay_with_card(admin)
        expect(admin.locator('.payment-result h2')).to_have_text('Pago aprobado')
        facts = admin.locator('dl.facts').first
        expect(facts).to_contain_text('Ana López')
        expect(facts).to_contain_text('Canon Mexicana SA de CV')
        # Ana sees the decision on the request's page too.
        colleague.goto(portal.url(f'/customers/{CANON}/payments/229/'))
        expect(colleague.locator('#request-decision')).to_contain_text(
            'Canon Mexicana SA de CV aprobó esta solicitud')
    finally:
        admin.context.close()
        if colleague is not None:
            colleague.context.close()


def test_a_split_payment_waits_and_a_phone_shows_the_approver_what_it_adds_to(
        browser, paying_portal):
    """Ana pays $9,000.00 of the $27,794.52 invoice twice: the first goes to the bank, the
    second waits; on a 360 px phone the administrator sees the first beside the request."""
    portal, phone = paying_portal, {'width': 360, 'height': 740}
    ana = new_page(browser, portal, login=DEMO_CAPTURA_EMAIL, password=DEMO_CAPTURA_PASSWORD,
                   viewport=phone)
    admin = new_page(browser, portal, viewport=phone)
    try:
        for landing in (BANK_PAGES['bbva'], re.compile(r'/payments/230/?$')):
            ana.goto(portal.url(f'/customers/{CANON}/saldos'))
            ana.fill('input[name="mxn-6212976"]', '9000.00')
            expect(ana.locator('#saldos-total')).to_have_text('$9,000.00 MXN')
            ana.get_by_role('button', name='BBVA Bancomer', exact=True).click()
            ana.locator('#pay-dialog').get_by_role('button', name='ACEPTAR').click()
            ana.wait_for_url(landing)
        expect(ana.locator('.payment-result h2')).to_have_text('Solicitud de pago: espera aprobación')

        admin.goto(portal.url(f'/customers/{CANON}/payments/230/'))
        expect(admin.locator('.related-payments p')).to_contain_text('suman $18,000.00 MXN')
        row = admin.locator('#related-payments tbody tr')
        expect(row).to_have_count(1)
        for text in ('229', '$9,000.00 MXN', 'Pendiente de confirmación del banco'):
            expect(row).to_contain_text(text)
        assert admin.evaluate('document.documentElement.scrollWidth') <= 360
        assert admin.evaluate('''(() => { const w = document.querySelector('#related-payments')
            .parentElement; return w.scrollWidth <= w.clientWidth; })()''')
    finally:
        ana.context.close()
        admin.context.close()
