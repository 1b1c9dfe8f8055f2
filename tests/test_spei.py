"""SPEI transfers end to end, without a browser: the customer's instructions, the
sandbox bank's deposit notification, matching, the CEP from the sandbox Banxico, the
receipt, the history and the export."""
import datetime
from decimal import Decimal

import pytest

from canonportal.payments import transfers as spei_payments
from portal_support import CANON, mails_to, nothing_changes, throttle, with_root
from payment_support import in_progress, in_transit, state_of
from spei_support import MANUAL_SELECTION, MANUAL_TOTAL, claim, customer_clabe, on_real_time, pay_by_spei

pytestmark = pytest.mark.spei

SALDOS = f'/customers/{CANON}/saldos'


def instructions(page):
    facts = page.html.find('dl', class_='spei-facts')
    return {dt.get_text(strip=True): dd.get_text(' ', strip=True).replace(' Copiar', '')
            for dt, dd in zip(facts.find_all('dt'), facts.find_all('dd'))}


def test_the_manual_invoices_paid_by_spei_end_approved_with_the_cep(
        payer, portal, banks, portal_mailer):
    page = pay_by_spei(payer, *MANUAL_SELECTION)
    assert page.html.find('h2').get_text(strip=True) == 'Esperando su transferencia SPEI'
    shown = instructions(page)
    clabe = customer_clabe(portal)
    assert shown['CLABE'] == clabe and shown['Beneficiario'] == 'Canon Mexicana SA de CV'
    assert shown['Monto exacto'].startswith('$36,870.80 MXN')
    assert shown['Referencia numérica'] == '0000229'
    assert state_of(portal) == 'pending' and in_transit(portal, '6212976') > 0
    assert in_progress(portal) == ['229']

    tracking = banks.send_transfer(clabe, MANUAL_TOTAL, reference='0000229',
                                        concept='PAGO 229')
    assert state_of(portal) == 'approved' and in_progress(portal) == []
    page = payer.get(f'/customers/{CANON}/payments/229/')
    assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado'
    assert tracking in page.text and 'SPEI ' + tracking in page.text
    xml = payer.get(f'/customers/{CANON}/payments/229/@@cep.xml')
    assert xml.content_type == 'application/xml' and tracking.encode() in xml.body
    pdf = payer.get(f'/customers/{CANON}/payments/229/@@cep.pdf')
    assert pdf.body.startswith(b'%PDF')
    assert [m.subject for m in portal_mailer.outbox] == [
        'Datos para pagar por SPEI: pago 229', 'Recibo de pago 229']
    history = payer.get(f'/customers/{CANON}/historial-de-pagos')
    assert 'SPEI ' + tracking in history.text
    cep = with_root(portal, lambda root: (root.payments_by_reference['229'].cep_state,
                                               len(root.cep_pending)))
    assert cep == ('verified', 0)


def test_a_waiting_transfer_is_headed_as_one_and_its_banner_links_to_the_instructions(
        payer, portal, banks):
    """A transfer has no bank page to go back to: no "Continuar el pago" (it would reload
    the same page); from other pages the banner links to the instructions."""
    page = pay_by_spei(payer, '6212976')
    assert page.html.find('h1').get_text(strip=True) == 'Pago 229 por transferencia SPEI'
    banner = page.html.select_one('section.in-progress')
    assert not any(f.action.endswith('/continuar') for f in page.forms.values())
    assert banner.find('a', string='Ver las instrucciones de pago') is None     # it is this page
    assert any(f.action.endswith('/cancelar') for f in page.forms.values())
    for path in (SALDOS, f'/customers/{CANON}/facturas'):
        other = payer.get(path)
        banner = other.html.select_one('section.in-progress')
        assert ' '.join(banner.p.get_text().split()) == \
            'Pago 229 por $27,794.52 MXN en proceso en Transferencia SPEI.'
        link = banner.find('a', string='Ver las instrucciones de pago')
        assert link['href'].rstrip('/').endswith(f'/customers/{CANON}/payments/229')
        assert not any(f.action.endswith('/continuar') for f in other.forms.values())


