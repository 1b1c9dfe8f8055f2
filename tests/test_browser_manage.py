"""Staff in Chromium, as the issue's "Done when" says: browse the tree, import, export, audit.

A real browser against a served portal: the staff user is made the way
``canonportal-adduser`` makes it; the ERP files are the ones shipped in examples/erp/.
"""
import re
from pathlib import Path

import pytest

from browser_support import new_page
from portal_support import CANON, add_staff_user

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parent.parent / 'examples' / 'erp'


def in_transit_cell(page, folio):
    row = page.locator('tr', has=page.locator(f'text={folio}')).first
    return row.inner_text()


def test_staff_browse_import_export_and_find_it_all_in_the_audit_log(browser, live_portal, tmp_path):
    add_staff_user(live_portal.app, 'olga', role='operator')
    staff = new_page(browser, live_portal, login='olga')
    assert staff.url.endswith('/manage')
    assert staff.locator('svg[role=img]').count() >= 1  # the dashboard's charts

    # From the root to a customer, an invoice and its payment, following links.
    staff.click('nav.menu >> text=Clientes')
    staff.click(f'main >> text={CANON}')
    staff.click('nav.tabs >> text=Facturas')
    staff.click('main table >> text=1233074')
    assert '/manage/customers/CME930812PW3/invoices/1233074' in staff.url
    staff.click('main >> a[href$="/payments/228"]')
    assert '/payments/228' in staff.url
    assert 'BC-Banamex 063197' in staff.inner_text('main')
    crumbs = staff.locator('nav.crumbs a').all_inner_texts()
    assert len(crumbs) >= 4

    # A CSV of invoices and a CFDI XML with its PDF, through the upload page.
    staff.goto(live_portal.url('/manage/@@importar'))
    staff.set_input_files('input[name=files]', [str(EXAMPLES / 'facturas.csv'),
                                                 str(EXAMPLES / 'A-9201.xml'),
                                                 str(EXAMPLES / 'A-9201.pdf')])
    staff.click('main form button[type=submit]')
    assert re.search(r'/manage/imports/\d{8}-', staff.url), staff.url

    # A file with bad rows: the report names the lines, nothing is written.
    staff.goto(live_portal.url('/manage/@@importar'))
    staff.set_input_files('input[name=files]', str(EXAMPLES / 'facturas-con-error.csv'))
    staff.click('main form button[type=submit]')
    assert 'La importación no se hizo' in staff.inner_text('main')
    lines = staff.locator('#import-errors td.line').all_inner_texts()
    assert sorted(set(lines)) == ['3', '4', '5']
    assert live_portal.with_root(lambda root: 'B-9301' in root.customers[CANON].invoices) is False

    # The customer sees the imported invoices on FACTURAS, and payment 228 in transit on SALDOS.
    customer = new_page(browser, live_portal)
    customer.goto(live_portal.url(f'/customers/{CANON}/facturas'))
    invoices = customer.inner_text('main')
    assert 'A-9101' in invoices and 'A-9201' in invoices
    customer.goto(live_portal.url(f'/customers/{CANON}/saldos'))
    assert '1.00' in in_transit_cell(customer, '1233074')

    # Export the approved payments (228 is approved) and download the CSV.
    staff.goto(live_portal.url('/manage/@@exportar'))
    staff.click('main form button:has-text("Exportar")')
    assert '/manage/exports/' in staff.url
    with staff.expect_download() as download:
        staff.click('main a[href$="@@descargar"], main button:has-text("Descargar")')
    text = Path(download.value.path()).read_text(encoding='utf-8-sig')
    assert text.startswith('referencia_pago') and '\n228,' in text.replace('\r\n', '\n')

    # The ERP's balances apply payment 228: its "Pago en Tránsito" disappears from SALDOS.
    staff.goto(live_portal.url('/manage/@@importar'))
    staff.set_input_files('input[name=files]', str(EXAMPLES / 'saldos.csv'))
    staff.click('main form button[type=submit]')
    assert '/manage/imports/' in staff.url
    customer.reload()
    assert '1.00' not in in_transit_cell(customer, '1233074')

    # Everything is in the audit log.
    staff.goto(live_portal.url('/manage/audit'))
    log = staff.inner_text('main')
    for action in ('staff.login', 'erp.import', 'erp.export', 'payment.transition'):
        assert action in log, action
    staff.goto(live_portal.url('/manage/audit?action=payment.transition'))
    assert 'applied' in staff.inner_text('main') or 'aplicado' in staff.inner_text('main')
