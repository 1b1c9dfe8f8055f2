"""The bank's deposit notifications at /spei/abono, signed as the bank signs them: every
transfer the portal answers "confirmar" for is recorded (a second, different transfer
under a known date and clave de rastreo too, for staff), and a signed notice the portal
cannot use is refused with "rechazado", recording nothing."""
import json

import pytest

from canonportal import clock

from portal_support import nothing_changes
from manage_support import audit_entries, staff_client, table_rows
from payment_support import state_of
from spei_support import (
    COMPANY_CLABE, a_transfer, customer_clabe, pay_by_spei, post_abono, post_signed, queue_of,
    transfers_of)

pytestmark = pytest.mark.spei

CONFIRMED = {'mensaje': 'confirmar'}
REFUSED = {'mensaje': 'rechazado'}
TRACKING = 'BNET0100261130000777'


def test_another_transfer_under_a_known_date_and_clave_is_recorded_never_dropped(
        payer, portal, bank_server):
    pay_by_spei(payer, '6212976')                                   # payment 229
    clabe = customer_clabe(portal)
    first = a_transfer(TRACKING, '27794.52', clabe, numeric_reference='0000229')
    assert post_abono(bank_server, first).json == CONFIRMED
    assert state_of(portal) == 'approved'
    # SPEI's identity has the ordering bank: Santander's clave is another transfer.
    santander = a_transfer(TRACKING, '99999.99', COMPANY_CLABE, bank='40014',
                           ordering_account='014180655012345674')
    assert post_abono(bank_server, santander).json == CONFIRMED
    # The same date, clave and bank with another amount is not a copy: kept for staff.
    clash = a_transfer(TRACKING, '3160.53', clabe)
    assert post_abono(bank_server, clash).json == CONFIRMED

    day = f'{clock.mexico_today():%Y%m%d}'
    key, other, copy = f'{day}-{TRACKING}-40012', f'{day}-{TRACKING}-40014', f'{day}-{TRACKING}-40012-2'
    assert transfers_of(portal) == {
        key: ('matched', '27794.52', (copy,), '229'),
        other: ('unmatched', '99999.99', (), None),
        copy: ('same-key', '3160.53', (key,), None)}
    assert queue_of(portal) == [copy, other]
    assert state_of(portal) == 'approved'              # the clash paid nothing
    [(actor, _action, target, _before, after, note)] = audit_entries(portal, 'spei.same-key')
    assert (actor, target, after) == ('bank:spei', f'/transfers/{copy}', 'same-key')
    assert key in note and '27794.52' in note

    # Staff see both: the queue names the transfer it clashes with, and links to it.
    staff = staff_client(portal)
    page = staff.get('/manage/transfers')
    row = page.html.find(id=f'transfer-{copy}')
    assert 'Misma fecha, clave de rastreo y banco que' in row.get_text()
    link = row.find('a', string=key)['href']
    assert key in staff.get(link).text
    assert 'clave repetida' in page.html.find(id=f'recent-{key}').get_text()
    assert [cells[1] for cells in table_rows(page, '#transfer-queue')] == [TRACKING, TRACKING]


def test_the_banks_retries_of_each_of_them_change_nothing(payer, portal, bank_server,
                                                          portal_mailer):
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    notices = [a_transfer(TRACKING, '27794.52', clabe, numeric_reference='0000229'),
               a_transfer(TRACKING, '3160.53', clabe)]
    for transfer in notices:
        post_abono(bank_server, transfer)
    with nothing_changes(portal):
        for transfer in notices + notices:
            assert post_abono(bank_server, transfer).json == CONFIRMED


def test_a_notice_that_does_not_name_the_bank_is_a_copy_only_with_the_same_money(
        payer, portal, bank_server):
    """A copy without the ordering bank (nor a CLABE to tell it) matches one with it when the
    amount and CLABE agree; with another amount it is kept apart, under ``ND``."""
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    post_abono(bank_server, a_transfer(TRACKING, '27794.52', clabe, numeric_reference='0000229'))
    unnamed = a_transfer(TRACKING, '27794.52', clabe, bank='', ordering_account='')
    assert post_abono(bank_server, unnamed).json == CONFIRMED
    assert len(transfers_of(portal)) == 1
    other = a_transfer(TRACKING, '10.00', clabe, bank='', ordering_account='')
    assert post_abono(bank_server, other).json == CONFIRMED
    day = f'{clock.mexico_today():%Y%m%d}'
    assert transfers_of(portal)[f'{day}-{TRACKING}-ND'][:3] == (
        'same-key', '10.00', (f'{day}-{TRACKING}-40012',))


def abono_fields(clabe, **changes):
    today = clock.mexico_today()
    fields = {'id': 1, 'fechaOperacion': int(f'{today:%Y%m%d}'), 'institucionOrdenante': 40012,
              'claveRastreo': TRACKING, 'monto': 27794.52, 'cuentaOrdenante': '012180001234567899',
              'cuentaBeneficiario': clabe, 'referenciaNumerica': 229,
              'tsLiquidacion': str(int(clock.utcnow().timestamp() * 1000))}
    fields.update(changes)
    return json.dumps(fields).encode()


def test_a_signed_notice_the_portal_cannot_use_is_refused_and_records_nothing(
        payer, portal, bank_server):
    pay_by_spei(payer, '6212976')
    clabe = customer_clabe(portal)
    bodies = [
        abono_fields(clabe, tsLiquidacion='9' * 15),          # a year past 9999: was HTTP 500
        abono_fields(clabe, tsLiquidacion='99999999999999'),  # year 5138: was accepted
        abono_fields(clabe, tsLiquidacion='0'),               # 1970
        b'[' * 8000 + b']' * 8000,                            # RecursionError: was HTTP 500
        b'{"claveRastreo": ' + b'[' * 8000 + b']' * 8000 + b'}',
    ]
    with nothing_changes(portal):
        for body in bodies:
            answer = post_signed(bank_server, body)
            assert (answer.status_int, answer.json) == (400, REFUSED), body[:60]
        assert post_signed(bank_server, abono_fields(clabe),
                           secret='not-the-banks').status_int == 403
    # The same notice, well formed, is taken.
    assert post_signed(bank_server, abono_fields(clabe)).json == CONFIRMED
    assert state_of(portal) == 'approved'