def test_the_deadline_reads_the_same_on_the_page_in_the_mail_and_in_english(
        payer, portal, portal_mailer):
    page = pay_by_spei(payer, '6212976')
    # Created Sunday 29 November 2026: three business days, due by the end of Wednesday.
    assert instructions(page)['Fecha límite de pago'] == 'miércoles 02/12/2026 a las 11:59 p.m.'
    [mail] = mails_to(portal_mailer, f'{CANON.lower()}@example.mx')
    assert mail.subject == 'Datos para pagar por SPEI: pago 229'
    assert '  Fecha límite de pago: miércoles 02/12/2026 a las 11:59 p.m.\n' in mail.text
    assert f'  RFC: {CANON}\n' in mail.text and 'RFC::' not in mail.text
    assert mail.attachments == (f'instrucciones-spei-{CANON}-229.pdf',)
    # In English the bank is "SPEI transfer", on SALDOS' button and on the payment's page.
    payer.set_cookie('lang', 'en')
    english = payer.get(f'/customers/{CANON}/payments/229/')
    banks = {dt.get_text(strip=True): dt.find_next_sibling('dd').get_text(strip=True)
             for dt in english.html.select_one('dl.facts:not(.spei-facts)').find_all('dt')}
    assert banks['Bank'] == 'SPEI transfer'
    assert 'Transferencia SPEI' not in english.text
    assert english.html.find('dl', class_='spei-facts').find(
        string='Payment deadline').find_next('dd').get_text(strip=True) == \
        'Wednesday 2026-12-02 at 11:59 PM'
    saldos = payer.get(SALDOS)
    buttons = [b.get_text(' ', strip=True) for b in saldos.html.find_all('button', attrs={'name': 'bank'})]
    assert 'SPEI transfer' in ' '.join(buttons) and 'Transferencia SPEI' not in ' '.join(buttons)


def test_a_forged_abono_is_refused_and_changes_nothing(payer, portal, banks):
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    with nothing_changes(portal):
        banks.send_transfer(clabe, '27794.52', reference='0000229', switches=('bad_signature',))
    entries = banks.spei.deliverer.entries()
    assert entries and entries[-1]['status'] == 403


def test_the_same_abono_twice_makes_one_payment(payer, portal, banks, portal_mailer):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '27794.52', reference='0000229',
                             switches=('twice',))
    assert [e['status'] for e in banks.spei.deliverer.entries()] == [200, 200]
    assert state_of(portal) == 'approved'
    assert with_root(portal, lambda root: len(root.transfers)) == 1
    assert [m.subject for m in portal_mailer.outbox].count('Recibo de pago 229') == 1


def test_a_short_transfer_goes_to_review_with_both_amounts(payer, portal, banks):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '20000.00', reference='0000229')
    assert state_of(portal) == 'review'
    note = with_root(portal, lambda root: root.payments_by_reference['229'].history[-1][4])
    assert '20000.00' in note and '27794.52' in note


def test_a_cep_with_another_amount_sends_the_payment_to_review(payer, portal, banks):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '27794.52', reference='0000229',
                             switches=('cep_other_amount',))
    assert state_of(portal) == 'review'
    assert with_root(portal, lambda root: root.payments_by_reference['229'].cep_state) == 'mismatch'


def test_without_reference_the_customers_clabe_and_the_amount_find_the_payment(
        payer, portal, banks):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '27794.52')
    assert state_of(portal) == 'approved'


