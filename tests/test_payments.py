"""The payment flow of the manual (steps 4–7) against the sandbox banks, in process.

Both sandboxes are real protocol peers (payment_support): the portal creates
Citibanamex checkout sessions and retrieves orders through an httpx WSGI
transport, the sandboxes post webhooks and BBVA post-backs back the same way.
Nothing is mocked but the clock and SMTP (the transactional testing portal_mailer: a
mail reaches ``outbox`` only when its transaction commits).
"""
import logging
import re
import threading
from urllib.parse import urlsplit

import httpx
import pytest
import webtest
from pyramid_mailer import get_mailer
from ZODB.POSException import ConflictError

from canonportal.payments import service as payments
from portal_support import CANON, GOOD_PASSWORD, IXTAPA, database_of, nothing_changes, with_root
from payment_support import (
    payments_loaded,
    BANAMEX_WEBHOOK_SECRET, BBVA_SECRET, FIRST, MANUAL_SELECTION, accept, backwards,
    bank_answer, bbva_postback, bbva_sign, confirmation, facts, in_transit, make_paying_portal,
    in_progress, misbehave, new_payer, payment_of, receipts, result_page, state_of, transitions,
)

HOST = {'HTTP_HOST': 'portal.example.mx'}
SALDOS = f'/customers/{CANON}/saldos'
HISTORY = f'/customers/{CANON}/historial-de-pagos'
RESULT = f'/customers/{CANON}/payments/{FIRST}'
IN_TRANSIT_MESSAGE = 'ya tiene un pago en tránsito'


# -- approve, decline, cancel ------------------------------------------------------------

@pytest.mark.parametrize('bank, bank_reference', [
    ('bbva', r'BBVA \d{6}'), ('banamex', r'BC-Banamex [0-9A-Za-z]{6}')])
def test_paying_the_manuals_three_invoices_is_approved(payer, portal, banks, portal_mailer, bank,
                                                       bank_reference):
    confirm = confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))
    assert confirm.html.find(class_='confirm-total').get_text(strip=True) == '$36,870.80 MXN'
    answer = accept(confirm)
    assert in_progress(portal) == [FIRST]        # the customer's own index lists it
    # Citibanamex's successIndicator stays on the server; the browser only gets the session.
    for session in banks.banamex.sessions.values():
        assert session['success_indicator'] not in answer.text + str(answer.headers)
    back = payer.at_bank(answer)
    banks.wait_for_deliveries()
    result = result_page(payer, back)
    assert result.html.find('h2').get_text(strip=True) == 'Pago aprobado'
    shown = facts(result)
    assert shown['Referencia de pago'] == FIRST
    assert re.fullmatch(bank_reference, shown['Referencia bancaria']), shown
    assert shown['Monto'] == '$36,870.80 MXN'
    assert 'Refresh' not in result.headers
    assert state_of(portal) == 'approved' and in_progress(portal) == []
    # Approved keeps the reservations until the ERP applies the payment.
    assert str(in_transit(portal, '6212976')) == '27794.52'
    assert str(in_transit(portal, '1233076')) == '167.94'     # USD invoice: in USD
    # HISTORIAL DE PAGOS lists it, with a link to its page.
    history = payer.get(HISTORY)
    rows = [tr for tr in history.html.select('table.history-table tbody tr') if FIRST in tr.text]
    assert len(rows) == 3
    assert shown['Referencia bancaria'] in rows[0].text
    link = rows[0].find('a', href=True)
    assert urlsplit(link['href']).path.rstrip('/') == RESULT
    # One receipt mail, to the confirmed address, with the references and the invoices.
    sent = receipts(portal_mailer)
    assert len(sent) == 1
    assert sent[0].recipients == ['cme930812pw3@example.mx']
    body = sent[0].body
    assert FIRST in body and shown['Referencia bancaria'] in body and '$36,870.80 MXN' in body
    assert all(folio in body for folio in MANUAL_SELECTION)
    assert transitions(portal) == [('pending', 'approved', transitions(portal)[0][2])]


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_partial_payments_show_under_pago_en_transito_in_the_invoices_currency(
        payer, portal, banks, bank):
    confirm = confirmation(payer, bank, {'6212976': ('mxn', '1000.00'),
                                         '1233080': ('usd', '100')})
    # 1,000.00 + 100 USD × 18.8869 = 1,888.69.
    assert confirm.html.find(class_='confirm-total').get_text(strip=True) == '$2,888.69 MXN'
    result = result_page(payer, payer.at_bank(accept(confirm)))
    banks.wait_for_deliveries()
    assert 'Pago aprobado' in result.text
    saldos = payer.get(SALDOS)

    def transit_cell(folio):
        return saldos.html.find('tr', attrs={'data-key': folio}).find_all('td')[8].get_text(strip=True)
    assert transit_cell('6212976') == '$1,000.00 MXN'
    assert transit_cell('1233080') == '$100.00 USD'
    row = saldos.html.find('tr', attrs={'data-key': '6212976'})
    assert row['data-left-mxn'] == '26794.52'


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_declined_card_releases_the_invoices(payer, portal, banks, portal_mailer, bank):
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))),
                         expiry='05/39')
    banks.wait_for_deliveries()
    result = result_page(payer, back)
    assert result.html.find('h2').get_text(strip=True) == 'El banco rechazó el pago'
    assert 'No se hizo ningún cargo' in result.text
    assert 'Referencia bancaria' not in facts(result)
    assert state_of(portal) == 'declined' and in_progress(portal) == []
    assert str(in_transit(portal, '6212976')) == '0.00'
    assert receipts(portal_mailer) == []
    assert result.html.find('a', href=re.compile('recibo')) is None
    # Paid nothing: the history shows the attempt as declined, not paid; the invoices
    # can be paid again.
    history = payer.get(HISTORY)
    attempt = [tr for tr in history.html.select('table.history-table tbody tr') if FIRST in tr.text]
    assert attempt and all('failed' in tr['class'] for tr in attempt)
    assert 'Rechazado por el banco' in attempt[0].get_text()
    assert total_paid(history) == '$18.31 MXN'
    again = confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))
    assert accept(again).status_int in (200, 303)
    assert state_of(portal, '230') == 'pending'


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_cancelling_at_the_bank_releases_the_invoices(payer, portal, banks, portal_mailer, bank):
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))),
                         action='cancel')
    banks.wait_for_deliveries()
    result = result_page(payer, back)
    assert result.html.find('h2').get_text(strip=True) == 'Pago cancelado'
    assert 'Las facturas quedaron liberadas' in result.text
    assert state_of(portal) == 'cancelled'
    assert all(str(in_transit(portal, f)) == '0.00' for f in ('6212976', '1233076', '1233080'))
    assert receipts(portal_mailer) == []


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_the_sandbox_told_to_decline_or_cancel_is_obeyed(payer, portal, banks, bank):
    banks.behave(bank, 'decline')
    back = payer.at_bank(accept(confirmation(payer, bank, {'6212976': None})))
    banks.wait_for_deliveries()
    assert 'rechazó' in result_page(payer, back).text
    banks.behave(bank, 'cancel', reset='1')
    back = payer.at_bank(accept(confirmation(payer, bank, {'6212976': None})))
    banks.wait_for_deliveries()
    assert 'Pago cancelado' in result_page(payer, back).text
    assert (state_of(portal, '229'), state_of(portal, '230')) == ('declined', 'cancelled')


