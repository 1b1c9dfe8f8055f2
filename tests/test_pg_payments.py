"""Payments through two app servers on one PostgreSQL database.

Payers race for one invoice through both servers at once; the bank's
notification lands on the server that did not start the payment; many
customers pay at the same moment. The database decides: an invoice is never
reserved beyond its balance, exactly the payments that went to the bank hold
it, and no customer sees a server error while conflicts can still be retried.
"""
from decimal import Decimal

import pytest

from portal_support import GOOD_PASSWORD
from server_support import (
    Browser, add_customer, on, pay, pay_at_bank, requires_postgres, run_at_once)

pytestmark = requires_postgres

RACER = 'PGP010101AB1'
NOTIFIED = 'PGN010101AB2'
CROWD = [f'PGC0101{n:02d}AB{n % 10}' for n in range(1, 7)]
IN_TRANSIT = 'ya tiene un pago en tránsito'


@pytest.fixture(scope='module', autouse=True)
def customers(cluster):
    def work(root):
        add_customer(root, RACER, [('8100001', '10000.00'), ('8100002', '1000.00')],
                     password=GOOD_PASSWORD)
        add_customer(root, NOTIFIED, [('8200001', '2500.00')], password=GOOD_PASSWORD)
        for number, rfc in enumerate(CROWD, start=1):
            add_customer(root, rfc, [(f'83000{number:02d}', '3000.00')], password=GOOD_PASSWORD)
    cluster.write(work)


@pytest.fixture(autouse=True)
def servers_stay_healthy(cluster):
    """No test may leave an unexpected error (a logged traceback) in a server's log."""
    yield
    assert cluster.a.errors() == [] and cluster.b.errors() == []


def signed_in(server, rfc):
    browser = Browser()
    assert browser.sign_in(server, rfc, GOOD_PASSWORD).status_code == 303
    return browser


def invoice_facts(cluster, rfc, folio):
    """(balance, {payment reference: reserved amount}, references of the customer's payments)."""
    def work(root):
        customer = root.customers[rfc]
        invoice = customer.invoices[folio]
        held = {}
        for reference, amount in invoice.reservations:
            held[reference] = held.get(reference, Decimal(0)) + amount
        return invoice.balance, held, set(customer.payments.keys())
    return cluster.read(work)


def race(cluster, rfc, folio, amount, racers=6):
    """``racers`` tabs of one signed-in customer pay ``amount`` of one invoice at once,
    alternately through A and B; returns (won, lost) responses."""
    browser = signed_in(cluster.a, rfc)
    csrf = browser.csrf(cluster.a)
    tabs = [(browser.copy(), cluster.servers[n % 2]) for n in range(racers)]
    answers = run_at_once([
        (lambda tab=tab, server=server: pay(tab, server, rfc, {folio: amount}, csrf=csrf))
        for tab, server in tabs])
    failures = [a for a in answers if isinstance(a, Exception)]
    assert failures == []
    statuses = [a.status_code for a in answers]
    assert all(status < 500 for status in statuses), statuses
    won = [a for a in answers if a.status_code == 303]
    lost = [a for a in answers if a.status_code == 409]
    assert len(won) + len(lost) == racers, statuses
    assert all(IN_TRANSIT in a.text for a in lost)
    return won, lost


def test_payers_racing_through_both_servers_for_a_whole_invoice_reserve_it_once(cluster):
    won, lost = race(cluster, RACER, '8100001', '10000.00')
    assert (len(won), len(lost)) == (1, 5)
    went_to_bank = {cluster.bank.order_of(a.headers['location']) for a in won}
    balance, held, payments = invoice_facts(cluster, RACER, '8100001')
    assert held == {reference: balance for reference in went_to_bank}
    assert payments == went_to_bank          # no payment was left behind by a refused racer


def test_partial_payments_racing_through_both_servers_never_exceed_the_balance(cluster):
    # Six payments of 300.00 on 1,000.00: three fit, whichever server they went through.
    won, lost = race(cluster, RACER, '8100002', '300.00')
    assert (len(won), len(lost)) == (3, 3)
    went_to_bank = {cluster.bank.order_of(a.headers['location']) for a in won}
    balance, held, _payments = invoice_facts(cluster, RACER, '8100002')
    assert held == dict.fromkeys(went_to_bank, Decimal('300.00'))
    assert sum(held.values()) == Decimal('900.00') <= balance


