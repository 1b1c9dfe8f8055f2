"""Maker-checker: above the company's threshold a Captura user's payment waits for another
person with Pago or Administrador, who may lower it, reject it or approve it and pay."""
import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from portal_support import CANON, nothing_changes, with_root
from payment_support import (
    FIRST, MANUAL_SELECTION, in_progress, in_transit, new_payer, payment_of, receipts,
    state_of,
)

RESULT = f'/customers/{CANON}/payments/{FIRST}/'


def captura(portal, banks):
    """The demo's Captura user of Canon Mexicana, signed in with its email."""
    client = new_payer(portal, banks)
    assert client.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    return client


def prepare(client, *folios, bank='bbva'):
    answer = client.pay(bank, *folios)
    assert answer.status_int == 303, answer.text[:300]
    return client.get(urlsplit(answer.location).path)


def decide_forms(page):
    return {name: next((f for f in page.forms.values() if f.action.endswith(name)), None)
            for name in ('@@aprobar', '@@rechazar')}


def test_above_the_threshold_a_captura_prepares_and_an_administrator_approves_and_pays(
        payer, portal, banks, portal_mailer):
    ana = captura(portal, banks)
    page = prepare(ana, *MANUAL_SELECTION)                  # $36,870.80 > $10,000.00
    assert page.html.find('h2').get_text(strip=True) == 'Solicitud de pago: espera aprobación'
    assert 'Preparada por Ana Compras' in ' '.join(page.html.get_text(' ').split())
    assert state_of(portal) == 'requested' and in_transit(portal, '6212976') > 0
    assert in_progress(portal) == [FIRST]
    # The preparer cannot approve: no form, and a forged POST changes nothing.
    assert decide_forms(page) == {'@@aprobar': None, '@@rechazar': None}
    token = ana.csrf()
    with nothing_changes(portal):
        ana.post(f'{RESULT}@@aprobar', {'csrf_token': token, 'keep': '6212976'}, status=403)
        ana.post(f'{RESULT}@@rechazar', {'csrf_token': token, 'comentario': 'no'}, status=403)
    # The approver got a mail; the request is not a bank payment yet.
    [mail] = [m for m in portal_mailer.outbox if 'por aprobar' in m.subject]
    assert mail.recipients == [f'{CANON.lower()}@example.mx'] and 'Ana Compras' in mail.body

    # The administrator (the RFC) lowers 6212976 and drops 1233080, then approves.
    request_page = payer.get(RESULT)
    form = decide_forms(request_page)['@@aprobar']
    for box in form.fields['keep']:
        box.checked = box._value != '1233080'  # noqa: SLF001
    form['amount-6212976'] = '1000.00'
    to_bank = form.submit()
    assert to_bank.status_int == 200 and to_bank.html.find('form', id='bank-form') is not None
    assert state_of(portal) == 'pending' and in_progress(portal) == [FIRST]
    back = payer.at_bank(to_bank)
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved' and in_progress(portal) == []
    payment = payment_of(portal)
    kept = with_root(portal, lambda root: sorted(
        (a.invoice_key, str(a.amount_currency)) for a in root.payments_by_reference[FIRST].allocations))
    assert kept == [('1233076', '167.94'), ('6212976', '1000.00')]
    assert payment['state'] == 'approved'
    done = payer.get(RESULT)
    facts = ' '.join(done.html.find('dl', class_='facts').get_text(' ').split())
    assert 'Preparó Ana Compras' in facts and 'Aprobó Canon Mexicana SA de CV' in facts
    # The company's receipt (Ana, who prepared the request, gets her own copy).
    [receipt] = [m for m in receipts(portal_mailer) if m.recipients == [f'{CANON.lower()}@example.mx']]
    assert 'Preparó: Ana Compras' in receipt.body and 'Aprobó: Canon Mexicana SA de CV' in receipt.body
    assert str(in_transit(portal, '1233080')) == '0.00'
    assert back


