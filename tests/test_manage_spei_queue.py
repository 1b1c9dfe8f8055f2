"""The staff's SPEI page: a statement uploaded, the queue of unmatched transfers, assigning
one to a customer's invoices or marking it as not for the portal (audited)."""
from decimal import Decimal

import pytest

from portal_support import CANON, nothing_changes, with_root
from manage_support import audit_entries, flash_text, staff_client, table_rows
from payment_support import state_of
from spei_samples import COMPANY_ACCOUNT, camt053, camt_entry
from spei_support import customer_clabe

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
    with nothing_changes(portal):
        refused = form.submit(status=400)      # the invoice does not add up to the transfer
    assert 'la transferencia es de' in refused.text and table_rows(refused, '#transfer-queue')

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
    assert with_root(portal, lambda root: root.transfers['20261130-BNET0100261130000008-40012'].state) == 'assigned'
    assert audit_entries(portal, 'spei.assigned')[0][5].startswith(CANON)


def test_a_payment_staff_assign_is_the_staff_members_in_the_audit_and_on_its_pages(
        portal, payer):
    """Issue 22: the payment "Asignar" creates is prepared by the operator, who the audit log
    names for its creation and its approval — not the customer, a bank or the system."""
    staff = staff_client(portal, 'oscar', role='operator')
    invoices = open_mxn(portal, CANON, 1)
    upload(staff, camt053(camt_entry(f'{invoices[0][1]:.2f}', 'BNET0100261130000009',
                                     COMPANY_ACCOUNT)))
    page = staff.get(PAGE)

    def everything(root):
        return (len(root.audit_log), len(root.payments_by_reference),
                [(i.key, i.left_to_pay) for i in root.customers[CANON].open_invoices])
    before = with_root(portal, everything)
    form = next(f for f in page.forms.values() if f.action.endswith('@@asignar'))
    form['rfc'], form['facturas'], form['comentario'] = CANON, invoices[0][0], ''
    form.submit(status=400)                     # no comment: refused, nothing written
    assert with_root(portal, everything) == before
    form['comentario'] = 'por teléfono'
    form.submit(status=303)
    assert state_of(portal, '229') == 'approved'
    trail = [(actor, before, after) for actor, action, target, before, after, _note
             in reversed(audit_entries(portal, 'payment.transition'))
             if target == f'/customers/{CANON}/payments/229']
    assert trail == [('staff:oscar', '', 'pending'), ('staff:oscar', 'pending', 'approved')]
    assert with_root(portal, lambda root: root.payments_by_reference['229'].prepared_by) == (
        'staff:oscar', 'oscar')
    staff_page = staff.get(f'/manage/customers/{CANON}/payments/229')
    facts = {dt.get_text(strip=True): dt.find_next_sibling('dd').get_text(strip=True)
             for dt in staff_page.html.find('dl', class_='props').find_all('dt')}
    assert facts['Preparó'] == 'oscar'
    customer_page = payer.get(f'/customers/{CANON}/payments/229')
    assert 'oscar' in customer_page.text


def test_a_bad_statement_shows_its_problems_and_changes_nothing(portal):
    staff = staff_client(portal)
    with nothing_changes(portal):
        page = upload(staff, b'<Document><nada/></Document>', status=400)
    assert page.html.find(id='statement-report') is not None


def test_auditors_see_the_queue_but_cannot_act(portal):
    upload(staff_client(portal, 'alice'), camt053(
        camt_entry('1.00', 'BNET0100261130000010', COMPANY_ACCOUNT)))
    auditor = staff_client(portal, 'carla', role='auditor')
    page = auditor.get(PAGE)
    assert table_rows(page, '#transfer-queue') and not [
        f for f in page.forms.values() if f.action.endswith('@@asignar')]
    transfer = '/manage/transfers/20261130-BNET0100261130000010-40012'
    token = auditor.csrf()
    with nothing_changes(portal):
        auditor.post(f'{transfer}/@@no-es-del-portal', {'csrf_token': token, 'comentario': 'x'},
                     status=403)
        auditor.post(f'{transfer}/@@asignar', {'csrf_token': token, 'rfc': CANON,
                                               'facturas': '6212976', 'comentario': 'x'},
                     status=403)
        auditor.post(f'{PAGE}/@@importar-estado', {'csrf_token': token}, status=403)


def test_the_dashboard_counts_spei(portal, banks):
    staff = staff_client(portal)
    upload(staff, camt053(camt_entry('1.00', 'BNET0100261129000011', COMPANY_ACCOUNT,
                                     day='2026-11-29'), day='2026-11-29'))
    page = staff.get('/manage')
    figures = {dd['id']: dd.get_text(strip=True) for dd in page.html.select('dl.spei-figures dd')}
    assert figures == {'spei-today': '1', 'spei-unmatched': '1', 'spei-cep': '0',
                       'spei-waiting': '0', 'spei-expired': '0'}


