"""The approval rule counts what a person commits, not one form: a Captura user's payments
open or paid without an approver, on the same invoice or the same Mexico City day, add up
against the company's threshold (the demo: above $10,000.00), so splitting one payment
into several under it makes the one that passes it a request awaiting approval. The
approvers see those related payments on the request's page and in its mail."""
import datetime
import threading
from urllib.parse import urlsplit

import pytest
from pyramid_mailer import get_mailer

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from canonportal.passwords import hash_password
from canonportal.payments import approval_rule
from canonportal.payments.reconciliation import reconcile
from canonportal.resources.company_user import CAPTURA, PAGO, CompanyUser
from payment_support import (
    CANON, FIRST, accept, confirmation, in_transit, make_paying_portal, new_payer, state_of,
    with_root,
)
from spei_support import SpeiBanks, spei_settings

UTC = datetime.timezone.utc
SECOND, THIRD, FOURTH = (str(int(FIRST) + n) for n in (1, 2, 3))
PASSWORD = 'otra contraseña larga de prueba'
NINE = {'6212976': ('mxn', '9000.00')}          # of the $27,794.52 invoice


def payments_url(reference):
    return f'/customers/{CANON}/payments/{reference}/'


def sign_in(portal, banks, email=DEMO_CAPTURA_EMAIL, password=DEMO_CAPTURA_PASSWORD):
    client = new_payer(portal, banks)
    assert client.login(email, password).status_int == 303
    return client


def add_colleague(portal, email, name, role, accounts=()):
    def work(root):
        user = CompanyUser(email, name, role, accounts=accounts,
                           created=datetime.datetime(2026, 11, 1, tzinfo=UTC))
        user.__name__ = 'u' + email.split('@')[0]
        user.invited_by = CANON
        user.password_hash = hash_password(PASSWORD)
        root.customers[CANON].add_user(user)
    with_root(portal, work)


def pay(client, amounts, bank='bbva'):
    """SALDOS → bank → ACEPTAR: 'bank' (on the way to the bank) or 'request' (its page)."""
    answer = accept(confirmation(client, bank, amounts))
    if answer.status_int == 200 and answer.html.find('form', id='bank-form') is not None:
        return 'bank'
    assert answer.status_int == 303, answer.text[:500]
    path = urlsplit(answer.location).path
    if bank == 'spei' and 'espera aprobación' not in client.get(path).text:
        return 'bank'     # SPEI's "bank" is the instructions on the payment's page
    page = client.get(path)
    assert page.html.find('h2').get_text(strip=True) == 'Solicitud de pago: espera aprobación'
    return 'request'


def approval_mails(mailer):
    return [m for m in mailer.outbox if m.subject.endswith('por aprobar')]


def text_of(node):
    return ' '.join(node.get_text(' ').split())


def related_rows(page):
    section = page.html.find('section', class_='related-payments')
    if section is None:
        return None
    return [[text_of(td) for td in tr.find_all('td')] for tr in section.select('tbody tr')]


def related_heading(page):
    return text_of(page.html.find('section', class_='related-payments').find('p'))


def states(portal, *references):
    return [state_of(portal, reference) for reference in references]


# -- the attack of issue 20 ---------------------------------------------------------------------