def test_while_the_bank_has_not_answered_the_page_waits_and_refreshes_itself(
        payer, portal, banks, portal_mailer):
    banks.behave('bbva', 'no_return')
    bank_page = payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    assert 'Pago aprobado' in bank_page.text      # the bank's own receipt; it never comes back
    result = payer.get(RESULT)
    assert result.html.find('h2').get_text(strip=True) == 'Esperando la confirmación del banco'
    assert result.headers['Refresh'] == '5'
    assert 'No vuelva a pagar estas facturas' in result.text
    assert result.html.find('a', href=re.compile('recibo')) is None
    assert state_of(portal) == 'pending'
    # HISTORIAL DE PAGOS lists it as waiting, not as paid.
    history = payer.get(HISTORY)
    assert 'Pendiente de confirmación del banco' in history.text
    assert receipts(portal_mailer) == []


def test_the_result_page_asks_citibanamex_for_its_own_payment(payer, portal, banks, portal_mailer):
    """The browser never came back and the webhook was lost: the page itself retrieves the order."""
    misbehave(banks, 'banamex', 'drop', 'no_return')
    bank_page = payer.at_bank(accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))))
    assert 'No fue posible regresar al comercio' in bank_page.text
    assert state_of(portal) == 'pending'
    result = payer.get(RESULT)
    assert 'Pago aprobado' in result.text and 'Refresh' not in result.headers
    assert payment_of(portal)['history'][-1] == ('pending', 'approved', 'query')
    assert len(receipts(portal_mailer)) == 1
    payer.get(RESULT)
    assert len(receipts(portal_mailer)) == 1


# -- duplicated, out of order, replayed ----------------------------------------------------

@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_notification_sent_twice_makes_one_transition_and_one_mail(payer, portal, banks,
                                                                      portal_mailer, bank):
    banks.behave(bank, 'twice')
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))))
    banks.wait_for_deliveries()
    deliveries = (banks.banamex if bank == 'banamex' else banks.bbva).deliverer.entries(FIRST)
    assert [d.get('status') for d in deliveries] == ([200, 200] if bank == 'banamex' else [303])
    assert 'Pago aprobado' in result_page(payer, back).text
    assert transitions(portal) == [('pending', 'approved', transitions(portal)[0][2])]
    assert len(receipts(portal_mailer)) == 1


def test_a_citibanamex_webhook_before_the_browser_returns(payer, portal, banks, portal_mailer):
    banks.behave('banamex', 'early')
    back = payer.at_bank(accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))))
    # The webhook (synchronous with 'early') settled the payment before the browser came back.
    assert payment_of(portal)['history'][-1] == ('pending', 'approved', 'notification')
    assert 'Pago aprobado' in result_page(payer, back).text
    assert len(transitions(portal)) == 1 and len(receipts(portal_mailer)) == 1


def test_a_declined_after_approved_changes_nothing(payer, portal, banks, portal_mailer, bank_server):
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    approval = bank_answer(banks)
    assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', approval).status_int == 303
    assert state_of(portal) == 'approved'
    with nothing_changes(portal):
        # Correctly signed, but older news: a decline without authorization, and a cancel.
        for response in ('05', '99'):
            late = bbva_postback(amount=approval['mp_amount'], authorization='', response=response)
            assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', late).status_int == 303
            assert bank_server.post('/banco/bbva/notificacion', late).status_int == 200
    assert backwards(portal) == [] and state_of(portal) == 'approved'
    assert len(receipts(portal_mailer)) == 1


def test_a_stale_citibanamex_webhook_body_cannot_undo_an_approval(payer, portal, banks, portal_mailer,
                                                                  bank_server):
    back = payer.at_bank(accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))))
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved'
    with nothing_changes(portal):
        body = {'order': {'id': FIRST, 'status': 'FAILED', 'amount': 1.0, 'currency': 'MXN'},
                'result': 'FAILURE', 'response': {'gatewayCode': 'DECLINED'}}
        answer = bank_server.post_json('/banco/banamex/notificacion', body,
                                       headers={'X-Notification-Secret': BANAMEX_WEBHOOK_SECRET})
        assert answer.status_int == 200   # accepted, but the retrieved order is the truth
    assert backwards(portal) == []
    assert len(receipts(portal_mailer)) == 1
    result_page(payer, back)


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_replaying_the_approval_changes_nothing_and_mails_nothing(payer, portal, banks, portal_mailer,
                                                                  bank, bank_server):
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))))
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved'
    with nothing_changes(portal):
        for _ in range(3):
            if bank == 'bbva':
                replay = bank_server.post(f'/banco/bbva/retorno/{FIRST}', bank_answer(banks))
                assert replay.status_int == 303
                assert bank_server.post('/banco/bbva/notificacion', bank_answer(banks)).status_int == 200
            else:
                replay = payer.get(back.request.path_qs)
                assert replay.status_int == 303
                webhook = bank_server.post_json(
                    '/banco/banamex/notificacion', {'order': {'id': FIRST}},
                    headers={'X-Notification-Secret': BANAMEX_WEBHOOK_SECRET})
                assert webhook.status_int == 200
    assert len(receipts(portal_mailer)) == 1