def test_a_waiting_transfer_expires_after_its_business_days_and_frees_the_invoices(
        payer, portal, banks, frozen_clock, portal_mailer):
    pay_by_spei(payer, '6212976')
    deadline = with_root(portal, lambda root: root.payments_by_reference['229'].expires_at)
    # Created Sunday 29 November 2026: three business days are Mon, Tue, Wed; it waits
    # until Thursday 00:00 in Mexico City.
    assert deadline == datetime.datetime(2026, 12, 3, 6, 0, tzinfo=datetime.timezone.utc)
    frozen_clock.now = deadline - datetime.timedelta(minutes=1)
    assert state_of(portal) == 'pending' and in_progress(portal) == ['229']
    frozen_clock.now = deadline + datetime.timedelta(minutes=1)
    from canonportal.payments.reconciliation import reconcile
    from pyramid_mailer import get_mailer
    counts = reconcile(portal.registry._zodb_databases[''], portal.registry.settings,
                       portal.registry.gateways, get_mailer(portal.registry),
                       now=frozen_clock.now)
    assert counts == {'expired': 1}
    assert state_of(portal) == 'expired' and str(in_transit(portal, '6212976')) == '0.00'
    assert in_progress(portal) == []
    notice = portal_mailer.outbox[-1]
    assert notice.subject == 'El pago 229 expiró sin recibir su transferencia'
    assert 'sus facturas quedaron libres' in notice.body


def test_the_export_row_carries_forma_de_pago_03_and_the_ceps_fields(
        payer, portal, banks):
    import csv
    import io

    from canonportal import clock
    from canonportal.erp.exports import export_payments, exportable_payments
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    tracking = banks.send_transfer(clabe, '27794.52', reference='0000229')

    def export(root):
        record = export_payments(root, exportable_payments(root), 'staff:alice', clock.utcnow())
        return record.csv_bytes()
    data = with_root(portal, export)
    rows = [row for row in csv.DictReader(io.StringIO(data.decode('utf-8-sig')))
            if row['referencia_pago'] == '229']
    assert len(rows) == 1
    row = rows[0]
    cep = with_root(portal, lambda root: dict(root.payments_by_reference['229'].cep_data))
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
        payer, portal, banks, frozen_clock):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '27794.52', reference='0000229',
                             switches=('cep_not_yet',))
    assert state_of(portal) == 'approved'     # the bank's notice is authentic
    assert with_root(portal, lambda root: root.payments_by_reference['229'].cep_state) == 'pending'
    # canonportal-reconcile asks again; within the hour it keeps waiting …
    assert reconcile_now(portal, frozen_clock.now + datetime.timedelta(minutes=30)) == {
        'CEP pending': 1}
    # … and after it, staff must look.
    assert reconcile_now(portal, frozen_clock.now + datetime.timedelta(minutes=61)) == {
        'CEP missing': 1}
    assert state_of(portal) == 'review'
    with nothing_changes(portal):
        assert reconcile_now(portal, frozen_clock.now + datetime.timedelta(minutes=90)) == {}


# -- statements imported by staff -----------------------------------------------------------

def import_camt(app, data):
    def work(root):
        gateway = app.registry.gateways['spei']
        return spei_payments.import_statement(root, gateway, data, datetime.datetime.now(
            datetime.timezone.utc), 'staff:alice')
    return with_root(app, work)


def test_a_camt053_with_an_exact_a_partial_and_an_unknown_transfer(payer, portal):
    from spei_samples import COMPANY_ACCOUNT, camt053, camt_entry
    pay_by_spei(payer, '6212976')                  # 229: $27,794.52
    pay_by_spei(payer, '1233076')                  # 230: $3,171.86
    clabe = customer_clabe(portal)
    data = camt053(
        camt_entry('27794.52', 'BNET0100261130000001', clabe, reference='0000229'),
        camt_entry('3000.00', 'BNET0100261130000002', clabe, reference='0000230'),
        camt_entry('555.55', 'BNET0100261130000003', COMPANY_ACCOUNT, concept='ANTICIPO'),
        camt_entry('100.00', 'COMISION01', COMPANY_ACCOUNT, credit=False))
    report = import_camt(portal, data)
    assert report.ok and report.debits == 1
    assert [(r.state, r.payment_reference) for r in report.received] == [
        ('matched', '229'), ('review', '230'), ('unmatched', None)]
    assert (state_of(portal, '229'), state_of(portal, '230')) == ('approved', 'review')
    note = with_root(portal, lambda root: root.payments_by_reference['230'].history[-1][4])
    assert '3000.00' in note and '3171.86' in note      # the difference is shown
    queue = with_root(portal, lambda root: list(root.transfers.unmatched))
    assert queue == ['20261130-BNET0100261130000003-40012']
    assert 'Estado de cuenta (camt053): 3 transferencias nuevas (1 aplicadas, 1 en revisión, ' \
           '1 sin aplicar), 0 ya recibidas' in report.text()

    with nothing_changes(portal, audited=[('spei.statement', '')]):   # the import is audited
        again = import_camt(portal, data)
    assert again.ok and again.received == [] and again.duplicates == 3