def test_three_payments_of_9000_on_one_invoice_the_second_and_third_wait_for_approval(
        payer, portal, banks, portal_mailer):
    ana = sign_in(portal, banks)
    assert pay(ana, NINE) == 'bank'                    # $9,000.00: straight to the bank
    assert not approval_mails(portal_mailer)
    assert pay(ana, NINE) == 'request'                 # $18,000.00 committed
    assert pay(ana, NINE) == 'request'                 # $27,000.00 committed
    assert states(portal, FIRST, SECOND, THIRD) == ['pending', 'requested', 'requested']
    assert str(in_transit(portal, '6212976')) == '27000.00'

    # The approver (the RFC, administrator) sees on the third request what it adds to.
    page = payer.get(payments_url(THIRD))
    assert related_rows(page) == [
        [FIRST, '29/11/2026 12:00:00 p.m.', '$9,000.00 MXN', 'Pendiente de confirmación del banco'],
        [SECOND, '29/11/2026 12:00:00 p.m.', '$9,000.00 MXN', 'Esperando aprobación'],
    ]
    assert related_heading(page) == (
        'Pagos de Ana Compras sin aprobación que cuentan junto con esta solicitud para la '
        'regla de aprobación (en las mismas facturas o del mismo día); con ella suman '
        '$27,000.00 MXN:')
    assert page.html.find('section', class_='related-payments').find('a')['href'].endswith(
        payments_url(FIRST))

    # One mail per request to the approver, listing what came before it.
    second, third = approval_mails(portal_mailer)
    assert second.subject == f'Pago {SECOND} por aprobar' and second.recipients == [
        f'{CANON.lower()}@example.mx']
    assert (f'  Pago {FIRST} · 29/11/2026 12:00:00 p.m. · $9,000.00 MXN · '
            'Pendiente de confirmación del banco\n') in second.body
    assert 'con ella suman $18,000.00 MXN:' in second.body and f'Pago {SECOND} ·' not in second.body
    assert f'  Pago {SECOND} · 29/11/2026 12:00:00 p.m. · $9,000.00 MXN · Esperando aprobación\n' \
        in third.body and 'con ella suman $27,000.00 MXN:' in third.body

    # In English too.
    payer.post('/idioma', {'csrf_token': payer.csrf(), 'lang': 'en'})
    english = payer.get(payments_url(THIRD))
    assert english.html.find('h3', id='related-title').get_text(strip=True) == 'Related payments'
    assert 'they add up to $27,000.00 MXN' in related_heading(english)


def test_a_payment_paid_without_approval_counts(payer, portal, banks, portal_mailer):
    ana = sign_in(portal, banks)
    ana.at_bank(accept(confirmation(ana, 'bbva', NINE)))
    banks.wait_for_deliveries()
    assert state_of(portal, FIRST) == 'approved'
    assert pay(ana, NINE) == 'request'
    [mail] = approval_mails(portal_mailer)
    assert f'  Pago {FIRST} · 29/11/2026 12:00:00 p.m. · $9,000.00 MXN · Pagado\n' in mail.body


def test_a_spei_transfer_awaited_counts(tmp_path, frozen_clock):
    banks = SpeiBanks()
    portal = make_paying_portal(tmp_path, banks, **spei_settings())
    ana = sign_in(portal, banks)
    assert pay(ana, NINE, bank='spei') == 'bank'
    assert state_of(portal, FIRST) == 'pending'        # waiting for the transfer
    assert pay(ana, NINE) == 'request'


def test_splitting_across_two_invoices_on_one_day_waits_too(payer, portal, banks,
                                                           portal_mailer):
    ana = sign_in(portal, banks)
    assert pay(ana, NINE) == 'bank'
    assert pay(ana, {'1233080': None}) == 'request'    # $5,904.42: $14,904.42 that day
    assert states(portal, FIRST, SECOND) == ['pending', 'requested']
    [mail] = approval_mails(portal_mailer)
    assert 'con ella suman $14,904.42 MXN:' in mail.body


