"""canonportal-reconcile: lost notifications recovered, BBVA payments expired, late approvals reviewed.

The sandboxes are told to lose the notification (``drop``) and not to send the
browser back (``no_return``): nothing but the reconciliation (or the result
page's own check) can learn the outcome. Citibanamex is asked server to server
(retrieve order); BBVA has no query API, so its payments expire after the window.
"""
import datetime
import io

from pyramid_mailer import get_mailer

from canonportal.scripts import reconcile as script
from portal_support import CANON, GOOD_PASSWORD, database_of, nothing_changes, with_root
from payment_support import (
    BBVA_ACCOUNT, BBVA_SECRET, MANUAL_SELECTION, accept, bank_answer, confirmation, in_transit,
    in_progress, misbehave, payment_of, receipts, state_of,
)

MINUTES = datetime.timedelta(minutes=1)


def run(portal, now):
    """One cron run of canonportal-reconcile at ``now``; returns (counts, printed text)."""
    out = io.StringIO()
    counts = script.reconcile(database_of(portal), portal.registry.settings,
                              portal.registry.gateways, get_mailer(portal.registry),
                              now=now, out=out)
    return counts, out.getvalue()


def lost(payer, bank, folios, **card):
    """Pay at the bank while the notification is lost and the browser never comes back."""
    bank_page = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(folios))), **card)
    assert 'SANDBOX' in bank_page.text          # the browser stayed at the bank
    return bank_page


def test_lost_citibanamex_notifications_are_recovered_by_retrieving_the_orders(
        payer, portal, banks, portal_mailer, frozen_clock):
    misbehave(banks, 'banamex', 'drop', 'no_return')
    lost(payer, 'banamex', ['6212976'])                        # 229: approved at the bank
    lost(payer, 'banamex', ['1233076'])                        # 230: approved at the bank
    lost(payer, 'banamex', ['1233080'], expiry='05/39')        # 231: declined at the bank
    accept(confirmation(payer, 'banamex', {'6213050': None}))  # 232: never paid at all
    deliveries = banks.banamex.deliverer.entries()
    assert len(deliveries) == 3 and all(d.get('dropped') for d in deliveries)
    assert {state_of(portal, r) for r in ('229', '230', '231', '232')} == {'pending'}
    start = frozen_clock.now

    # Too early: nothing is asked yet (reconcile_after_minutes, 5 by default).
    with nothing_changes(portal):
        counts, _ = run(portal, start + 2 * MINUTES)
    assert counts == {}

    counts, printed = run(portal, start + 10 * MINUTES)
    assert counts == {'approved': 2, 'declined': 1, 'pending': 1}
    assert in_progress(portal) == ['232']
    assert 'payment 229: approved' in printed
    for reference in ('229', '230'):
        payment = payment_of(portal, reference)
        assert payment['state'] == 'approved' and not payment['pending']
        assert payment['history'][-1] == ('pending', 'approved', 'query')
        assert payment['bank_reference'].startswith('BC-Banamex ')
    assert state_of(portal, '231') == 'declined'
    assert str(in_transit(portal, '1233080')) == '0.00'         # declined: released
    assert str(in_transit(portal, '6212976')) == '27794.52'     # approved: kept
    sent = receipts(portal_mailer)
    assert sorted(m.subject for m in sent) == ['Recibo de pago 229', 'Recibo de pago 230']
    assert all(m.recipients == ['cme930812pw3@example.mx'] for m in sent)

    # Run again: nothing double.
    with nothing_changes(portal):
        counts, _ = run(portal, start + 15 * MINUTES)
        assert counts == {'pending': 1}
    assert len(receipts(portal_mailer)) == 2

    # The one never paid expires after the window and lets its invoice go.
    counts, _ = run(portal, start + 125 * MINUTES)
    assert counts == {'expired': 1}
    assert state_of(portal, '232') == 'expired'
    assert str(in_transit(portal, '6213050')) == '0.00'
    assert with_root(portal, lambda root: len(root.pending_payments)) == 0
    assert in_progress(portal) == []
    # And the customer sees each outcome.
    assert 'Pago aprobado' in payer.get(f'/customers/{CANON}/payments/229').text
    assert 'El pago expiró' in payer.get(f'/customers/{CANON}/payments/232').text