# -- one clave, two transfers; statements that cannot be read ---------------------------------

def test_two_rows_with_one_clave_and_different_amounts_are_both_recorded(portal):
    staff = staff_client(portal)
    data = camt053(camt_entry('1.00', 'BNET0100261130000031', COMPANY_ACCOUNT),
                   camt_entry('999.00', 'BNET0100261130000031', COMPANY_ACCOUNT))
    done = upload(staff, data).follow()
    assert '2 transferencias nuevas (0 aplicadas, 0 en revisión, 1 sin aplicar; 1 con la ' \
           'fecha, clave de rastreo y banco de otra distinta, para revisar), 0 ya recibidas' \
           in flash_text(done)
    key = '20261130-BNET0100261130000031-40012'
    assert with_root(portal, lambda root: {
        k: (t.state, str(t.amount), t.related) for k, t in root.transfers.items()}) == {
        key: ('unmatched', '1.00', (f'{key}-2',)),
        f'{key}-2': ('same-key', '999.00', (key,))}
    assert [row[2] for row in table_rows(done, '#transfer-queue')] == [
        '$1.00 MXN', '$999.00 MXN']
    assert audit_entries(portal, 'spei.same-key')[0][2] == f'/transfers/{key}-2'
    again = upload(staff, data).follow()
    assert '0 transferencias nuevas' in flash_text(again) and '2 ya recibidas' in flash_text(again)
    assert len(with_root(portal, lambda root: root.transfers)) == 2


def test_a_staff_csv_with_a_huge_cell_is_refused_line_by_line(portal):
    staff = staff_client(portal)
    data = ('fecha_operacion,clave_rastreo,monto,cuenta_beneficiaria,concepto\n'
            f'2026-11-30,BNET01,10.00,{COMPANY_ACCOUNT},PAGO\n'
            f'2026-11-30,BNET02,11.00,{COMPANY_ACCOUNT},{"x" * 200_000}\n'
            f'2026-11-30,BNET03,12.00,{COMPANY_ACCOUNT},"{"y" * 5000}"\n'
            f'2026-11-30,BNET04,13.00,{COMPANY_ACCOUNT},PAGO\n').encode()
    with nothing_changes(portal):
        page = upload(staff, data, status=400)              # was HTTP 500
    report = page.html.find(id='statement-report').get_text()
    assert 'Estado de cuenta (csv) rechazado: no se aplicó nada.' in report
    assert 'Línea 4: Una celda tiene más de 1000 caracteres.' in report
    assert 'Línea 3: ' in report and ' than ' not in report
    assert 'xxxxxxxxxx' not in report and 'yyyyyyyyyy' not in report
    staff.set_cookie('lang', 'en')
    with nothing_changes(portal):
        page = upload(staff, data, status=400)
    report = page.html.find(id='statement-report').get_text()
    assert 'Statement (csv) refused: nothing was applied.' in report
    assert 'Line 4: A cell is longer than 1000 characters.' in report


def test_a_statement_refused_says_each_problem_in_the_staffs_language(portal):
    staff = staff_client(portal)
    data = ('fecha_operacion;clave_rastreo;monto;cuenta_beneficiaria\n'
            '2026-11-30;BNET01;-1;646180157000000017\n'
            '2026-11-30;BNET02;10.00;123\n').encode()
    with nothing_changes(portal):
        report = upload(staff, data, status=400).html.find(id='statement-report').get_text()
        assert 'Línea 2: El monto debe ser positivo, con hasta dos decimales.' in report
        assert 'Línea 3: La cuenta beneficiaria debe tener de 10 a 18 dígitos.' in report
        latin = upload(staff, 'fecha_operacion\nPeñón\n'.encode('latin-1'), status=400)
        assert ('El CSV no está en UTF-8: guárdelo como «CSV UTF-8» e impórtelo de nuevo.'
                in latin.html.find(id='statement-report').get_text())
        staff.set_cookie('lang', 'en')
        report = upload(staff, data, status=400).html.find(id='statement-report').get_text()
    assert 'Line 2: The amount must be positive, with at most two decimals.' in report
    assert 'Line 3: The beneficiary account must have 10 to 18 digits.' in report


# -- money paid to one customer's own CLABE -------------------------------------------------

IXTAPA = 'DIS010203AB1'