def test_concurrent_copies_of_one_post_back_make_one_transition_and_one_mail(
        payer, portal, banks, portal_mailer):
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    approval = bank_answer(banks)
    copies = 8
    barrier = threading.Barrier(copies)
    statuses, errors = [], []

    def deliver(number):
        client = webtest.TestApp(portal, extra_environ=dict(HOST))
        path = f'/banco/bbva/retorno/{FIRST}' if number % 2 else '/banco/bbva/notificacion'
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(path, approval, status='*').status_int)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(statuses) == [200] * (copies // 2) + [303] * (copies // 2)
    assert state_of(portal) == 'approved'
    assert len(transitions(portal)) == 1
    assert len(receipts(portal_mailer)) == 1


# -- forged and inconsistent bank messages --------------------------------------------------

def forgeries(approval):
    wrong_key = dict(approval, mp_signature=bbva_sign(
        'not-the-secret', approval['mp_order'], approval['mp_reference'], approval['mp_amount'],
        approval['mp_authorization']))
    body_changed = dict(approval, mp_amount='1.00')
    other_message = dict(approval, mp_authorization='999999')   # signature of the real one
    unsigned = {k: v for k, v in approval.items() if k != 'mp_signature'}
    empty_signature = dict(approval, mp_signature='')
    return {'wrong key': wrong_key, 'body changed': body_changed,
            'signature of another message': other_message, 'unsigned': unsigned,
            'empty signature': empty_signature}


def test_forged_bbva_post_backs_are_refused_and_change_nothing(payer, portal, banks, portal_mailer,
                                                              bank_server, caplog):
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    approval = bank_answer(banks)
    with nothing_changes(portal):
        caplog.set_level(logging.WARNING)
        tried = 0
        for name, forged in forgeries(approval).items():
            for path in (f'/banco/bbva/retorno/{FIRST}', '/banco/bbva/notificacion'):
                answer = bank_server.post(path, forged, status='*')
                tried += 1
                assert answer.status_int == 403, (name, path, answer.status)
        # A signature made up by someone else for a payment of their own choosing.
        made_up = bbva_postback(secret='guessed')
        assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', made_up, status='*').status_int == 403
        tried += 1
    assert state_of(portal) == 'pending'
    assert receipts(portal_mailer) == []
    rejected = [r for r in caplog.records if 'rejected bbva' in r.getMessage()]
    assert len(rejected) == tried
    assert all(BBVA_SECRET not in r.getMessage() for r in caplog.records)
    # The real one still works afterwards.
    assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', approval).status_int == 303
    assert state_of(portal) == 'approved'


def test_forged_citibanamex_webhooks_are_refused(payer, portal, banks, portal_mailer, bank_server):
    misbehave(banks, 'banamex', 'drop', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))))
    with nothing_changes(portal):
        body = {'order': {'id': FIRST, 'status': 'CAPTURED', 'amount': 36870.80, 'currency': 'MXN'},
                'result': 'SUCCESS'}
        for headers in ({}, {'X-Notification-Secret': 'guess'},
                        {'X-Notification-Secret': BANAMEX_WEBHOOK_SECRET + 'x'},
                        {'X-Notification-Secret': BANAMEX_WEBHOOK_SECRET[:-1]}):
            answer = bank_server.post_json('/banco/banamex/notificacion', body, headers=headers,
                                           status='*')
            assert answer.status_int == 403 and answer.content_type == 'text/plain'
    assert receipts(portal_mailer) == []


def total_paid(history):
    return history.html.find('p', class_='history-summary').find_all('strong')[1].get_text(strip=True)


def test_a_post_back_that_differs_from_what_we_sent_is_refused_and_the_real_one_approves(
        payer, portal, banks, portal_mailer, bank_server):
    """BBVA's signature proves nothing about field boundaries: only the very order,
    reference and amount we sent count (issue 11). Anything else is refused, changes
    nothing, and the genuine answer still approves afterwards."""
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    with nothing_changes(portal):
        one_cent_less = bbva_postback(amount='36870.79')
        assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', one_cent_less,
                                status='*').status_int == 403
    assert state_of(portal) == 'pending'
    bank_server.post(f'/banco/bbva/retorno/{FIRST}', bank_answer(banks))
    assert state_of(portal) == 'approved' and len(receipts(portal_mailer)) == 1


def test_a_signed_message_recut_to_fit_another_payment_is_refused(payer, portal, banks, portal_mailer,
                                                                  bank_server):
    """Payment 2290 of CME930812PW3 signs "2290" + "CME930812PW3" + amount + authorization:
    the same bytes as order 229 with reference "0CME930812PW3". It moved 229 to review."""
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    with nothing_changes(portal):
        genuine_for_2290 = bbva_postback(order='2290')
        recut = dict(genuine_for_2290, mp_order=FIRST, mp_reference='0' + CANON)
        for endpoint in (f'/banco/bbva/retorno/{FIRST}', '/banco/bbva/notificacion'):
            assert bank_server.post(endpoint, recut, status='*').status_int == 403
    assert state_of(portal) == 'pending'
    bank_server.post(f'/banco/bbva/retorno/{FIRST}', bank_answer(banks))
    assert state_of(portal) == 'approved'