def test_a_lost_bbva_post_back_expires_after_the_window_and_releases_the_invoices(
        payer, portal, banks, portal_mailer, frozen_clock):
    misbehave(banks, 'bbva', 'drop', 'no_return')
    lost(payer, 'bbva', MANUAL_SELECTION)
    start = frozen_clock.now
    counts, _ = run(portal, start + 10 * MINUTES)
    assert counts == {'pending': 1} and state_of(portal) == 'pending'
    assert str(in_transit(portal, '6212976')) == '27794.52'

    counts, printed = run(portal, start + 121 * MINUTES)
    assert counts == {'expired': 1}
    payment = payment_of(portal)
    assert payment['state'] == 'expired' and payment['history'][-1][2] == 'reconciliation'
    assert all(str(in_transit(portal, f)) == '0.00' for f in MANUAL_SELECTION)
    assert receipts(portal_mailer) == []

    # The bank's approval, correctly signed, arrives after all: review, invoices held again.
    late = bank_answer(banks, '229')
    answer = banks.bbva.deliverer.post('https://portal.example.mx/banco/bbva/retorno/229', '229',
                                       data=late)
    assert answer['status'] == 303
    payment = payment_of(portal)
    assert payment['state'] == 'review'
    assert payment['history'][-1][:2] == ('expired', 'review')
    assert 'after the payment was expired' in payment['notes'][-1]
    assert payment['bank_reference'] == f'BBVA {late["mp_authorization"]}'
    assert str(in_transit(portal, '6212976')) == '27794.52'
    assert receipts(portal_mailer) == []
    page = payer.get(f'/customers/{CANON}/payments/229')
    assert 'Pago en revisión' in page.text and 'no vuelva a pagar estas facturas' in page.text
    # A copy of it changes nothing more.
    with nothing_changes(portal):
        banks.bbva.deliverer.post('https://portal.example.mx/banco/bbva/notificacion', '229', data=late)


def test_the_result_page_expires_its_own_bbva_payment_after_the_window(
        payer, portal, banks, frozen_clock):
    misbehave(banks, 'bbva', 'drop', 'no_return')
    lost(payer, 'bbva', ['6212976'])
    frozen_clock.advance(minutes=20)
    page = payer.get(f'/customers/{CANON}/payments/229')
    assert 'Esperando la confirmación del banco' in page.text and page.headers['Refresh'] == '5'
    frozen_clock.advance(minutes=100)
    payer.login(CANON, GOOD_PASSWORD)      # the idle session ended meanwhile
    page = payer.get(f'/customers/{CANON}/payments/229')
    assert 'El pago expiró' in page.text and 'Refresh' not in page.headers
    assert str(in_transit(portal, '6212976')) == '0.00'


def test_a_late_approval_for_a_released_invoice_paid_again_holds_only_what_is_free(
        payer, portal, banks, portal_mailer, frozen_clock):
    misbehave(banks, 'bbva', 'drop', 'no_return')
    lost(payer, 'bbva', ['6212976'])
    run(portal, frozen_clock.now + 121 * MINUTES)
    assert state_of(portal, '229') == 'expired'
    # The customer pays the invoice again, this time it goes through.
    misbehave(banks, 'bbva', 'normal')
    back = payer.at_bank(accept(confirmation(payer, 'bbva', {'6212976': None})))
    assert back.status_int == 303 and state_of(portal, '230') == 'approved'
    # Then the first approval arrives: review; the invoice cannot hold more than its balance.
    banks.bbva.deliverer.post('https://portal.example.mx/banco/bbva/retorno/229', '229',
                              data=bank_answer(banks, '229'))
    assert state_of(portal, '229') == 'review'
    assert str(in_transit(portal, '6212976')) == '27794.52'
    assert len(receipts(portal_mailer)) == 1