def field_error(page, folio):
    """The red message beside ``folio``'s amount on the approval form, and its input."""
    row = page.html.find('tr', attrs={'data-key': folio})
    amount = row.find('input', attrs={'name': f'amount-{folio}'})
    note = row.find('p', class_='field-error')
    return (' '.join(note.get_text().split()) if note else None), amount


def test_an_approver_may_not_raise_an_amount(payer, portal, banks, portal_mailer):
    prepare(captura(portal, banks), '6212976')
    form = decide_forms(payer.get(RESULT))['@@aprobar']
    form['amount-6212976'] = '99999.00'
    with nothing_changes(portal):
        page = form.submit(status=400)
    # In red beside the amount, not in the green box of what went well; the typed value stays.
    message, amount = field_error(page, '6212976')
    assert message == 'Solo puede bajar la cantidad: se solicitaron $27,794.52 MXN.'
    assert amount['value'] == '99999.00' and amount['aria-invalid'] == 'true'
    assert amount['aria-describedby'] == page.html.find('p', class_='field-error')['id']
    assert page.html.find(class_='flash') is None
    assert 'Revise las cantidades marcadas' in page.html.find(id='decision-error').get_text()
    assert state_of(portal) == 'requested' and str(in_transit(portal, '6212976')) == '27794.52'


def test_a_refused_approval_keeps_what_was_typed_and_totals_what_counts(payer, portal, banks,
                                                                       portal_mailer):
    """The approver lowers one invoice, drops another and mistypes the third: the page comes
    back with each as it was, the mistake marked, and the total of what would be approved."""
    prepare(captura(portal, banks), *MANUAL_SELECTION)
    page = payer.get(RESULT)
    assert page.html.find(id='approve-total').get_text(strip=True) == '$36,870.80 MXN'
    form = decide_forms(page)['@@aprobar']
    for box in form.fields['keep']:
        box.checked = box._value != '1233076'  # noqa: SLF001
    form['amount-6212976'] = '1000.00'
    form['amount-1233080'] = '3OO'              # letters O, not zeros
    with nothing_changes(portal):
        again = form.submit(status=400)
    assert field_error(again, '1233080')[0] == 'Escriba una cantidad válida, por ejemplo 1234.56.'
    assert field_error(again, '6212976') == (None, again.html.find(
        'input', attrs={'name': 'amount-6212976'}))
    kept = {box._value: box.checked for box in decide_forms(again)['@@aprobar'].fields['keep']}  # noqa: SLF001
    assert kept == {'1233076': False, '1233080': True, '6212976': True}
    typed = decide_forms(again)['@@aprobar']
    assert (typed['amount-6212976'].value, typed['amount-1233080'].value) == ('1000.00', '3OO')
    # Only the readable amount of what is kept counts: 1,000.00 (1233080 is refused).
    assert again.html.find(id='approve-total').get_text(strip=True) == '$1,000.00 MXN'
    # Corrected, it goes through: 1,000.00 + 300.00 USD × 18.8869 (5,666.07).
    typed['amount-1233080'] = '300'
    assert typed.submit().status_int == 200
    kept = with_root(portal, lambda root: sorted(
        (a.invoice_key, str(a.amount_currency), str(a.amount_mxn))
        for a in root.payments_by_reference[FIRST].allocations))
    assert kept == [('1233080', '300.00', '5666.07'), ('6212976', '1000.00', '1000.00')]


def test_dropping_every_invoice_is_refused_in_red(payer, portal, banks, portal_mailer):
    prepare(captura(portal, banks), '6212976')
    form = decide_forms(payer.get(RESULT))['@@aprobar']
    form['keep'] = False
    with nothing_changes(portal):
        page = form.submit(status=400)
    assert 'Deje al menos una factura' in page.html.find(id='decision-error').get_text()
    assert not decide_forms(page)['@@aprobar']['keep'].checked