@pytest.mark.parametrize('change', [{'reference': IXTAPA}, {'currency': '2'}])
def test_signed_data_for_another_customer_or_currency_are_refused(
        payer, portal, banks, portal_mailer, bank_server, change):
    banks.behave('bbva', 'drop')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    with nothing_changes(portal):
        answer = bank_server.post('/banco/bbva/notificacion', bbva_postback(**change), status='*')
        assert answer.status_int == 403
    assert state_of(portal) == 'pending'
    assert receipts(portal_mailer) == []


def test_a_currency_flipped_replay_leaves_an_approved_payment_approved(payer, portal, banks,
                                                                       portal_mailer, bank_server):
    """mp_currency is not signed: a replay with mp_currency=2 moved the payment to review."""
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    assert state_of(portal) == 'approved'
    with nothing_changes(portal):
        flipped = dict(bank_answer(banks), mp_currency='2')
        for endpoint in (f'/banco/bbva/retorno/{FIRST}', '/banco/bbva/notificacion'):
            assert bank_server.post(endpoint, flipped, status='*').status_int == 403
    assert state_of(portal) == 'approved'
    assert len(receipts(portal_mailer)) == 1


def test_a_signed_post_back_for_an_unknown_order_changes_nothing(payer, portal, banks,
                                                                bank_server):
    with nothing_changes(portal):
        answer = bank_server.post('/banco/bbva/notificacion', bbva_postback(order='99999'), status='*')
        assert answer.status_int == 403
        assert bank_server.post('/banco/bbva/retorno/99999', bbva_postback(order='99999'),
                                status='*').status_int == 404


def test_a_forged_return_with_made_up_parameters_pays_nothing(payer, portal, banks, portal_mailer):
    answer = accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION)))
    assert answer.status_int == 303 and answer.location.startswith('https://bank.test/')
    # The customer never pays at the bank but comes back with made-up parameters.
    with nothing_changes(portal):
        for query in ('resultIndicator=made-up', 'resultIndicator=', 'resultIndicator=made-up&status=CAPTURED'
                      '&amount=36870.80', ''):
            back = payer.get(f'/banco/banamex/retorno/{FIRST}?{query}')
            assert back.status_int == 303
            page = result_page(payer, back)
            assert page.html.find('h2').get_text(strip=True) == 'Esperando la confirmación del banco'
            assert page.headers['Refresh'] == '5'
        # A POST with BBVA-looking fields on a Citibanamex payment is nothing either.
        back = payer.post(f'/banco/banamex/retorno/{FIRST}', bbva_postback(), status='*')
        assert back.status_int in (303, 403)
    assert receipts(portal_mailer) == []


def test_a_forged_bbva_return_without_a_signature_says_pending(payer, portal, banks, portal_mailer):
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    with nothing_changes(portal):
        back = payer.get(f'/banco/bbva/retorno/{FIRST}?mp_response=00&mp_authorization=123456',
                         status='*')
        assert back.status_int == 403
        page = payer.get(RESULT)
        assert 'Esperando la confirmación del banco' in page.text
    assert receipts(portal_mailer) == []


# -- two tabs, two customers' sessions, concurrency -----------------------------------------

def test_a_second_tab_cannot_pay_what_is_already_in_transit(payer, portal, banks):
    first_tab = confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))
    second_tab = confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))
    assert accept(first_tab).status_int == 200        # the auto-submitted form to BBVA
    with nothing_changes(portal):
        refused = accept(second_tab, status=409)
        assert IN_TRANSIT_MESSAGE in refused.text
        assert 'Actualice la página' in refused.text
    assert str(in_transit(portal, '6212976')) == '27794.52'
    assert with_root(portal, lambda root: root.payment_counter.value) == 229
    # SALDOS shows the amount in transit and nothing left to pay.
    row = payer.get(SALDOS).html.find('tr', attrs={'data-key': '6212976'})
    assert row['data-left-mxn'] == '0.00'
    assert row.find_all('td')[8].get_text(strip=True) == '$27,794.52 MXN'


def test_a_second_tab_may_pay_what_is_still_left(payer, portal, banks):
    first_tab = confirmation(payer, 'bbva', {'6212976': ('mxn', '20000.00')})
    second_tab = confirmation(payer, 'bbva', {'6212976': ('mxn', '7794.52')})
    third_tab = confirmation(payer, 'bbva', {'6212976': ('mxn', '0.01')})
    assert accept(first_tab).status_int == 200
    assert accept(second_tab).status_int == 200
    with nothing_changes(portal):
        assert IN_TRANSIT_MESSAGE in accept(third_tab, status=409).text
    assert str(in_transit(portal, '6212976')) == '27794.52'


def session_of(portal, banks, portal_mailer, first):
    client = new_payer(portal, banks)
    if first:
        client.sign_in_active()
    else:
        client.login(CANON, GOOD_PASSWORD)
    return client


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_concurrent_payments_of_one_invoice_reserve_it_once(payer, portal, banks, portal_mailer, bank,
                                                            caplog):
    sessions = [payer] + [session_of(portal, banks, portal_mailer, False) for _ in range(3)]
    tabs = [confirmation(client, bank, {'6212976': None, '1233080': None}) for client in sessions]
    barrier = threading.Barrier(len(tabs))
    answers, errors = [], []

    def click(tab):
        try:
            barrier.wait(timeout=10)
            answers.append(accept(tab))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=click, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    statuses = sorted(a.status_int for a in answers)
    assert 500 not in statuses
    won = [a for a in answers if a.status_int in (200, 303)]
    lost = [a for a in answers if a.status_int == 409]
    assert len(won) == 1 and len(lost) == len(tabs) - 1, statuses
    assert all(IN_TRANSIT_MESSAGE in a.text or 'ya no tiene saldo' in a.text for a in lost)
    assert str(in_transit(portal, '6212976')) == '27794.52'
    assert str(in_transit(portal, '1233080')) == '312.62'
    counter = with_root(portal, lambda root: root.payment_counter.value)
    assert counter == 229 and state_of(portal) == 'pending'