def test_a_statement_with_one_bad_entry_changes_nothing(payer, portal):
    from spei_samples import camt053, camt_entry
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    with nothing_changes(portal):
        report = import_camt(portal, camt053(
            camt_entry('27794.52', 'BNET0100261130000001', clabe, reference='0000229'),
            camt_entry('10.00', 'BNET0100261130000002', clabe, currency='USD')))
    assert not report.ok and 'rechazado' in report.text()


def test_a_transfer_to_the_clabe_without_a_payment_pays_the_oldest_open_invoices(
        payer, portal, banks):
    oldest = with_root(portal, lambda root: [
        (i.key, i.left_to_pay) for i in root.customers[CANON].open_invoices
        if i.currency == 'MXN'][:2])
    amount = oldest[0][1] + oldest[1][1]
    banks.send_transfer(customer_clabe(portal), f'{amount:.2f}')
    payment = with_root(portal, lambda root: (
        root.payments_by_reference['229'].state,
        [a.invoice_key for a in root.payments_by_reference['229'].allocations]))
    assert payment == ('approved', [oldest[0][0], oldest[1][0]])


def test_a_webhook_and_a_statement_of_the_same_transfer_at_once_make_one_payment(
        payer, portal):
    import transaction
    from ZODB.POSException import ConflictError

    from canonportal.resources import get_root_from_connection
    from canonportal.spei.credit import Transfer
    pay_by_spei(payer, '6212976')
    transfer = Transfer('BNET0100261130000009', datetime.date(2026, 11, 30), Decimal('27794.52'),
                        customer_clabe(portal), ordering_bank='40012',
                        numeric_reference='0000229', source='abono')
    gateway = portal.registry.gateways['spei']
    db = portal.registry._zodb_databases['']
    managers = [transaction.TransactionManager(explicit=True) for _ in range(2)]
    connections = [db.open(transaction_manager=m) for m in managers]
    now = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.timezone.utc)
    try:
        results = []
        for manager, connection in zip(managers, connections):
            manager.begin()
            root = get_root_from_connection(connection)
            results.append(spei_payments.receive(root, gateway, transfer, now, 'test'))
        managers[0].commit()
        with pytest.raises(ConflictError):
            managers[1].commit()      # the second arrival conflicts …
        managers[1].abort()
        managers[1].begin()           # … and its retry finds the first
        again = spei_payments.receive(get_root_from_connection(connections[1]), gateway,
                                      transfer, now, 'test')
        managers[1].commit()
    finally:
        for connection in connections:
            connection.close()
    assert results[0].state == 'matched' and again.duplicate
    assert state_of(portal) == 'approved'
    assert with_root(portal, lambda root: (len(root.transfers), len(root.payments_by_reference))) == (1, 2)


