"""What a bank's "no" means and what the customer can do about it, in plain words.

Each bank plug-in maps its own answer codes ("DECLINED", "54", …) to one of the common
reasons of :data:`canonportal.gateways.DECLINE_REASONS`
(:meth:`~canonportal.gateways.base.Gateway.decline_reason`); this module is the one table
of what each reason says to a customer. The bank's own code is still shown, small, for
whoever the customer calls.
"""
from .. import gateways as gw
from ..i18n import _
from ..payments.service import SOURCE_PORTAL
from ..resources.payment import DECLINED

#: reason → (what the bank's answer means, what to do now).
EXPLANATIONS = {
    gw.REASON_DECLINED: (
        _('El banco que emitió la tarjeta no autorizó el cargo y no dijo por qué.'),
        _('Llame al número que aparece al reverso de la tarjeta para que autoricen el pago y '
          'reintente, o pague con otra tarjeta o por transferencia SPEI.')),
    gw.REASON_INSUFFICIENT_FUNDS: (
        _('La tarjeta no tiene saldo o crédito suficiente para este monto.'),
        _('Pague con otra tarjeta o por transferencia SPEI, o pague menos facturas a la vez.')),
    gw.REASON_EXPIRED_CARD: (
        _('La tarjeta está vencida.'),
        _('Reintente con una tarjeta vigente.')),
    gw.REASON_CARD_DETAILS: (
        _('Un dato de la tarjeta no coincide: el número, la fecha de vencimiento o el código '
          'de seguridad.'),
        _('Reintente escribiendo los datos tal como aparecen en la tarjeta.')),
    gw.REASON_AUTHENTICATION: (
        _('El banco de la tarjeta no pudo confirmar que usted autorizó el pago.'),
        _('Reintente y complete la verificación que pide su banco (el código por SMS o en su '
          'aplicación).')),
    gw.REASON_BLOCKED: (
        _('La tarjeta está bloqueada o no admite este tipo de cargo.'),
        _('Llame al banco que emitió la tarjeta, o pague con otra tarjeta o por transferencia '
          'SPEI.')),
    gw.REASON_LIMIT: (
        _('El monto supera el límite de la tarjeta por cargo o por día.'),
        _('Pida a su banco que amplíe el límite, pague menos facturas a la vez o use otra '
          'tarjeta.')),
    gw.REASON_TIMED_OUT: (
        _('El banco de la tarjeta no respondió a tiempo.'),
        _('Espere unos minutos y reintente.')),
    gw.REASON_SYSTEM_ERROR: (
        _('El sistema del banco falló al procesar el pago.'),
        _('Espere unos minutos y reintente, o elija otro banco.')),
    gw.REASON_CANCELLED: (
        _('El pago se canceló en la página del banco.'),
        _('Si no fue su intención, reintente el pago.')),
}
assert set(EXPLANATIONS) == set(gw.DECLINE_REASONS)


def explain(payment):
    """``{'reason', 'meaning', 'todo', 'code'}`` of a payment its bank declined (None for any
    other): ``code`` is what the bank itself answered, its code and its own text."""
    if payment.state != DECLINED:
        return None
    reason, code = gw.decline_reason(payment.bank, payment.bank_data)
    meaning, todo = EXPLANATIONS[reason]
    said = _bank_message(payment)
    shown = ' · '.join(dict.fromkeys(part for part in (code, said) if part))
    return {'reason': reason, 'meaning': meaning, 'todo': todo, 'code': shown[:200]}


def _bank_message(payment):
    """The bank's own short text recorded with the decline, if it came from the bank."""
    if not payment.history:
        return ''
    _when, _before, state, source, note = payment.history[-1]
    return (note or '')[:120] if state == DECLINED and source != SOURCE_PORTAL else ''