def test_concurrent_partial_payments_never_reserve_more_than_the_balance(payer, portal, banks,
                                                                         portal_mailer):
    sessions = [payer] + [session_of(portal, banks, portal_mailer, False) for _ in range(3)]
    # Four payments of 9,000.00 on 27,794.52: three fit, the fourth does not.
    tabs = [confirmation(client, 'bbva', {'6212976': ('mxn', '9000.00')}) for client in sessions]
    barrier = threading.Barrier(len(tabs))
    answers = []

    def click(tab):
        barrier.wait(timeout=10)
        answers.append(accept(tab).status_int)

    threads = [threading.Thread(target=click, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [200, 200, 200, 409]
    assert str(in_transit(portal, '6212976')) == '27000.00'
    references = with_root(portal, lambda root: sorted(root.pending_payments.keys()))
    assert references == ['229', '230', '231']


# -- ConflictError retries -------------------------------------------------------------------

class ConflictOnVote:
    """Joins a transaction and makes its commit fail as a ZODB write conflict would."""

    def __init__(self, manager):
        self.transaction_manager = manager

    def sortKey(self):
        return '~conflict-on-vote'

    def tpc_vote(self, txn):
        raise ConflictError('forced conflict on the first attempt')

    def abort(self, txn):
        pass

    tpc_begin = commit = tpc_abort = tpc_finish = abort


def conflict_once(monkeypatch, name):
    """Make the first call of ``payments.<name>`` end in a ConflictError at commit."""
    original = getattr(payments, name)
    calls = []

    def flaky(root, *args, **kwargs):
        calls.append(1)
        result = original(root, *args, **kwargs)
        if len(calls) == 1:
            root._p_jar.transaction_manager.get().join(ConflictOnVote(root._p_jar.transaction_manager))
        return result

    monkeypatch.setattr(payments, name, flaky)
    return calls


class CountingTransport(httpx.BaseTransport):
    """Counts the portal's server-to-server requests to the bank site."""

    def __init__(self, inner):
        self.inner = inner
        self.requests = []

    def handle_request(self, request):
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(request)


@pytest.fixture
def counted(tmp_path, banks, frozen_clock):
    """A portal whose bank calls are counted; returns (portal, transport)."""
    transport = CountingTransport(httpx.WSGITransport(app=banks.site))
    return make_paying_portal(tmp_path, banks, **{'canonportal.bank_transport': transport}), transport


def test_a_conflict_on_the_pay_request_does_not_call_the_bank_twice(counted, banks,
                                                                    monkeypatch):
    portal, transport = counted
    portal_mailer = get_mailer(portal.registry)
    client = new_payer(portal, banks)
    client.sign_in_active()
    portal_mailer.outbox.clear()
    calls = conflict_once(monkeypatch, 'create_payment')
    answer = accept(confirmation(client, 'banamex', dict.fromkeys(MANUAL_SELECTION)))
    assert len(calls) == 2                               # the request was retried
    assert answer.status_int == 303 and answer.location.startswith('https://bank.test/sandbox/banamex/checkout/')
    sessions = [r for r in transport.requests if r[0] == 'POST' and r[1].endswith('/session')]
    assert len(sessions) == 1
    assert len(banks.banamex.sessions) == 1
    assert portal_mailer.outbox == []
    assert with_root(portal, lambda root: root.payment_counter.value) == 229
    assert str(in_transit(portal, '6212976')) == '27794.52'      # reserved once
    # And the customer pays normally.
    back = client.at_bank(answer)
    banks.wait_for_deliveries()
    assert 'Pago aprobado' in result_page(client, back).text


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_conflict_on_a_notification_does_not_mail_twice(payer, portal, banks, portal_mailer, bank,
                                                          bank_server, monkeypatch):
    misbehave(banks, bank, 'drop', 'no_return')
    payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))))
    assert state_of(portal) == 'pending'
    calls = conflict_once(monkeypatch, 'settle')
    if bank == 'bbva':
        answer = bank_server.post('/banco/bbva/notificacion', bank_answer(banks))
    else:
        answer = bank_server.post_json('/banco/banamex/notificacion', {'order': {'id': FIRST}},
                                       headers={'X-Notification-Secret': BANAMEX_WEBHOOK_SECRET})
    assert answer.status_int == 200 and len(calls) == 2
    assert state_of(portal) == 'approved' and len(transitions(portal)) == 1
    assert len(receipts(portal_mailer)) == 1
    payer.get(RESULT)
    assert len(receipts(portal_mailer)) == 1


# -- the bank cannot be reached --------------------------------------------------------------

def test_citibanamex_unreachable_at_start_cancels_and_releases(payer, portal, banks, portal_mailer):
    banks.behave('banamex', 'timeout')
    answer = accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION)), status='*')
    assert answer.status_int == 503
    assert 'El banco no respondió' in answer.text and 'No se hizo ningún cargo' in answer.text
    payment = payment_of(portal)
    assert payment['state'] == 'cancelled' and not payment['pending'] and in_progress(portal) == []
    assert all(str(in_transit(portal, f)) == '0.00' for f in ('6212976', '1233076', '1233080'))
    # The customer can try again once the bank is back.
    banks.behave('banamex', 'normal')
    again = accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION)))
    assert again.status_int == 303 and state_of(portal, '230') == 'pending'


def test_bbva_timing_out_leaves_the_payment_waiting(payer, portal, banks):
    banks.behave('bbva', 'timeout')
    answer = accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION)))
    form = answer.html.find('form', id='bank-form')
    fields = {i['name']: i.get('value', '') for i in form.find_all('input')}
    refused = banks.browser.post(urlsplit(form['action']).path, fields, status=504)
    assert 'Tiempo de espera agotado' in refused.text
    page = payer.get(RESULT)
    assert 'Esperando la confirmación del banco' in page.text and state_of(portal) == 'pending'


# -- GET changes nothing; receipts; other customers --------------------------------------------