def test_a_rejection_without_a_reason_says_so_beside_the_field(payer, portal, banks, portal_mailer):
    prepare(captura(portal, banks), '6212976')
    form = decide_forms(payer.get(RESULT))['@@rechazar']
    form['comentario'] = '   '
    with nothing_changes(portal):
        page = form.submit(status=400)
    comment = page.html.find('input', id='reject-comment')
    error = page.html.find(id='reject-comment-error')
    assert error.get_text(strip=True) == 'Escriba por qué rechaza la solicitud.'
    assert comment['aria-invalid'] == 'true' and comment['aria-describedby'] == 'reject-comment-error'
    assert page.html.find(class_='flash') is None
    assert state_of(portal) == 'requested'


def test_rejecting_is_set_apart_from_approving(payer, portal, banks):
    prepare(captura(portal, banks), '6212976')
    page = payer.get(RESULT)
    approve, reject = page.html.find('form', id='approve-form'), page.html.find('form', id='reject-form')
    assert [b.get_text(strip=True) for b in approve.find_all('button')] == ['Aprobar y pagar']
    assert [b.get_text(strip=True) for b in reject.find_all('button')] == ['Rechazar']
    box = reject.find_parent('section', class_='reject-box')
    assert box is not None and box.find('h3').get_text(strip=True) == 'Rechazar la solicitud'
    assert approve.find_parent('section', class_='reject-box') is None
    assert page.html.find('h1').get_text(strip=True) == f'Solicitud de pago {FIRST}'
    payer.set_cookie('lang', 'en')
    english = payer.get(RESULT)
    assert english.html.find('h1').get_text(strip=True) == f'Payment request {FIRST}'
    assert english.html.find(id='reject-title').get_text(strip=True) == 'Reject the request'
    assert english.html.find(id='approve-title').get_text(strip=True) == 'Approve the request'


def test_a_rejected_request_frees_its_invoices_with_the_reason(payer, portal, banks):
    prepare(captura(portal, banks), '6212976')
    form = decide_forms(payer.get(RESULT))['@@rechazar']
    form['comentario'] = 'esperemos al próximo mes'
    page = form.submit(status=303).follow()
    assert 'rechazada' in page.text and state_of(portal) == 'cancelled'
    assert in_progress(portal) == []
    assert str(in_transit(portal, '6212976')) == '0.00'
    note = with_root(portal, lambda root: root.payments_by_reference[FIRST].history[-1][4])
    assert note == 'rejected by Canon Mexicana SA de CV: esperemos al próximo mes'


def test_below_the_threshold_a_captura_pays_directly(portal, banks):
    ana = captura(portal, banks)
    answer = ana.pay('bbva', '1233080')                     # $5,904.42 < $10,000.00
    assert answer.status_int == 200 and answer.html.find('form', id='bank-form') is not None
    assert state_of(portal) == 'pending'
    assert with_root(portal, lambda root: root.payments_by_reference[FIRST].prepared_by[1]) == 'Ana Compras'


def test_a_request_nobody_decides_expires_and_frees_its_invoices(portal, banks, frozen_clock):
    from pyramid_mailer import get_mailer

    from canonportal.payments.reconciliation import reconcile
    prepare(captura(portal, banks), '6212976')
    deadline = with_root(portal, lambda root: root.payments_by_reference[FIRST].expires_at)
    # Prepared on Sunday 29 November: two business days, Monday and Tuesday.
    assert deadline == datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.timezone.utc)
    counts = reconcile(portal.registry._zodb_databases[''], portal.registry.settings,
                       portal.registry.gateways, get_mailer(portal.registry),
                       now=deadline + datetime.timedelta(minutes=1))
    assert counts == {'request expired': 1}
    assert state_of(portal) == 'expired' and str(in_transit(portal, '6212976')) == '0.00'
    assert in_progress(portal) == []


def test_two_approvers_racing_one_wins(payer, portal, banks):
    prepare(captura(portal, banks), '6212976')
    first = decide_forms(payer.get(RESULT))['@@aprobar']
    second = decide_forms(payer.get(RESULT))['@@aprobar']   # the same page in another tab
    assert first.submit().status_int == 200
    with nothing_changes(portal):
        late = second.submit(status=409)
        assert 'ya no espera aprobación' in late.html.find(id='decision-error').get_text()
        assert decide_forms(late) == {'@@aprobar': None, '@@rechazar': None}
    assert state_of(portal) == 'pending'


