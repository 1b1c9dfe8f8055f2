"""The staff's SPEI page: a statement uploaded, the queue of unmatched transfers, assigning
one to a customer's invoices or marking it as not for the portal (audited)."""
from decimal import Decimal

import pytest

from portal_support import CANON, with_root
from manage_support import audit_entries, flash_text, staff_client, table_rows
from payment_support import state_of
from spei_samples import COMPANY_ACCOUNT, camt053, camt_entry

pytestmark = pytest.mark.spei

PAGE = '/manage/transfers'


def upload(client, data, status=303):
    page = client.get(PAGE)
    form = next(f for f in page.forms.values() if f.action.endswith('@@importar-estado'))
    form['files'] = ('estado.xml', data)
    return form.submit(status=status)


def open_mxn(app, rfc, count):
    return with_root(app, lambda root: [(i.key, i.left_to_pay) for i in root.customers[rfc].open_invoices
                                        if i.currency == 'MXN'][:count])


def test_a_statement_fills_the_queue_and_an_operator_assigns_a_transfer(portal):
    staff = staff_client(portal, role='operator')
    (key, left), = open_mxn(portal, CANON, 1)
    data = camt053(camt_entry(f'{left + Decimal("1.00"):.2f}', 'BNET0100261130000007',
                              COMPANY_ACCOUNT, concept='PAGO CANON'))
    done = upload(staff, data).follow()
    assert '1 sin aplicar' in flash_text(done)
    rows = table_rows(done, '#transfer-queue')
    assert len(rows) == 1 and 'BNET0100261130000007' in rows[0][1]

    form = next(f for f in done.forms.values() if f.action.endswith('@@asignar'))
    form['rfc'], form['facturas'], form['comentario'] = CANON, key, 'llamó el cliente'
    refused = form.submit(status=400)          # the invoice does not add up to the transfer
    assert 'la transferencia es de' in refused.text and table_rows(refused, '#transfer-queue')
    assert with_root(portal, lambda root: len(root.payments_by_reference)) == 1

    second = open_mxn(portal, CANON, 3)
    # Find invoices adding up exactly: the transfer was the first invoice plus 1.00 — no such
    # set; so mark it as not for the portal instead.
    form = next(f for f in refused.forms.values() if f.action.endswith('@@no-es-del-portal'))
    form['comentario'] = 'devolución de un proveedor'
    done = form.submit(status=303).follow()
    assert 'ajena al portal' in flash_text(done) and table_rows(done, '#transfer-queue') == []
    assert audit_entries(portal, 'spei.not-for-portal')[0][0] == 'staff:alice'
    assert second     # the customer's invoices were not touched
    assert open_mxn(portal, CANON, 3) == second


def test_assigning_pays_the_invoices_named(portal):
    staff = staff_client(portal)
    invoices = open_mxn(portal, CANON, 2)
    amount = sum(left for _key, left in invoices)
    upload(staff, camt053(camt_entry(f'{amount:.2f}', 'BNET0100261130000008', COMPANY_ACCOUNT)))
    page = staff.get(PAGE)
    form = next(f for f in page.forms.values() if f.action.endswith('@@asignar'))
    form['rfc'] = CANON.lower()
    form['facturas'] = ' '.join(key for key, _left in invoices)
    form['comentario'] = 'depósito identificado por teléfono'
    done = form.submit(status=303).follow()
    assert 'asignada: pago 229' in flash_text(done)
    assert state_of(portal, '229') == 'approved'
    assert with_root(portal, lambda root: root.transfers['20261130-BNET0100261130000008'].state) == 'assigned'
    assert audit_entries(portal, 'spei.assigned')[0][5].startswith(CANON)


def test_a_bad_statement_shows_its_problems_and_changes_nothing(portal):
    staff = staff_client(portal)
    page = upload(staff, b'<Document><nada/></Document>', status=400)
    assert page.html.find(id='statement-report') is not None
    assert with_root(portal, lambda root: len(root.transfers)) == 0


def test_auditors_see_the_queue_but_cannot_act(portal):
    upload(staff_client(portal, 'alice'), camt053(
        camt_entry('1.00', 'BNET0100261130000010', COMPANY_ACCOUNT)))
    auditor = staff_client(portal, 'carla', role='auditor')
    page = auditor.get(PAGE)
    assert table_rows(page, '#transfer-queue') and not [
        f for f in page.forms.values() if f.action.endswith('@@asignar')]
    transfer = '/manage/transfers/20261130-BNET0100261130000010/@@no-es-del-portal'
    auditor.post(transfer, {'csrf_token': auditor.csrf(), 'comentario': 'x'}, status=403)


def test_the_dashboard_counts_spei(portal, banks):
    staff = staff_client(portal)
    upload(staff, camt053(camt_entry('1.00', 'BNET0100261129000011', COMPANY_ACCOUNT,
                                     day='2026-11-29'), day='2026-11-29'))
    page = staff.get('/manage')
    figures = {dd['id']: dd.get_text(strip=True) for dd in page.html.select('dl.spei-figures dd')}
    assert figures == {'spei-today': '1', 'spei-unmatched': '1', 'spei-cep': '0',
                       'spei-waiting': '0', 'spei-expired': '0'}