def portal_links(page):
    for anchor in page.html.find_all('a', href=True):
        href = anchor['href']
        target = urlsplit(href)
        if target.netloc in ('', 'portal.example.mx') and target.path.startswith('/customers/'):
            yield target.path + ('?' + target.query if target.query else '')


def test_crawling_the_pages_with_get_changes_nothing(payer, portal, banks, portal_mailer):
    back = payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    banks.wait_for_deliveries()
    result_page(payer, back)                                            # 229 approved
    payer.at_bank(accept(confirmation(payer, 'banamex', {'1233076': None})), expiry='05/39')
    banks.wait_for_deliveries()                                         # 230 declined
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'1233080': None})))   # 231 pending
    seen, queue = set(), [SALDOS, HISTORY, RESULT, f'/customers/{CANON}/payments/230',
                          f'/customers/{CANON}/payments/231']
    with nothing_changes(portal):
        while queue and len(seen) < 60:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = payer.get(path, status='*')
            assert response.status_int in (200, 302, 303, 404), (path, response.status)
            if response.content_type == 'text/html' and response.status_int == 200:
                queue.extend(link for link in portal_links(response) if link not in seen)
    assert {RESULT + '/@@recibo', RESULT + '/@@recibo.pdf'} <= {p.rstrip('/') for p in seen}


def test_the_receipt_page_and_pdf_exist_for_approved_payments_only(payer, portal, banks):
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    payer.get(RESULT + '/@@recibo', status=404)
    payer.get(RESULT + '/@@recibo.pdf', status=404)
    banks.behave('bbva', 'normal', reset='1')
    # Declined: no receipt either.
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6213050': None})), expiry='05/39')
    payer.get(f'/customers/{CANON}/payments/230/@@recibo', status=404)
    payer.get(f'/customers/{CANON}/payments/230/@@recibo.pdf', status=404)
    # Approved: page and PDF.
    back = payer.at_bank(accept(confirmation(payer, 'banamex', {'6213050': None})))
    banks.wait_for_deliveries()
    result = result_page(payer, back)
    assert 'Pago aprobado' in result.text
    page = payer.get(f'/customers/{CANON}/payments/231/@@recibo')
    text = ' '.join(page.text.split())
    assert 'Recibo de pago' in text and '231' in text and CANON in text
    assert re.search(r'BC-Banamex [0-9A-Za-z]{6}', text)
    pdf = payer.get(f'/customers/{CANON}/payments/231/@@recibo.pdf')
    assert pdf.content_type == 'application/pdf' and pdf.body.startswith(b'%PDF')
    assert pdf.headers['Content-Disposition'].startswith('attachment;')
    assert f'recibo-{CANON}-231.pdf' in pdf.headers['Content-Disposition']


def test_another_customer_sees_nothing_of_canons_payments(payer, portal, banks, portal_mailer):
    back = payer.at_bank(accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION))))
    banks.wait_for_deliveries()
    other = new_payer(portal, banks)
    other.sign_in_active(rfc=IXTAPA)
    with nothing_changes(portal):
        for path in (RESULT, RESULT + '/@@recibo', RESULT + '/@@recibo.pdf'):
            denied = other.get(path, status='*')
            assert denied.status_int in (403, 404), path
            assert 'BC-Banamex' not in denied.text and '36,870.80' not in denied.text
        # Canon's bank return URL tells another customer nothing, not even whose it is.
        for path in (f'/banco/banamex/retorno/{FIRST}', back.request.path_qs):
            answer = other.get(path, status='*')
            assert answer.status_int == 303
            assert urlsplit(answer.location).path == '/' and CANON not in answer.text
        shown = other.get(RESULT, status='*')
        assert shown.status_int == 403
        assert 'BC-Banamex' not in shown.text and '36,870.80' not in shown.text
        own = other.get(f'/customers/{IXTAPA}/historial-de-pagos')
        assert f'payments/{FIRST}' not in own.text and 'BC-Banamex' not in own.text
    # Anonymous visitors are sent to sign in.
    anonymous = webtest.TestApp(portal, extra_environ=dict(HOST))
    assert anonymous.get(RESULT, status='*').status_int == 302


def test_the_receipt_goes_to_the_address_the_activation_link_reached(portal, banks, portal_mailer):
    client = new_payer(portal, banks)
    client.sign_in_active(email='tesoreria@canon-cliente.mx')   # the ERP's address
    portal_mailer.outbox.clear()
    back = client.at_bank(accept(confirmation(client, 'bbva', {'6212976': None})))
    assert 'Pago aprobado' in result_page(client, back).text
    assert [m.recipients for m in receipts(portal_mailer)] == [['tesoreria@canon-cliente.mx']]


def test_pay_is_a_post_with_csrf_and_the_bank_endpoints_are_the_exempt_ones(payer, portal,
                                                                           bank_server):
    confirm = confirmation(payer, 'bbva', {'6212976': None})
    fields = [(k, v) for k, v in confirm.forms[len(confirm.forms) - 1].submit_fields()
              if k != 'csrf_token'] + [('confirmado', '1')]
    with nothing_changes(portal):
        assert payer.post(f'/customers/{CANON}/pagar', fields, status=400).status_int == 400
    # Bank endpoints need no CSRF token but also give nothing away without a known payment.
    with nothing_changes(portal):
        assert bank_server.post('/banco/bbva/retorno/12345', {'x': '1'},
                                status='*').status_int == 404
        assert bank_server.get('/banco/nobank/retorno/229', status='*').status_int == 404
        assert bank_server.get('/banco/bbva/notificacion', status='*').status_int == 404