def test_the_preparer_cannot_approve_even_after_becoming_an_approver(payer, portal, banks):
    ana = captura(portal, banks)
    prepare(ana, '6212976')

    def promote(root):
        user = root.customers.find_user_by_email(DEMO_CAPTURA_EMAIL)
        user.role = 'pago'
    with_root(portal, promote)
    page = ana.get(RESULT)
    assert decide_forms(page) == {'@@aprobar': None, '@@rechazar': None}
    with nothing_changes(portal):
        refused = ana.post(f'{RESULT}@@aprobar', {'csrf_token': ana.csrf(), 'keep': '6212976',
                                                  'amount-6212976': '27794.52'}, status=403)
    assert 'Solo otra persona' in refused.html.find(id='decision-error').get_text()
    assert state_of(portal) == 'requested'


def test_historial_names_who_prepared_and_filters_by_person(payer, portal, banks):
    ana = captura(portal, banks)
    payer.at_bank(ana.pay('bbva', '1233080'))               # below the threshold: paid directly
    banks.wait_for_deliveries()
    history = f'/customers/{CANON}/historial-de-pagos'
    page = payer.get(history)
    people = {o.get_text(strip=True): o['value'] for o in
              page.html.find('select', id='filter-user').find_all('option')}
    assert set(people) == {'Todas', 'Canon Mexicana SA de CV', 'Ana Compras'}
    rows = page.html.select('table.history-table tbody tr')
    assert 'Ana Compras' in rows[0].get_text() and FIRST in rows[0].get_text()
    only_ana = payer.get(history, {'usuario': people['Ana Compras']})
    assert [tr.find_all('td')[1].find('a').get_text() for tr in only_ana.html.select(
        'table.history-table tbody tr')] == [FIRST]
    assert payer.get(history, {'usuario': 'company-user:OTRO:x'}, status=400)
    csv = payer.get(f'/customers/{CANON}/historial-de-pagos.csv').body.decode('utf-8-sig')
    assert f'{FIRST},' in csv and 'Ana Compras' in csv


def test_saldos_says_whose_request_holds_an_invoice(payer, portal, banks):
    prepare(captura(portal, banks), '6212976')
    row = payer.get(f'/customers/{CANON}/saldos').html.find('tr', attrs={'data-key': '6212976'})
    assert ' '.join(row.find(class_='held-by').get_text().split()) == \
        f'en proceso: pago {FIRST} (Ana Compras, por aprobar)'


def test_amounts_that_are_not_amounts_are_refused_with_a_message(payer, portal, banks):
    prepare(captura(portal, banks), '6212976')
    not_a_number = 'Escriba una cantidad válida, por ejemplo 1234.56.'
    with nothing_changes(portal):
        for typed, message in (('NaN', not_a_number), ('Infinity', not_a_number), ('1e400', not_a_number),
                               ('-5', 'Escriba una cantidad mayor que cero.'), ('x' * 5000, not_a_number),
                               ('12,34', not_a_number), ('', not_a_number),
                               ('10.123', 'Use a lo más 2 decimales.')):
            form = decide_forms(payer.get(RESULT))['@@aprobar']
            form['amount-6212976'] = typed
            page = form.submit(status=400)
            shown, amount = field_error(page, '6212976')
            assert shown == message, typed
            assert amount['value'] == typed[:40], typed        # kept as typed, within its bound
    assert state_of(portal) == 'requested'
    with nothing_changes(portal):
        users = payer.get(f'/customers/{CANON}/usuarios')
        form = next(f for f in users.forms.values() if f.action.endswith('@@aprobacion'))
        for typed in ('NaN', 'Infinity', '-1', '0', '1e400', 'x' * 5000, '99999999999999'):
            form['politica'] = 'above'
            form['monto'] = typed
            refused = form.submit(status=400)
            assert 'Escriba el monto a partir del cual' in refused.text, typed
    assert with_root(portal, lambda root: root.customers[CANON].approval_threshold) == Decimal('10000.00')
