"""A declined card says why in the customer's words, and what to do: the sandbox banks
answer with their own codes (Citibanamex's gatewayCode, BBVA's mp_response), each
plug-in maps them to a common reason, and the payment's page explains that reason."""
import pytest

from canonportal import gateways as gw
from canonportal.gateways import banamex, bbva
from canonportal.views.bank_reasons import EXPLANATIONS
from payment_support import MANUAL_SELECTION, accept, confirmation, result_page, state_of


def explanation(page):
    box = page.html.find(id='bank-reason')
    return [' '.join(p.get_text(' ').split()) for p in box.find_all('p')] if box else None


@pytest.mark.parametrize('bank, code', [('bbva', '54'), ('banamex', 'EXPIRED_CARD')])
def test_an_expired_card_says_so_and_what_to_do_in_spanish_and_english(
        payer, portal, banks, bank, code):
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))),
                         expiry='04/27')
    banks.wait_for_deliveries()
    page = result_page(payer, back)
    assert state_of(portal) == 'declined'
    lines = explanation(page)
    assert lines[0] == 'Qué pasó: La tarjeta está vencida.'
    assert lines[1] == 'Qué hacer: Reintente con una tarjeta vigente.'
    assert lines[2].startswith(f'Respuesta del banco: {code}')
    assert 'Motivo del banco' not in page.text and '«' not in page.text
    payer.set_cookie('lang', 'en')
    english = explanation(payer.get(page.request.path))
    assert english[:2] == ['What happened: The card has expired.',
                           'What to do: Try again with a card that is still valid.']


@pytest.mark.parametrize('bank', ['bbva', 'banamex'])
def test_a_card_its_bank_declines_without_a_reason_says_whom_to_call(payer, portal, banks, bank):
    back = payer.at_bank(accept(confirmation(payer, bank, dict.fromkeys(MANUAL_SELECTION))),
                         expiry='05/39')
    banks.wait_for_deliveries()
    lines = explanation(result_page(payer, back))
    assert lines[0] == 'Qué pasó: El banco que emitió la tarjeta no autorizó el cargo y no dijo por qué.'
    assert 'reverso de la tarjeta' in lines[1]


def test_a_payment_not_declined_explains_nothing(payer, portal, banks):
    back = payer.at_bank(accept(confirmation(payer, 'bbva', dict.fromkeys(MANUAL_SELECTION))))
    banks.wait_for_deliveries()
    page = result_page(payer, back)
    assert state_of(portal) == 'approved' and explanation(page) is None


def test_every_code_of_each_bank_maps_to_a_reason_with_words():
    for table in (banamex.GATEWAY_CODE_REASONS, bbva.RESPONSE_REASONS):
        assert set(table.values()) <= set(EXPLANATIONS)
    assert gw.decline_reason('bbva', {'mp_response': '51'}) == (gw.REASON_INSUFFICIENT_FUNDS, '51')
    assert gw.decline_reason('banamex', {'gateway_code': 'declined_csc'}) == (
        gw.REASON_CARD_DETAILS, 'declined_csc')
    # A code nobody listed, a bank nobody knows, no data at all: the generic decline.
    assert gw.decline_reason('bbva', {'mp_response': 'Z9'}) == (gw.REASON_DECLINED, 'Z9')
    assert gw.decline_reason('otro', {'x': 'y'}) == (gw.REASON_DECLINED, '')
    assert gw.decline_reason('banamex', None) == (gw.REASON_DECLINED, '')