def test_another_customers_clabe_needs_the_confirmation_and_is_marked_on_both(
        portal, portal_mailer):
    staff = staff_client(portal)
    canon_clabe = customer_clabe(portal)                     # CME930812PW3's own CLABE
    upload(staff, camt053(camt_entry('15230.40', 'BNET0100261130000041', canon_clabe)))
    key = '20261130-BNET0100261130000041-40012'
    assert with_root(portal, lambda root: list(root.transfers.unmatched)) == [key]

    page = staff.get(PAGE)
    row = page.html.find(id=f'transfer-{key}')
    assert 'Llegó a la CLABE propia de CME930812PW3' in ' '.join(row.get_text(' ').split())
    form = next(f for f in page.forms.values() if f.action.endswith('@@asignar'))
    form['rfc'], form['facturas'], form['comentario'] = IXTAPA, '7100501', 'lo pagó su filial'
    with nothing_changes(portal):
        refused = form.submit(status=400)
    assert 'llegó a la CLABE propia de CME930812PW3, no a la de DIS010203AB1' in refused.text

    form = next(f for f in refused.forms.values() if f.action.endswith('@@asignar'))
    assert form['rfc'].value == IXTAPA
    form['otro_cliente'] = 'si'
    done = form.submit(status=303).follow()
    assert 'asignada: pago 229' in flash_text(done)
    payment = with_root(portal, lambda root: (
        root.payments_by_reference['229'].customer_rfc, root.payments_by_reference['229'].state,
        root.payments_by_reference['229'].history[-1][4]))
    assert payment[:2] == (IXTAPA, 'approved')
    assert 'own CLABE of CME930812PW3' in payment[2] and 'lo pagó su filial' in payment[2]
    marked = audit_entries(portal, 'spei.assigned-other-customer')
    assert sorted(entry[2] for entry in marked) == [
        f'/customers/{CANON}', f'/customers/{IXTAPA}/payments/229']
    # Each customer's trail in the audit log shows it.
    for rfc in (CANON, IXTAPA):
        trail = staff.get('/manage/audit', {'target': f'/customers/{rfc}'})
        assert 'spei.assigned-other-customer' in trail.text, rfc


def notes_of(page):
    """The note under each queued transfer's reference, by clave de rastreo."""
    found = {}
    for row in page.html.select('#transfer-queue tbody tr'):
        cells = row.find_all('td')
        found[cells[1].get_text(strip=True)] = cells[5].find('span', class_='hint').get_text(strip=True)
    return found


def test_the_queue_says_why_each_transfer_waits_in_the_readers_language(portal):
    staff = staff_client(portal, role='operator')
    data = camt053(camt_entry('123.45', 'BNET0100261130000010', COMPANY_ACCOUNT),
                   camt_entry('678.90', 'BNET0100261130000011', customer_clabe(portal)))
    upload(staff, data)
    page = staff.get(PAGE)
    assert notes_of(page) == {
        'BNET0100261130000010': 'No se pagó a una de nuestras CLABE.',
        'BNET0100261130000011': 'Ningún pago en espera ni facturas abiertas del cliente coinciden '
                                'con ella.'}
    assert 'match' not in page.text and 'CLABEs' not in page.text
    staff.set_cookie('lang', 'en')
    assert notes_of(staff.get(PAGE)) == {
        'BNET0100261130000010': 'It was not paid to one of our CLABEs.',
        'BNET0100261130000011': "No waiting payment and no open invoices of the customer match it."}


def test_the_english_notes_of_older_records_become_words_after_the_evolve_step(portal):
    from canonportal import evolve
    staff = staff_client(portal, role='operator')
    upload(staff, camt053(camt_entry('123.45', 'BNET0100261130000012', COMPANY_ACCOUNT),
                          camt_entry('678.90', 'BNET0100261130000013', COMPANY_ACCOUNT)))

    def as_the_old_code_left_them(root):
        first, second = sorted(root.transfers.unmatched.values(), key=lambda t: t.tracking_key)
        first.note, first.note_data = 'no payment or open invoices match it', None
        second.note, second.note_data = 'payment 228 was already applied', None
        for record in (first, second):
            record.history = record.history[:-1] + (record.history[-1][:4] + (record.note,),)
    with_root(portal, as_the_old_code_left_them)
    with_root(portal, evolve.transfer_note_codes)
    assert notes_of(staff.get(PAGE)) == {
        'BNET0100261130000012': 'Ningún pago en espera ni facturas abiertas del cliente coinciden '
                                'con ella.',
        'BNET0100261130000013': 'El pago 228 ya estaba aplicado: este dinero no es para él.'}
    history = with_root(portal, lambda root: sorted(
        t.history[-1][4] for t in root.transfers.unmatched.values()))
    assert history == ['already-settled', 'no-match']