def test_a_bank_that_cannot_be_reached_leaves_the_payment_for_the_next_run(
        payer, portal, banks, frozen_clock):
    misbehave(banks, 'banamex', 'drop', 'no_return')
    lost(payer, 'banamex', ['6212976'])
    # The bank's site goes away (whatever answers there is not the order API).
    banks.site.mounts = [(prefix, app) for prefix, app in banks.site.mounts
                         if prefix != '/sandbox/banamex']
    with nothing_changes(portal):
        counts, printed = run(portal, frozen_clock.now + 10 * MINUTES)
        assert counts == {'bank unreachable': 1} and '229' in printed
    # Not even after the expiry window: the bank may have taken the money.
    with nothing_changes(portal):
        counts, _ = run(portal, frozen_clock.now + 300 * MINUTES)
    assert counts == {'bank unreachable': 1}


INI = """\
[app:main]
use = egg:canonportal
zodbconn.uri = file://{folder}/Data.fs?blobstorage_dir={folder}/blobs
mail.default_sender = portal@example.mx
mail.queue_path = {folder}/mail
canonportal.public_url = https://portal.example.mx
canonportal.session_secret = reconcile-test-secret-0123456789abcdefghijklmnop
canonportal.banks = bbva
canonportal.payment_expire_minutes = 60
canonportal.reconcile_after_minutes = 5
bbva.endpoint_url = https://bank.test/sandbox/bbva/clb/endpoint/canon
bbva.account = {account}
bbva.secret = {secret}
"""


def test_the_console_script_reads_the_ini_file(tmp_path, payer, portal, banks, frozen_clock,
                                               capsys):
    misbehave(banks, 'bbva', 'drop', 'no_return')
    lost(payer, 'bbva', ['6212976'])
    database_of(portal).close()     # the script opens the FileStorage itself
    ini = tmp_path / 'reconcile.ini'
    ini.write_text(INI.format(folder=tmp_path, account=BBVA_ACCOUNT, secret=BBVA_SECRET))
    frozen_clock.advance(minutes=30)
    assert script.main([str(ini)]) == 0
    assert 'reconciled: pending: 1' in capsys.readouterr().out
    frozen_clock.advance(minutes=31)      # past the ini's 60-minute window
    assert script.main([str(ini)]) == 0
    assert 'reconciled: expired: 1' in capsys.readouterr().out
    assert script.main([str(ini)]) == 0
    assert 'reconciled: nothing pending' in capsys.readouterr().out


def test_the_running_server_reconciles_when_the_script_asks_with_the_token(
        payer, portal, banks, portal_mailer, frozen_clock):
    """The embedded FileStorage admits one process: canonportal-reconcile then asks the
    server that holds it (POST /reconciliar with a token derived from the session secret)."""
    from canonportal.localonly import RECONCILE, TOKEN_HEADER, script_token
    misbehave(banks, 'banamex', 'drop', 'no_return')
    lost(payer, 'banamex', ['6212976'])
    frozen_clock.advance(minutes=10)
    script = {'REMOTE_ADDR': '127.0.0.1'}      # straight to waitress (tests/test_localonly.py)
    with nothing_changes(portal):
        forged = payer.post('/reconciliar', headers={TOKEN_HEADER: 'not-the-token'}, status=403,
                            extra_environ=script)
        payer.post('/reconciliar', status=403, extra_environ=script)
    assert forged.text == 'forbidden\n' and state_of(portal, '229') == 'pending'
    answer = payer.post('/reconciliar', headers={TOKEN_HEADER: script_token(portal.registry.settings, RECONCILE)},
                        extra_environ=script)
    assert 'payment 229: approved' in answer.text
    assert state_of(portal, '229') == 'approved'
    assert [m.subject for m in receipts(portal_mailer)] == ['Recibo de pago 229']
