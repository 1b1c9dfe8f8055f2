"""Why a received SPEI transfer is where it is: a code the record keeps, with its values,
and the words staff read on their pages, in their language.

:mod:`.matching` stores a code (``IncomingTransfer.note``) and its values
(``IncomingTransfer.note_data``); :func:`describe` turns them into a translation string.
The codes are the record's (:mod:`canonportal.resources.incoming_transfer`). An
operator's own comment (assigning a transfer, or marking it not for the portal) is kept as
they wrote it and shown as it is.
"""
from ...i18n import _
from ...resources.incoming_transfer import (  # noqa: F401 - the codes, kept by the record
    ALREADY_SETTLED, COMPANY_CLABE_NO_REFERENCE, NO_MATCH, NOT_OUR_CLABE, PAID, PAYMENT_IN_REVIEW,
    SAME_KEY_NOTE as SAME_KEY, UNKNOWN_CUSTOMER_NUMBER,
)

WORDS = {
    NOT_OUR_CLABE: _('No se pagó a una de nuestras CLABE.'),
    UNKNOWN_CUSTOMER_NUMBER: _('Llegó a la CLABE del cliente número ${number}, que no existe.'),
    NO_MATCH: _('Ningún pago en espera ni facturas abiertas del cliente coinciden con ella.'),
    COMPANY_CLABE_NO_REFERENCE: _('Llegó a la CLABE de la empresa sin la referencia de un pago '
                                  'en espera.'),
    ALREADY_SETTLED: _('El pago ${reference} ya estaba ${state}: este dinero no es para él.'),
    SAME_KEY: _('Misma fecha, clave de rastreo y banco ordenante que ${others}: no se aplicó.'),
    PAID: _('Pagó el pago ${reference}.'),
    PAYMENT_IN_REVIEW: _('El pago ${reference} pasó a revisión: sus datos no coinciden con la '
                         'transferencia.'),
}

#: A payment's state as the note "El pago 229 ya estaba …" says it.
_STATE_WORDS = {'approved': _('aprobado'), 'applied': _('aplicado'), 'declined': _('rechazado'),
                'cancelled': _('cancelado'), 'expired': _('vencido'), 'review': _('en revisión'),
                'refund-needed': _('por reembolsar')}


def describe(transfer, translate):
    """What ``transfer``'s note says, translated by ``translate`` (an operator's comment as
    they wrote it)."""
    note = transfer.note or ''
    message = WORDS.get(note)
    if message is None:
        return note
    data = {str(k): str(v) for k, v in (getattr(transfer, 'note_data', None) or {}).items()}
    if 'state' in data:
        data['state'] = translate(_STATE_WORDS.get(data['state'], data['state']))
    return translate(_(message, mapping=data))
