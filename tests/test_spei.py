"""SPEI transfers end to end, without a browser: the customer's instructions, the
sandbox bank's deposit notification, matching, the CEP from the sandbox Banxico, the
receipt, the history and the export."""
import datetime

import pytest

from canonportal.payments import transfers as spei_payments
from conftest import CANON, with_root
from payment_support import in_transit, state_of
from spei_support import (  # noqa: F401 - fixtures
    MANUAL_SELECTION, MANUAL_TOTAL, SPEI_SECRET, customer_clabe, spei_banks, spei_mailer,
    spei_payer, spei_portal,
)

SALDOS = f'/customers/{CANON}/saldos'


def pay_by_spei(payer, *folios):
    """Tick, "Transferencia SPEI", ACEPTAR: the payment page with the instructions."""
    answer = payer.pay('spei', *folios)
    assert answer.status_int == 303, answer.text[:500]
    page = payer.get(answer.location).maybe_follow()
    return page


def instructions(page):
    facts = page.html.find('dl', class_='spei-facts')
    return {dt.get_text(strip=True): dd.get_text(' ', strip=True).replace(' Copiar', '')
            for dt, dd in zip(facts.find_all('dt'), facts.find_all('dd'))}


def test_the_manual_invoices_paid_by_spei_end_approved_with_the_cep(
        spei_payer, spei_portal, spei_banks, spei_mailer):
    page = pay_by_spei(spei_payer, *MANUAL_SELECTION)
    assert page.html.find('h2').get_text(strip=True) == 'Esperando su transferencia SPEI'
    shown = instructions(page)
    clabe = customer_clabe(spei_portal)
    assert shown['CLABE'] == clabe and shown['Beneficiario'] == 'Canon Mexicana SA de CV'
    assert shown['Monto exacto'].startswith('$36,870.80 MXN')
    assert shown['Referencia numérica'] == '0000229'
    assert state_of(spei_portal) == 'pending' and in_transit(spei_portal, '6212976') > 0

    tracking = spei_banks.send_transfer(clabe, MANUAL_TOTAL, reference='0000229',
                                        concept='PAGO 229')
    assert state_of(spei_portal) == 'approved'
    page = spei_payer.get(f'/customers/{CANON}/payments/229/')
    assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado'
    assert tracking in page.text and 'SPEI ' + tracking in page.text
    xml = spei_payer.get(f'/customers/{CANON}/payments/229/@@cep.xml')
    assert xml.content_type == 'application/xml' and tracking.encode() in xml.body
    pdf = spei_payer.get(f'/customers/{CANON}/payments/229/@@cep.pdf')
    assert pdf.body.startswith(b'%PDF')
    assert [m.subject for m in spei_mailer.outbox] == ['Recibo de pago 229']
    history = spei_payer.get(f'/customers/{CANON}/historial-de-pagos')
    assert 'SPEI ' + tracking in history.text
    cep = with_root(spei_portal, lambda root: (root.payments_by_reference['229'].cep_state,
                                               len(root.cep_pending)))
    assert cep == ('verified', 0)


def test_a_forged_abono_is_refused_and_changes_nothing(spei_payer, spei_portal, spei_banks):
    pay_by_spei(spei_payer, '6212976')
    clabe = customer_clabe(spei_portal)
    spei_banks.send_transfer(clabe, '27794.52', reference='0000229', switches=('bad_signature',))
    assert state_of(spei_portal) == 'pending'
    assert with_root(spei_portal, lambda root: len(root.transfers)) == 0
    entries = spei_banks.spei.deliverer.entries()
    assert entries and entries[-1]['status'] == 403


def test_the_same_abono_twice_makes_one_payment(spei_payer, spei_portal, spei_banks, spei_mailer):
    pay_by_spei(spei_payer, '6212976')
    spei_banks.send_transfer(customer_clabe(spei_portal), '27794.52', reference='0000229',
                             switches=('twice',))
    assert [e['status'] for e in spei_banks.spei.deliverer.entries()] == [200, 200]
    assert state_of(spei_portal) == 'approved'
    assert with_root(spei_portal, lambda root: len(root.transfers)) == 1
    assert len(spei_mailer.outbox) == 1


def test_a_short_transfer_goes_to_review_with_both_amounts(spei_payer, spei_portal, spei_banks):
    pay_by_spei(spei_payer, '6212976')
    spei_banks.send_transfer(customer_clabe(spei_portal), '20000.00', reference='0000229')
    assert state_of(spei_portal) == 'review'
    note = with_root(spei_portal, lambda root: root.payments_by_reference['229'].history[-1][4])
    assert '20000.00' in note and '27794.52' in note


def test_a_cep_with_another_amount_sends_the_payment_to_review(spei_payer, spei_portal, spei_banks):
    pay_by_spei(spei_payer, '6212976')
    spei_banks.send_transfer(customer_clabe(spei_portal), '27794.52', reference='0000229',
                             switches=('cep_other_amount',))
    assert state_of(spei_portal) == 'review'
    assert with_root(spei_portal, lambda root: root.payments_by_reference['229'].cep_state) == 'mismatch'