def test_two_payments_confirmed_at_once_by_one_person_count_each_other(
        portal, banks, monkeypatch):
    """Two tabs, ACEPTAR at the same moment: both decide before either commits; the
    reservations conflict and the one retried counts the other."""
    confirms = [confirmation(sign_in(portal, banks), 'bbva', NINE) for _ in range(2)]
    decide, both_decided, waited = approval_rule.decide, threading.Barrier(2, timeout=20), set()

    def decide_then_wait(*args, **kwargs):
        decision = decide(*args, **kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            both_decided.wait()
        return decision
    monkeypatch.setattr(approval_rule, 'decide', decide_then_wait)
    answers = []
    threads = [threading.Thread(target=lambda c=c: answers.append(accept(c))) for c in confirms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answer.status_int for answer in answers) == [200, 303]
    assert sorted(states(portal, FIRST, SECOND)) == ['pending', 'requested']


# -- what does not count -------------------------------------------------------------------------

def test_another_preparers_payments_do_not_count(payer, portal, banks, portal_mailer):
    add_colleague(portal, 'beto@example.com', 'Beto Compras', CAPTURA)
    beto = sign_in(portal, banks, 'beto@example.com', PASSWORD)
    assert pay(beto, NINE) == 'bank'
    assert pay(payer, NINE) == 'bank'                  # the administrator's own
    ana = sign_in(portal, banks)
    assert pay(ana, NINE) == 'bank'
    assert states(portal, FIRST, SECOND, THIRD) == ['pending'] * 3
    assert not approval_mails(portal_mailer)


def test_declined_cancelled_and_expired_payments_do_not_count(portal, banks, portal_mailer):
    ana = sign_in(portal, banks)
    ana.at_bank(accept(confirmation(ana, 'bbva', NINE)), expiry='05/39')     # declined
    banks.wait_for_deliveries()
    assert pay(ana, NINE) == 'bank'
    cancelled = ana.post(f'{payments_url(SECOND)}@@cancelar', {'csrf_token': ana.csrf()})
    assert cancelled.status_int == 303
    assert pay(ana, NINE) == 'bank'
    counts = reconcile(portal.registry._zodb_databases[''], portal.registry.settings,
                       portal.registry.gateways, get_mailer(portal.registry),
                       now=datetime.datetime(2026, 11, 29, 21, 0, tzinfo=UTC))
    assert counts == {'expired': 1}
    assert states(portal, FIRST, SECOND, THIRD) == ['declined', 'cancelled', 'expired']
    assert pay(ana, NINE) == 'bank'                    # alone: $9,000.00
    assert state_of(portal, FOURTH) == 'pending' and not approval_mails(portal_mailer)


def test_payments_an_approver_approved_do_not_count(payer, portal, banks, portal_mailer):
    ana = sign_in(portal, banks)
    assert pay(ana, {'6212976': ('mxn', '18000.00')}) == 'request'
    form = next(f for f in payer.get(payments_url(FIRST)).forms.values()
                if f.action.endswith('@@aprobar'))
    assert form.submit().status_int == 200             # approved, on its way to the bank
    assert state_of(portal, FIRST) == 'pending'
    portal_mailer.outbox.clear()
    assert pay(ana, NINE) == 'bank'
    assert state_of(portal, SECOND) == 'pending' and not approval_mails(portal_mailer)


def test_a_company_that_never_asks_for_approval_asks_for_none(portal, banks, portal_mailer):
    def never(root):
        root.customers[CANON].approval_policy = 'never'
    with_root(portal, never)
    ana = sign_in(portal, banks)
    assert [pay(ana, NINE) for _ in range(3)] == ['bank'] * 3
    assert not approval_mails(portal_mailer)


# -- the day in Mexico City ----------------------------------------------------------------------

def test_the_day_ends_at_midnight_in_mexico_city(payer, portal, banks, frozen_clock,
                                                 portal_mailer):
    frozen_clock.now = datetime.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)     # 00:00:00, the 29th
    assert pay(sign_in(portal, banks), NINE) == 'bank'
    frozen_clock.now = datetime.datetime(2026, 11, 30, 5, 59, 59, tzinfo=UTC)  # 23:59:59
    assert pay(sign_in(portal, banks), {'1233080': None}) == 'request'        # the same day
    frozen_clock.now = datetime.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)     # 00:00:00, the 30th
    ana = sign_in(portal, banks)
    assert pay(ana, {'1233076': None}) == 'bank'       # $3,171.86: another invoice and day
    # $1,500.00 more: with the $9,000.00 of the 29th on the same invoice (whatever the day)
    # and the $3,171.86 of this day; not the 29th's request on another invoice.
    assert pay(ana, {'6212976': ('mxn', '1500.00')}) == 'request'
    assert states(portal, FIRST, SECOND, THIRD, FOURTH) == [
        'pending', 'requested', 'pending', 'requested']
    last = approval_mails(portal_mailer)[-1]
    assert last.subject == f'Pago {FOURTH} por aprobar'
    assert f'Pago {FIRST} · 29/11/2026 12:00:00 a.m. · $9,000.00 MXN' in last.body
    assert f'Pago {THIRD} · 30/11/2026 12:00:00 a.m. · $3,171.86 MXN' in last.body
    assert f'Pago {SECOND} ·' not in last.body and 'con ella suman $13,671.86 MXN:' in last.body