def test_the_instructions_are_mailed_with_their_pdf_and_shown_on_saldos(
        payer, portal, portal_mailer):
    clabe = customer_clabe(portal)
    saldos = payer.get(SALDOS)
    assert clabe in saldos.html.find('p', class_='spei-clabe').get_text()
    page = pay_by_spei(payer, *MANUAL_SELECTION)
    [mail] = portal_mailer.outbox
    assert mail.subject == 'Datos para pagar por SPEI: pago 229'
    assert clabe in mail.body and '0000229' in mail.body and '$36,870.80 MXN' in mail.body
    [attachment] = mail.attachments
    assert attachment.content_type == 'application/pdf' and attachment.data.startswith(b'%PDF')
    link = page.html.find('a', string='Descargar instrucciones (PDF)')['href']
    pdf = payer.get(link)
    assert pdf.content_type == 'application/pdf' and pdf.body.startswith(b'%PDF')


def lost_transfer(payer, portal, banks, frozen_clock):
    """Payment 229 of 6212976 by SPEI, and a transfer for it whose notice the bank lost;
    its clave de rastreo. The sandbox bank dates transfers by the real clock: the portal's
    is set there too (and the customer signs in again)."""
    on_real_time(payer, frozen_clock)
    pay_by_spei(payer, '6212976')
    return banks.send_transfer(customer_clabe(portal), '27794.52', switches=('drop',))


def test_ya_pague_with_a_clave_de_rastreo_banxico_confirms(
        payer, portal, banks, frozen_clock):
    tracking = lost_transfer(payer, portal, banks, frozen_clock)
    assert state_of(portal) == 'pending'
    day = tracking[3:7] + '-' + tracking[7:9] + '-' + tracking[9:11]
    with nothing_changes(portal, but=throttle):      # the claim is counted, nothing else
        wrong = claim(payer, '229', clave='NOEXISTE123', fecha=day, banco='40012')
    assert 'Banxico no encuentra esa transferencia' in wrong.text
    page = claim(payer, '229', clave=tracking, fecha=day, banco='40012')
    assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado'
    assert with_root(portal, lambda root: root.payments_by_reference['229'].cep_state) == 'verified'


def test_ya_pague_refuses_what_it_cannot_check(payer, portal):
    pay_by_spei(payer, '6212976')
    for fields, message in (
            (dict(clave='<b>x</b>', fecha='2026-11-29', banco='40012'), 'Escriba la clave de rastreo'),
            (dict(clave='ABC123', fecha='2026-11-29', banco=''), 'Elija el banco'),
            (dict(clave='ABC123', fecha='2030-01-01', banco='40012'), 'Escriba la fecha'),
            (dict(clave='ABC123', fecha='ayer', banco='40012'), 'Escriba la fecha'),
            (dict(cep=('cep.xml', b'<nope/>')), 'no es el XML de un CEP')):
        with nothing_changes(portal):            # not even counted as a claim
            page = claim(payer, '229', **fields)
        assert message in page.text, fields


def test_ya_pague_with_the_cep_xml_asks_banxico_before_believing_it(
        payer, portal, banks, frozen_clock):
    from canonportal.sandbox.spei import cep_xml
    tracking = lost_transfer(payer, portal, banks, frozen_clock)
    [sent] = [t for t in banks.spei.ledger.all() if t['claveRastreo'] == tracking]
    # A CEP edited to claim another transfer is not believed: Banxico knows no such one.
    forged = cep_xml(dict(sent, claveRastreo='SBX2026FORGED01'))
    with nothing_changes(portal, but=throttle):      # the claim is counted, nothing else
        page = claim(payer, '229', cep=('cep.xml', forged))
    assert 'Banxico no encuentra esa transferencia' in page.text
    page = claim(payer, '229', cep=('cep.xml', cep_xml(sent)))
    assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado'


def test_an_overpayment_goes_to_review_and_never_approves(payer, portal, banks,
                                                          portal_mailer):
    pay_by_spei(payer, '6212976')
    banks.send_transfer(customer_clabe(portal), '30000.00', reference='0000229')
    assert state_of(portal) == 'review'
    note = with_root(portal, lambda root: root.payments_by_reference['229'].history[-1][4])
    assert '30000.00' in note and '27794.52' in note
    assert not [m for m in portal_mailer.outbox if m.subject.startswith('Recibo')]
    page = payer.get(f'/customers/{CANON}/payments/229/')
    assert page.html.find('h2').get_text(strip=True) == 'Pago en revisión'