def test_an_anonymous_return_reveals_no_owner_and_asks_no_bank(payer, portal, banks, bank_server,
                                                               monkeypatch):
    """GET /banco/<bank>/retorno/<reference> answered 303 to /customers/<RFC>/…, and each
    anonymous Citibanamex return cost a query to the bank (issue 11)."""
    from canonportal.gateways.banamex import BanamexGateway
    accept(confirmation(payer, 'banamex', dict.fromkeys(MANUAL_SELECTION)))
    asked = []
    real_retrieve = BanamexGateway._retrieve
    monkeypatch.setattr(BanamexGateway, '_retrieve',
                        lambda self, *args: asked.append(args) or real_retrieve(self, *args))
    stranger = new_payer(portal, banks)
    with nothing_changes(portal):
        for path in (f'/banco/banamex/retorno/{FIRST}?resultIndicator=x',
                     f'/banco/banamex/retorno/{FIRST}'):
            answer = stranger.get(path)
            assert answer.status_int == 303
            assert CANON not in answer.location and '/customers' not in answer.location
            assert CANON not in answer.text
    assert asked == []
    # Signing in then shows the payment, to its owner only.
    signed_in = stranger.login(CANON, GOOD_PASSWORD)
    assert urlsplit(signed_in.location).path.rstrip('/') == RESULT
    # The owner's own return still asks the bank at once.
    assert payer.get(f'/banco/banamex/retorno/{FIRST}').status_int == 303
    assert len(asked) == 1


def test_the_receipt_mail_attaches_the_receipt_pdf_and_says_which_invoices_were_partly_paid(
        payer, portal, banks, portal_mailer):
    import io

    import pypdf
    back = payer.at_bank(accept(confirmation(payer, 'bbva', {
        '6212976': ('mxn', '1000.00'), '1233076': None})))
    assert 'Pago aprobado' in result_page(payer, back).text
    [mail] = receipts(portal_mailer)
    assert '6212976: $1,000.00 MXN, pagada parcialmente' in mail.body
    paid_in_full = next(line for line in mail.body.splitlines() if line.strip().startswith('1233076'))
    assert 'parcialmente' not in paid_in_full
    [pdf] = mail.attachments
    assert pdf.filename == f'recibo-{CANON}-{FIRST}.pdf' and pdf.content_type == 'application/pdf'
    text = ''.join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert FIRST in text and '6212976' in text and '1233076' in text
    # The same document as the payment page offers.
    assert payer.get(RESULT + '/@@recibo.pdf').body[:5] == b'%PDF-'


def test_the_page_that_sends_the_browser_to_bbva_shows_no_menu(payer):
    answer = accept(confirmation(payer, 'bbva', {'6212976': None}))
    assert answer.html.find('form', id='bank-form') is not None
    assert answer.html.find('nav', class_='menu') is None
    assert payer.get(SALDOS).html.find('nav', class_='menu') is not None


# -- a payment in progress: the banner, "Continuar el pago" and "Cancelar el pago" ----------------

def banner(page):
    return page.html.select_one('section.in-progress')


def test_an_abandoned_payment_is_named_on_every_page_and_cancelling_frees_its_invoices_at_once(
        payer, portal, banks, bank_server):
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    assert state_of(portal) == 'pending' and in_transit(portal, '6212976') > 0
    assert in_progress(portal) == [FIRST]
    for path in (SALDOS, HISTORY, f'/customers/{CANON}/facturas', f'/customers/{CANON}/estados-de-cuenta'):
        shown = banner(payer.get(path))
        assert shown is not None, path
        assert ' '.join(shown.p.get_text().split()) == (
            f'Pago {FIRST} por $36,870.80 MXN en proceso en BBVA Bancomer.')
    form = next(f for f in payer.get(SALDOS).forms.values() if f.action.endswith('/cancelar'))
    back = form.submit(status=303)
    assert back.location.endswith('/saldos')
    page = back.follow()
    assert f'Pago {FIRST} cancelado' in page.text and banner(page) is None
    payment = payment_of(portal)
    assert payment['state'] == 'cancelled' and not payment['pending']
    assert in_progress(portal) == []
    assert 'cancelled by the customer' in payment['notes']
    assert all(str(in_transit(portal, f)) == '0.00' for f in MANUAL_SELECTION)
    # The bank's approval arriving later is not lost: the payment goes to review.
    answer = bank_answer(banks)
    assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', answer, status=303)
    assert state_of(portal) == 'review'


def others_pending(root, count):
    """``count`` payments of Ixtapa pending at BBVA, listed as the payment service lists them."""
    from canonportal import clock
    from canonportal.resources import Allocation, Payment
    from canonportal.money import to_money
    ixtapa = root.customers[IXTAPA]
    references = []
    for _ in range(count):
        reference = root.next_payment_reference()
        payment = Payment(reference, IXTAPA, 'bbva', [Allocation(
            'X-1', ixtapa.accounts[0], 'MXN', to_money('10.00'), to_money('10.00'))],
            created=clock.utcnow())
        ixtapa.add_payment(payment)
        payments.track_in_progress(root, ixtapa, payment)
        references.append(reference)
    return references


def test_the_banner_reads_only_the_customers_own_payments_in_progress(
        payer, portal, banks, monkeypatch):
    """Other customers' pending payments cost a customer's page nothing: none is shown, and
    none is even loaded from the database (only the customer's own index is read)."""
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    theirs = with_root(portal, lambda root: others_pending(root, 30))
    assert with_root(portal, lambda root: len(root.pending_payments)) == 31    # all listed there
    assert in_progress(portal, IXTAPA) == sorted(theirs, key=int)
    loaded = payments_loaded(monkeypatch)
    for path in (SALDOS, HISTORY, f'/customers/{CANON}/facturas'):
        database_of(portal).cacheMinimize()         # every payment a ghost again
        loaded.clear()
        shown = banner(payer.get(path))
        assert ' '.join(shown.p.get_text().split()) == (
            f'Pago {FIRST} por $36,870.80 MXN en proceso en BBVA Bancomer.'), path
        assert len(shown.select('.in-progress-item')) == 1
        assert FIRST in loaded and not set(loaded) & set(theirs), (path, loaded)


