"""The notes of the audit log and of a payment's history read back as sentences in the
reader's language ("bank start failed: …" → "El banco no inició el pago (…).").

The portal writes those notes in its own terms (:mod:`canonportal.payments` and the staff's
actions); this module is the one place that knows their shapes (:data:`SHAPES`) and words
them. A note of no known shape (a person's comment, an old entry) is shown as it is. The
company's BITÁCORA (:mod:`canonportal.views.audit_sentences`) reads the shapes it needs
from here too.
"""
import re

from . import gateways as gw
from .i18n import _

#: What a bank's answer means, as staff read it.
OUTCOME_LABELS = {
    gw.APPROVED: _('aprobado'),
    gw.DECLINED: _('rechazado'),
    gw.CANCELLED: _('cancelado'),
    gw.PENDING: _('pendiente'),
    gw.UNKNOWN: _('sin registro del pago'),
}

#: The fields a bank's verified data may disagree on (``BankResult.discrepancies``).
FIELD_LABELS = {'reference': _('referencia'), 'amount': _('monto'), 'currency': _('moneda'),
                'customer': _('cliente')}

CREATED = re.compile(r'^(?P<amount>[0-9]+(?:\.[0-9]+)?) MXN via (?P<bank>\S+)$')
REJECTED = re.compile(r'^(?:portal: )?rejected by (?P<name>.*?): (?P<comment>.*)$', re.S)

#: (pattern, sentence): the first pattern that matches the whole note words it.
SHAPES = (
    (CREATED, _('Creado por ${amount} MXN, a pagar con ${bank}.')),
    (re.compile(r'^created$'), _('Creado.')),
    (REJECTED, _('Rechazado por ${name}: «${comment}».')),
    (re.compile(r'^approved by (?P<name>.*)$'), _('Aprobado por ${name}.')),
    (re.compile(r'^bank says (?P<outcome>\S+)(?: (?P<rest>.*))?$'),
     _('El banco respondió: ${outcome} ${rest}')),
    (re.compile(r'^verified (?P<bank>\S+) data disagree on (?P<fields>[^:]*): bank '
                r'(?P<bank_amount>\S*) (?P<bank_currency>\S*) ref (?P<bank_ref>\S*), ours '
                r'(?P<ours>\S+) MXN ref (?P<our_ref>\S+)$'),
     _('Los datos verificados de ${bank} no coinciden en ${fields}: el banco dice '
       '${bank_amount} ${bank_currency}, referencia ${bank_ref}; el pago es de ${ours} MXN, '
       'referencia ${our_ref}.')),
    (re.compile(r'^approval arrived after the payment was (?P<state>\S+)$'),
     _('La aprobación del banco llegó cuando el pago ya estaba «${state}».')),
    (re.compile(r'^no answer from the bank in time$'), _('El banco no respondió a tiempo.')),
    (re.compile(r'^applied by the ERP$'), _('Aplicado por el ERP.')),
    (re.compile(r'^cancelled by the customer$'), _('Cancelado por el cliente.')),
    (re.compile(r'^bank start failed: (?P<error>.*)$', re.S),
     _('El banco no inició el pago (${error}).')),
    (re.compile(r'^bank unreachable: (?P<error>.*)$', re.S), _('El banco no respondió (${error}).')),
    (re.compile(r'^the bank offers no query$'), _('El banco no ofrece consulta de pagos.')),
    (re.compile(r'^created for transfer (?P<key>\S+)$'),
     _('Creado para la transferencia SPEI ${key}.')),
    (re.compile(r'^same date, clave de rastreo and ordering bank as (?P<others>.*): not matched$',
                re.S),
     _('Misma fecha, clave de rastreo y banco ordenante que ${others}: no se aplicó.')),
    (re.compile(r'^(?P<amount>[0-9]+(?:\.[0-9]+)?) MXN to (?P<account>[0-9]*)$'),
     _('${amount} MXN a la CLABE ${account}.')),
    (re.compile(r'^(?P<format>camt053|mt940|csv): (?P<new>[0-9]+) new, (?P<known>[0-9]+) known$'),
     _('Estado de cuenta ${format}: ${new} transferencias nuevas, ${known} ya recibidas.')),
    (re.compile(r'^transfer (?P<key>\S+) of (?P<amount>\S+) MXN to the own CLABE of (?P<owner>\S+) '
                r'\((?P<clabe>[0-9]*)\) assigned to (?P<customer>\S+), payment (?P<payment>\S+), '
                r'confirmed by (?P<actor>\S+): (?P<comment>.*)$', re.S),
     _('La transferencia ${key} de ${amount} MXN a la CLABE propia de ${owner} (${clabe}) se '
       'asignó a ${customer}, pago ${payment}; lo confirmó ${actor}: «${comment}».')),
    (re.compile(r'^password set$'), _('Con contraseña.')),
)


def words(note, translate, states=None):
    """``note`` as a sentence translated by ``translate`` when its shape is known, else as it
    is. ``states``: a payment state → its label (the reader's page's), for the notes that
    name a state."""
    note = note or ''
    for pattern, message in SHAPES:
        found = pattern.match(note)
        if found is None:
            continue
        values = {name: value or '' for name, value in found.groupdict().items()}
        if 'bank' in values:
            values['bank'] = translate(gw.bank_label(values['bank']))
        if 'outcome' in values:
            values['outcome'] = translate(OUTCOME_LABELS.get(values['outcome'], values['outcome']))
        if 'state' in values and states:
            values['state'] = translate(states.get(values['state'], values['state']))
        if 'fields' in values:
            values['fields'] = ', '.join(translate(FIELD_LABELS.get(f.strip(), f.strip()))
                                         for f in values['fields'].split(','))
        return translate(_(message, mapping=values)).strip()
    return note