def test_a_transfer_matched_by_amount_loads_none_of_the_customers_other_payments(
        payer, portal, banks, monkeypatch):
    """Matching by CLABE and amount reads the customer's payments in progress only: its
    history of card payments stays on disk."""
    from canonportal import clock
    from canonportal.money import to_money
    from canonportal.resources import Allocation, Payment
    from payment_support import FIRST, payments_loaded
    from portal_support import database_of
    pay_by_spei(payer, '6212976')

    def card_payments(root):
        canon = root.customers[CANON]
        references = []
        for _ in range(40):
            payment = Payment(root.next_payment_reference(), CANON, 'bbva', [Allocation(
                'X-1', canon.accounts[0], 'MXN', to_money('27794.52'), to_money('27794.52'))],
                created=clock.utcnow())
            payment.transition('approved', clock.utcnow(), 'test')
            canon.add_payment(payment)
            references.append(payment.reference)
        return references
    theirs = with_root(portal, card_payments)
    database_of(portal).cacheMinimize()
    loaded = payments_loaded(monkeypatch)
    banks.send_transfer(customer_clabe(portal), '27794.52')
    assert state_of(portal) == 'approved'
    assert FIRST in loaded and not set(loaded) & set(theirs)


def test_historial_dates_a_transfer_paid_payment_when_the_money_settled(
        payer, portal, bank_server):
    """The transfer's settlement time, an hour before it is notified, is the payment date:
    HISTORIAL's index holds it from the transition on."""
    from canonportal import clock
    from canonportal.resources.payment_history import payment_date
    from payment_support import FIRST
    from spei_support import a_transfer, post_abono
    pay_by_spei(payer, '6212976')
    settled = clock.utcnow().replace(microsecond=0) - datetime.timedelta(hours=1)
    post_abono(bank_server, a_transfer('SETTLED1', '27794.52', customer_clabe(portal),
                                       numeric_reference=FIRST, settled_at=settled))

    def dates(root):
        payment = root.customers[CANON].payments[FIRST]
        entry = next(e for e in root.customers[CANON].history.entries()
                     if e.payment.reference == FIRST)
        return payment.paid_at, payment_date(payment), entry.date, entry.state
    assert with_root(portal, dates) == (settled, settled, settled, 'approved')


def test_a_transfer_matched_by_its_reference_loads_that_payment_only(
        payer, portal, banks, monkeypatch):
    """The CLABE names the customer through the index of customer numbers, the reference
    its payment through the root's index of references: neither the customer's settled
    payments nor its other SPEI payments waiting for the same amount (which leave matching
    by amount nothing to go on) are read."""
    from canonportal import clock
    from canonportal.money import to_money
    from canonportal.payments.service import track_in_progress
    from canonportal.resources import Allocation, Payment
    from payment_support import FIRST, payments_loaded
    from portal_support import database_of
    pay_by_spei(payer, '6212976')

    def other_payments(root):
        canon = root.customers[CANON]
        references = []
        for n in range(30):
            payment = Payment(root.next_payment_reference(), CANON, 'spei' if n % 3 else 'bbva', [
                Allocation('X-1', canon.accounts[0], 'MXN', to_money('27794.52'),
                           to_money('27794.52'))], created=clock.utcnow())
            if n % 3 == 0:
                payment.transition('approved', clock.utcnow(), 'test')
            canon.add_payment(payment)
            track_in_progress(root, canon, payment)
            references.append(payment.reference)
        return references
    others = with_root(portal, other_payments)
    database_of(portal).cacheMinimize()
    loaded = payments_loaded(monkeypatch)
    banks.send_transfer(customer_clabe(portal), '27794.52', reference=FIRST)
    assert state_of(portal) == 'approved'
    assert FIRST in loaded and not set(loaded) & set(others)
