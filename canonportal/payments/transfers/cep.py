"""Banxico's CEP for the transfers that paid payments, and the customers' "Ya pagué".

:func:`await_cep` puts a paid payment on the list of :func:`cep_due`; the caller asks
Banxico with no transaction open, and :func:`record_cep` keeps the documents, or sends
the payment to review when the CEP disagrees or cannot be found after the configured
delay (:func:`fetch_and_record_cep` is that choreography for the abono view, the
statement imports and ``canonportal-reconcile``). A query the process's own cap
refused (:class:`~canonportal.spei.cep.CepBusy`) was never asked: it changes nothing
and the payment waits for the next round. The customer's "Ya pagué" is
:mod:`.claims`.
"""
import datetime
import logging
from decimal import Decimal

from ...resources.blobs import blob_with, keeps_blobs
from ...spei import clabes
from ...spei.cep import CepBusy, CepError, CepNotFound, CepNotYet, Query, disagreements
from .. import service
from ..transactions import in_own_transaction

log = logging.getLogger(__name__)

CEP_PENDING = 'pending'
CEP_VERIFIED = 'verified'
CEP_MISMATCH = 'mismatch'
CEP_MISSING = 'missing'


def _day(text):
    return datetime.date.fromisoformat(text)


def await_cep(root, payment, now):
    """The transfer that paid ``payment`` is to be proven by its CEP."""
    payment.cep_state = CEP_PENDING
    payment.cep_since = now
    root.cep_pending[payment.reference] = payment


def cep_query(payment):
    """What to ask Banxico about the transfer that paid ``payment`` (None: not enough
    known, e.g. a statement that did not name the ordering bank)."""
    data = payment.transfer or {}
    sender = data.get('ordering_bank', '')
    receiver = clabes.participant_code(data.get('beneficiary_account', ''))
    if not (len(sender) == 5 and sender.isdigit() and receiver):
        return None
    return Query(operation_date=_day(data['operation_date']), tracking_key=data['tracking_key'],
                 sender=sender, receiver=receiver, account=data['beneficiary_account'],
                 amount=Decimal(data['amount']))


def cep_due(root):
    """References of the payments whose transfer still awaits its CEP."""
    return list(root.cep_pending.keys()) if root.cep_pending is not None else []


def record_cep(root, reference, cep, now, review_after, missing_reason=''):
    """Keep the CEP Banxico gave for payment ``reference`` (``cep`` None: not found, or not
    asked); returns the payment's CEP state. A CEP that disagrees with the transfer, or
    none after ``review_after``, sends the payment to review."""
    payment = root.payments_by_reference[reference]
    if payment.cep_state != CEP_PENDING:
        return payment.cep_state
    data = payment.transfer or {}
    if cep is None:
        waited = now - (payment.cep_since or payment.created)
        if waited < review_after:
            return CEP_PENDING
        payment.cep_state = CEP_MISSING
        _done(root, reference)
        service.send_to_review(payment, now, 'cep', 'no CEP from Banxico after '
                               f'{int(review_after.total_seconds() // 60)} minutes'
                               + (f' ({missing_reason})' if missing_reason else ''))
        return CEP_MISSING
    differs = disagreements(cep, Decimal(data.get('amount', '0')), data.get('beneficiary_account', ''))
    payment.cep_data = {
        'tracking_key': cep.tracking_key, 'operation_date': cep.operation_date.isoformat(),
        'amount': f'{cep.amount:.2f}', 'beneficiary_account': cep.beneficiary_account,
        'beneficiary_name': cep.beneficiary_name, 'beneficiary_rfc': cep.beneficiary_rfc,
        'ordering_account': cep.ordering_account, 'ordering_name': cep.ordering_name,
        'ordering_rfc': cep.ordering_rfc, 'ordering_bank': cep.ordering_bank,
        'certificate': cep.certificate, 'chain': cep.chain, 'seal': cep.seal}
    blobs = keeps_blobs(payment)
    payment.cep_xml = blob_with(cep.xml) if blobs else cep.xml
    payment.cep_pdf = blob_with(cep.pdf) if blobs else cep.pdf
    _done(root, reference)
    if differs:
        payment.cep_state = CEP_MISMATCH
        service.send_to_review(payment, now, 'cep', 'the CEP disagrees on ' + ', '.join(differs)
                               + f': CEP {cep.amount} MXN to {cep.beneficiary_account}')
        return CEP_MISMATCH
    payment.cep_state = CEP_VERIFIED
    return CEP_VERIFIED


def fetch_and_record_cep(tm, root_of, gateway, reference, now, reopen=True):
    """The CEP choreography of the abono view and ``canonportal-reconcile``: read what to
    ask in a short transaction, ask Banxico with none open, record the answer in a
    transaction of its own. Returns the payment's CEP state (None: nothing was due)."""
    def read():
        payment = root_of().payments_by_reference[reference]
        return cep_query(payment) if payment.cep_state == CEP_PENDING else False

    query = in_own_transaction(tm, read, reopen=reopen)
    if query is False:
        return None
    cep, reason = None, ''
    if query is None:
        reason = 'the ordering bank is not known'
    else:
        try:
            cep = gateway.cep.fetch(query)
        except CepBusy as error:
            # Not asked at all: nothing to record; the next round asks again.
            log.info('payment %s: CEP not asked: %s', reference, error)
            return CEP_PENDING
        except CepNotFound:
            reason = 'Banxico found no such transfer'
        except CepNotYet:
            reason = 'the CEP is not available yet'
        except CepError as error:
            log.info('payment %s: CEP service: %s', reference, error)
            reason = str(error)
    return in_own_transaction(tm, lambda: record_cep(
        root_of(), reference, cep, now, gateway.cep_review_after, reason), reopen=reopen)


def _done(root, reference):
    if reference in root.cep_pending:
        del root.cep_pending[reference]


def cep_document(payment, kind):
    """The CEP's XML or PDF bytes of ``payment`` (None when it has none)."""
    stored = payment.cep_xml if kind == 'xml' else payment.cep_pdf
    if stored is None:
        return None
    if isinstance(stored, bytes):
        return stored
    with stored.open('r') as handle:
        return handle.read()