def test_without_reference_the_customers_clabe_and_the_amount_find_the_payment(
        spei_payer, spei_portal, spei_banks):
    pay_by_spei(spei_payer, '6212976')
    spei_banks.send_transfer(customer_clabe(spei_portal), '27794.52')
    assert state_of(spei_portal) == 'approved'


def test_a_waiting_transfer_expires_after_its_business_days_and_frees_the_invoices(
        spei_payer, spei_portal, spei_banks, frozen_clock, spei_mailer):
    pay_by_spei(spei_payer, '6212976')
    deadline = with_root(spei_portal, lambda root: root.payments_by_reference['229'].expires_at)
    # Created Sunday 29 November 2026: three business days are Mon, Tue, Wed; it waits
    # until Thursday 00:00 in Mexico City.
    assert deadline == datetime.datetime(2026, 12, 3, 6, 0, tzinfo=datetime.timezone.utc)
    frozen_clock.now = deadline - datetime.timedelta(minutes=1)
    assert state_of(spei_portal) == 'pending'
    frozen_clock.now = deadline + datetime.timedelta(minutes=1)
    from canonportal.payments.reconciliation import reconcile
    from pyramid_mailer import get_mailer
    counts = reconcile(spei_portal.registry._zodb_databases[''], spei_portal.registry.settings,
                       spei_portal.registry.gateways, get_mailer(spei_portal.registry),
                       now=frozen_clock.now)
    assert counts == {'expired': 1}
    assert state_of(spei_portal) == 'expired' and str(in_transit(spei_portal, '6212976')) == '0.00'
    notice = spei_mailer.outbox[-1]
    assert notice.subject == 'El pago 229 expiró sin recibir su transferencia'
    assert 'sus facturas quedaron libres' in notice.body


def test_the_export_row_carries_forma_de_pago_03_and_the_ceps_fields(
        spei_payer, spei_portal, spei_banks):
    import csv
    import io

    from canonportal import clock
    from canonportal.erp.exports import export_payments, exportable_payments
    pay_by_spei(spei_payer, '6212976')
    clabe = customer_clabe(spei_portal)
    tracking = spei_banks.send_transfer(clabe, '27794.52', reference='0000229')

    def export(root):
        record = export_payments(root, exportable_payments(root), 'staff:alice', clock.utcnow())
        return record.csv_bytes()
    data = with_root(spei_portal, export)
    rows = [row for row in csv.DictReader(io.StringIO(data.decode('utf-8-sig')))
            if row['referencia_pago'] == '229']
    assert len(rows) == 1
    row = rows[0]
    cep = with_root(spei_portal, lambda root: dict(root.payments_by_reference['229'].cep_data))
    assert (row['banco'], row['forma_pago'], row['num_operacion']) == ('spei', '03', tracking)
    assert row['referencia_bancaria'] == f'SPEI {tracking}'
    assert row['rfc_emisor_cta_ord'] == 'BBA830831LJ2'          # BBVA México sent it
    assert row['cta_ordenante'] == '012180001234567899'
    assert row['cta_beneficiario'] == clabe
    assert row['tipo_cad_pago'] == '01'
    assert (row['cert_pago'], row['cad_pago'], row['sello_pago']) == (
        cep['certificate'], cep['chain'], cep['seal'])
    assert row['cert_pago'] and tracking in row['cad_pago'] and len(row['sello_pago']) == 64
    assert row['importe_mxn'] == '27794.52' and row['saldo_insoluto'] == '0.00'


def reconcile_now(app, now):
    from pyramid_mailer import get_mailer

    from canonportal.payments.reconciliation import reconcile
    return reconcile(app.registry._zodb_databases[''], app.registry.settings,
                     app.registry.gateways, get_mailer(app.registry), now=now)


def test_a_cep_not_found_in_time_sends_the_payment_to_review(
        spei_payer, spei_portal, spei_banks, frozen_clock):
    pay_by_spei(spei_payer, '6212976')
    spei_banks.send_transfer(customer_clabe(spei_portal), '27794.52', reference='0000229',
                             switches=('cep_not_yet',))
    assert state_of(spei_portal) == 'approved'     # the bank's notice is authentic
    assert with_root(spei_portal, lambda root: root.payments_by_reference['229'].cep_state) == 'pending'
    # canonportal-reconcile asks again; within the hour it keeps waiting …
    assert reconcile_now(spei_portal, frozen_clock.now + datetime.timedelta(minutes=30)) == {
        'CEP pending': 1}
    # … and after it, staff must look.
    assert reconcile_now(spei_portal, frozen_clock.now + datetime.timedelta(minutes=61)) == {
        'CEP missing': 1}
    assert state_of(spei_portal) == 'review'
    assert reconcile_now(spei_portal, frozen_clock.now + datetime.timedelta(minutes=90)) == {}