def test_saldos_names_the_approved_payment_holding_a_row_without_loading_it(
        payer, portal, banks, monkeypatch):
    """An approved payment holds its invoices until the ERP applies it: SALDOS says which,
    and asks only the customer's index of payments in progress whether it is a request."""
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved' and in_progress(portal) == []
    loaded = payments_loaded(monkeypatch)
    database_of(portal).cacheMinimize()
    row = payer.get(SALDOS).html.select_one('tr[data-key="6212976"]')
    assert row.select_one('.held-by').get_text(' ', strip=True) == f'en proceso: pago {FIRST}'
    assert loaded == []


def test_a_payment_page_is_headed_by_what_the_payment_is_now(payer, portal, banks, bank_server):
    """Waiting at the bank, then the result: never "Resultado del pago" before there is one."""
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    page = payer.get(f'{RESULT}/')
    assert page.html.find('h1').get_text(strip=True) == f'Pago {FIRST} en proceso en el banco'
    assert page.html.find('title').get_text(strip=True).startswith(f'Pago {FIRST} en proceso')
    # A card payment's banner sends the customer back to the bank, from its own page too.
    assert any(f.action.endswith('/continuar') for f in page.forms.values())
    assert bank_server.post(f'/banco/bbva/retorno/{FIRST}', bank_answer(banks), status=303)
    page = payer.get(f'{RESULT}/')
    assert page.html.find('h1').get_text(strip=True) == f'Resultado del pago {FIRST}'
    assert page.html.find('h2').get_text(strip=True) == 'Pago aprobado'


def test_continuar_sends_the_customer_back_to_the_same_bbva_order(payer, portal, banks):
    banks.behave('bbva', 'no_return')
    first = accept(confirmation(payer, 'bbva', {'6212976': None}))
    first_fields = {i['name']: i.get('value', '') for i in first.html.find('form', id='bank-form').find_all('input')}
    form = next(f for f in payer.get(SALDOS).forms.values() if f.action.endswith('/continuar'))
    again = form.submit(status=200)
    fields = {i['name']: i.get('value', '') for i in again.html.find('form', id='bank-form').find_all('input')}
    assert fields == first_fields                     # the same order, amount and signature
    assert again.html.find('nav', class_='menu') is None
    assert payment_of(portal)['state'] == 'pending'
    assert with_root(portal, lambda root: root.payment_counter.value) == int(FIRST)


def test_continuar_returns_to_the_open_citibanamex_session_while_it_is_valid(
        payer, portal, banks, frozen_clock):
    first = accept(confirmation(payer, 'banamex', {'6212976': None}))
    assert first.status_int == 303
    form = next(f for f in payer.get(SALDOS).forms.values() if f.action.endswith('/continuar'))
    assert form.submit(status=303).location == first.location
    for _ in range(2):                                 # the bank's session is over
        frozen_clock.advance(minutes=28)               # (the portal's is kept alive)
        payer.get(SALDOS)
    form = next(f for f in payer.get(SALDOS).forms.values() if f.action.endswith('/continuar'))
    late = form.submit(status=303)
    assert late.location.rstrip('/').endswith(f'/payments/{FIRST}')
    assert 'ya no se puede continuar' in payer.get(urlsplit(late.location).path).text


def test_nobody_else_continues_or_cancels_a_payment(payer, portal, banks):
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    stranger = new_payer(portal, banks)
    stranger.sign_in_active(rfc=IXTAPA)
    token = stranger.csrf()
    with nothing_changes(portal):
        for action in ('cancelar', 'continuar'):
            stranger.post(f'{RESULT}/{action}', {'csrf_token': token}, status=403)
        # Nor by a GET, nor without the CSRF token.
        payer.get(f'{RESULT}/cancelar', status=404)
        payer.post(f'{RESULT}/cancelar', {}, status=400)
    assert state_of(portal) == 'pending'


def test_cancelling_a_payment_that_is_no_longer_pending_changes_nothing(payer, portal, banks):
    back = payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved'
    token = payer.csrf()
    with nothing_changes(portal):
        answer = payer.post(f'{RESULT}/cancelar', {'csrf_token': token}, status=303)
    assert answer.location.rstrip('/').endswith(f'/payments/{FIRST}')
    assert state_of(portal) == 'approved'


def test_reintentar_restores_the_declined_selection_and_amounts_on_saldos(payer, portal, banks):
    back = payer.at_bank(accept(confirmation(payer, 'banamex', {
        '6212976': ('mxn', '1000.00'), '1233076': None})), expiry='05/39')
    banks.wait_for_deliveries()
    assert state_of(portal) == 'declined'
    page = payer.get(RESULT)
    assert 'El banco rechazó el pago' in page.text
    retry = page.html.find('a', string='Reintentar')
    saldos = payer.get(urlsplit(retry['href']).path + '?' + urlsplit(retry['href']).query)
    ticked = sorted(box['value'] for box in saldos.html.select('input[name=pick][checked]'))
    assert ticked == ['1233076', '6212976']
    form = saldos.forms['saldos-form']
    assert form['mxn-6212976'].value == '1000.00'
    assert form['usd-1233076'].value == str(with_root(portal, lambda root: root.customers[CANON].invoices['1233076'].balance))
    # Only the customer's own failed payments: an approved one or another's restores nothing.
    assert payer.get(SALDOS, {'reintentar': '228'}).html.select('input[name=pick][checked]') == []
    assert payer.get(SALDOS, {'reintentar': 'x' * 99}).html.select('input[name=pick][checked]') == []


def test_a_row_held_whole_by_a_payment_in_progress_says_which_payment(payer, portal, banks):
    banks.behave('bbva', 'no_return')
    payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    row = payer.get(SALDOS).html.select_one('tr[data-key="6212976"]')
    assert row.select_one('input[name=pick]').has_attr('disabled')
    assert row.select_one('.held-by').get_text(' ', strip=True) == f'en proceso: pago {FIRST}'
    # A row with something left to pay stays selectable and says nothing more.
    assert payer.get(SALDOS).html.select_one('tr[data-key="1233074"] .held-by') is None