def test_a_window_of_two_days_counts_yesterday(tmp_path, banks, frozen_clock):
    portal = make_paying_portal(tmp_path, banks, **{approval_rule.WINDOW_SETTING: '2'})
    new_payer(portal, banks).sign_in_active()          # the administrator, with an email
    mailer = get_mailer(portal.registry)
    frozen_clock.now = datetime.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)     # 00:00, the 29th
    assert pay(sign_in(portal, banks), NINE) == 'bank'
    frozen_clock.now = datetime.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)    # 17:00, the 30th
    assert pay(sign_in(portal, banks), {'1233080': None}) == 'request'
    [mail] = approval_mails(mailer)
    assert 'o de los últimos 2 días); con ella suman $14,904.42 MXN:' in mail.body
    frozen_clock.now = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=UTC)     # 00:00, 1 December
    ana = sign_in(portal, banks)
    # The 29th is out of the window: $5,904.42 of the 30th and $3,171.86.
    assert pay(ana, {'1233076': None}) == 'bank'
    # $4,350.00 more: $13,426.28 over the 30th and the 1st.
    assert pay(ana, {'6213050': None}) == 'request'
    assert states(portal, FIRST, SECOND, THIRD, FOURTH) == [
        'pending', 'requested', 'pending', 'requested']


@pytest.mark.parametrize('value', ['0', '32', '-1', 'uno', '1.5', ''])
def test_a_mistyped_window_stops_the_portal_from_starting(tmp_path, banks, value):
    with pytest.raises(ValueError, match='approval_window_days'):
        make_paying_portal(tmp_path, banks, **{approval_rule.WINDOW_SETTING: value})


# -- who sees the related payments ---------------------------------------------------------------

def test_an_approver_limited_to_one_account_sees_only_its_related_payments(
        payer, portal, banks, portal_mailer):
    add_colleague(portal, 'paty@example.com', 'Paty Pagos', PAGO, accounts=('005300',))
    add_colleague(portal, 'otto@example.com', 'Otto Pagos', PAGO, accounts=('005301',))
    ana = sign_in(portal, banks)
    assert pay(ana, {'6213050': None}) == 'bank'       # $4,350.00 of account 005301
    assert pay(ana, {'1233080': None}) == 'request'    # $5,904.42 of 005300: $10,254.42
    # Otto (005301 only) cannot open a request of 005300: not mailed. Paty (005300 only) is,
    # without the payment of 005301 that she may not see.
    mails = {m.recipients[0]: m for m in approval_mails(portal_mailer)}
    assert set(mails) == {f'{CANON.lower()}@example.mx', 'paty@example.com'}
    assert f'Pago {FIRST} ·' in mails[f'{CANON.lower()}@example.mx'].body
    assert f'Pago {FIRST} ·' not in mails['paty@example.com'].body
    paty = sign_in(portal, banks, 'paty@example.com', PASSWORD)
    assert related_rows(paty.get(payments_url(SECOND))) is None
    assert [row[0] for row in related_rows(payer.get(payments_url(SECOND)))] == [FIRST]