def test_the_bank_notification_landing_on_the_other_server_settles_the_payment(cluster):
    a, b, bank = cluster.a, cluster.b, cluster.bank
    browser = signed_in(a, NOTIFIED)
    started = pay(browser, a, NOTIFIED, {'8200001': '2500.00'})
    assert started.status_code == 303, started.text[:2000]
    reference = bank.order_of(started.headers['location'])
    # The customer's browser never comes back: only the webhook (to B) can tell the portal.
    bank.banamex.switches.set(['no_return'], order=reference)
    stranded = pay_at_bank(browser, bank, started.headers['location'])
    assert 'No fue posible regresar al comercio' in stranded.text
    bank.banamex.deliverer.wait(timeout=30)
    assert [(d['url'], d.get('status')) for d in bank.deliveries(reference)] == [
        (b.url('/banco/banamex/notificacion'), 200)]

    def facts(root):
        payment = root.payments_by_reference[reference]
        return payment.state, payment.history[-1][3]
    assert cluster.read(facts) == ('approved', 'notification')
    # B mailed the receipt; A, where the payment started, shows it approved.
    subject = f'Recibo de pago {reference}'
    assert [s for _to, s, _body in b.mails() if s == subject] == [subject]
    assert [s for _to, s, _body in a.mails() if s == subject] == []
    result = browser.get(a.url(f'/customers/{NOTIFIED}/payments/{reference}'))
    assert result.status_code == 200 and 'Pago aprobado' in result.text


def test_customers_paying_at_once_through_both_servers_all_get_their_payment(cluster):
    a, b, bank = cluster.a, cluster.b, cluster.bank
    counter_before = cluster.read(lambda root: root.payment_counter.value)
    payers = [(signed_in(cluster.servers[n % 2], rfc), cluster.servers[n % 2], rfc, f'83000{n + 1:02d}')
              for n, rfc in enumerate(CROWD)]
    csrf = [browser.csrf(server) for browser, server, _rfc, _folio in payers]
    started = run_at_once([
        (lambda browser=browser, server=server, rfc=rfc, folio=folio, token=token:
            pay(browser, server, rfc, {folio: '3000.00'}, csrf=token))
        for (browser, server, rfc, folio), token in zip(payers, csrf)])
    assert [getattr(s, 'status_code', s) for s in started] == [303] * len(CROWD)
    references = [bank.order_of(s.headers['location']) for s in started]
    # Every payment has its own number: the counter lives in the database.
    assert sorted(int(r) for r in references) == list(
        range(counter_before + 1, counter_before + 1 + len(CROWD)))

    def finish(browser, server, rfc, checkout):
        """Pay at the bank; the browser's return lands on the other server."""
        back = pay_at_bank(browser, bank, checkout)
        assert back.status_code == 303, back.text[:500]
        other = b if server is a else a
        landed = browser.get(on(other, back.headers['location']))
        result = browser.get(on(other, landed.headers['location']))
        return landed.status_code, result.status_code, 'Pago aprobado' in result.text

    finished = run_at_once([
        (lambda payer=payer, answer=answer: finish(*payer[:3], answer.headers['location']))
        for payer, answer in zip(payers, started)])
    assert finished == [(303, 200, True)] * len(CROWD)
    bank.banamex.deliverer.wait(timeout=30)
    deliveries = [d.get('status') for r in references for d in bank.deliveries(r)]
    assert deliveries == [200] * len(CROWD)

    def states(root):
        return {r: root.payments_by_reference[r].state for r in references}
    assert cluster.read(states) == dict.fromkeys(references, 'approved')
    for (_browser, _server, rfc, folio), reference in zip(payers, references):
        _balance, held, payments = invoice_facts(cluster, rfc, folio)
        assert held == {reference: Decimal('3000.00')} and payments == {reference}
