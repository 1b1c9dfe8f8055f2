""""Ya pagué" as a customer uses it, against the sandbox bank and the sandbox Banxico: the
claims that ask Banxico are limited per payment and per company, the process caps its
questions to Banxico, and a transfer that already paid another payment says which one."""
import datetime

import pytest

from portal_support import nothing_changes, throttle
from payment_support import make_paying_portal, new_payer, state_of
from spei_support import (
    a_transfer, claim, customer_clabe, on_real_time, pay_by_spei, post_abono, sign_in_again,
    spei_settings, total_of, transfers_of)

pytestmark = pytest.mark.spei

NOBODY = dict(clave='NOEXISTE123', fecha='2026-11-29', banco='40012')
TOO_MANY = 'Ya consultamos a Banxico varias veces por sus transferencias en la última hora'
NOT_FOUND = 'Banxico no encuentra esa transferencia'


def questions(banks):
    """How many times the sandbox Banxico was asked about a transfer."""
    return sum(1 for path in banks.cep_queries if path.endswith('/valida.do'))


def test_claims_are_limited_per_payment_and_refused_claims_ask_banxico_nothing(
        payer, portal, banks, frozen_clock):
    pay_by_spei(payer, '6212976')                                   # payment 229
    for number in range(1, 4):
        assert NOT_FOUND in claim(payer, '229', **NOBODY).text
        assert questions(banks) == number
    with nothing_changes(portal):
        refused = claim(payer, '229', **NOBODY)
    assert TOO_MANY in refused.text and NOT_FOUND not in refused.text
    assert questions(banks) == 3
    frozen_clock.advance(minutes=61)                                # an hour later: again
    sign_in_again(payer)
    assert NOT_FOUND in claim(payer, '229', **NOBODY).text and questions(banks) == 4


def test_claims_are_limited_per_company_across_its_payments(payer, portal, banks):
    references = [pay_by_spei(payer, folio).request.path.split('/')[-2]
                  for folio in ('6212976', '1233076', '1233080', '1233074')]
    assert references == ['229', '230', '231', '232']
    for reference in references[:3]:
        for _ in range(3):
            claim(payer, reference, **NOBODY)
    assert NOT_FOUND in claim(payer, '232', **NOBODY).text        # the company's tenth
    assert questions(banks) == 10
    with nothing_changes(portal):
        refused = claim(payer, '232', **NOBODY)                     # its eleventh
    assert TOO_MANY in refused.text and questions(banks) == 10


def test_the_process_caps_its_questions_to_banxico(tmp_path, banks, frozen_clock):
    settings = dict(spei_settings(), **{'spei.cep_max_queries_per_minute': '2'})
    portal = make_paying_portal(tmp_path, banks, **settings)
    payer = new_payer(portal, banks)
    payer.sign_in_active()
    pay_by_spei(payer, '6212976')
    pay_by_spei(payer, '1233076')
    for _ in range(2):
        assert NOT_FOUND in claim(payer, '229', **NOBODY).text
    with nothing_changes(portal, but=throttle):      # counted before Banxico is asked
        busy = claim(payer, '230', **NOBODY)
    assert 'El portal está consultando a Banxico muchas veces' in busy.text
    assert questions(banks) == 2
    # The bank's own notice is still taken; its CEP waits for the next round, no review.
    bank = new_payer(portal, banks)
    transfer = a_transfer('BNET0100261130000061', total_of(portal, '230'), customer_clabe(portal),
                          numeric_reference='0000230')
    assert post_abono(bank, transfer).json == {'mensaje': 'confirmar'}
    assert state_of(portal, '230') == 'approved' and questions(banks) == 2


def test_a_transfer_that_paid_another_payment_says_which(payer, portal, banks, frozen_clock):
    on_real_time(payer, frozen_clock)
    pay_by_spei(payer, '1233076')                                   # 229 and 230: the same
    pay_by_spei(payer, '1233077')                                   # amount (167.94 USD each)
    amount = total_of(portal, '229')
    assert total_of(portal, '230') == amount
    tracking = banks.send_transfer(customer_clabe(portal), amount, reference='0000229')
    assert state_of(portal, '229') == 'approved'
    day = datetime.date.fromisoformat(
        f'{tracking[3:7]}-{tracking[7:9]}-{tracking[9:11]}').isoformat()
    [key] = transfers_of(portal)
    # Counted, and the transfer remembers Banxico's CEP showed it too; nothing else.
    with nothing_changes(portal, but=(throttle, lambda root: [root.transfers[key]])):
        page = claim(payer, '230', clave=tracking, fecha=day, banco='40012')
    assert 'Esa transferencia ya pagó el pago 229.' in page.text
    assert 'nuestro equipo la aplicará' not in page.text
