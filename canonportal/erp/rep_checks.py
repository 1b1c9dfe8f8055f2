"""A payment complement (REP) checked against what the portal knows, and matched to the
portal payments it documents (see :mod:`.complements`).

- the issuer is the company (``canonportal.issuer_rfc``), the receiver a customer;
- each DoctoRelacionado names an invoice of that customer by its UUID, in its currency;
- instalments (NumParcialidad) and balances (ImpSaldoAnt, ImpSaldoInsoluto) follow the
  REPs already kept for the invoice (no number twice, none skipped, each balance before
  the balance after of the instalment before) and, for a portal payment, what the portal
  recorded when the invoice was reserved (``Allocation.instalment``, ``balance_before``);
- each Pago is the portal payment its NumOperacion names (the portal's reference, the
  bank's reference or what the export gave as num_operacion), which must agree on the day
  (Mexico City), the invoices, the amounts and the Monto; without one named, the only
  received payment that agrees on all of these; none: a payment the ERP applied from
  outside the portal, kept on the invoices it documents.
"""
from ..i18n import _
from ..money import ZERO
from ..resources import customer_of
from ..resources.complement import complements_named
from ..resources.payment import RECEIVED_STATES, reference_order
from ..resources.payment_history import payment_date
from ..clock import MEXICO_CITY
from .exports import num_operacion
from .rep import CENT

#: Returned by :meth:`Checker.match` after reporting a problem.
REFUSED = False


class Checker:
    """The checks of one import's REPs; remembers what earlier files of it documented."""

    def __init__(self, job, issuer):
        self.job = job
        self.root = job.root
        self.issuer = issuer
        self.seen = {}            # UUID -> file name, in this import
        self.replacing = {}       # UUID replaced -> UUID replacing, in this import
        self.instalments = {}     # invoice key -> {instalment: (before, after, REP UUID)}

    def error(self, source, line, reason):
        self.job.error(source, line, reason)

    # --- who -----------------------------------------------------------------------------

    def receiver(self, source, rep):
        """The customer the REP is for, or None after reporting why not."""
        problems = []
        if rep.emisor_rfc != self.issuer:
            problems.append(_('El emisor ${rfc} no es la empresa (${issuer}): el complemento '
                              'no es nuestro.', mapping={'rfc': rep.emisor_rfc,
                                                         'issuer': self.issuer}))
        customer = self.job.customer(rep.receptor_rfc)
        if customer is None:
            problems.append(_('El receptor ${rfc} no es cliente del portal.',
                              mapping={'rfc': rep.receptor_rfc}))
        other = self.seen.setdefault(rep.uuid, source.name)
        if other != source.name:
            problems.append(_('El complemento ${uuid} también está en ${other}.',
                              mapping={'uuid': rep.uuid, 'other': other}))
        for reason in problems:
            self.error(source, None, reason)
        return None if problems else customer

    def known(self, source, rep, customer):
        """The complement already imported under this UUID (None: a new one)."""
        existing = self.root.complements_by_uuid.get(rep.uuid)
        if existing is not None and existing.customer_rfc != customer.rfc:
            self.error(source, None, _('El UUID ${uuid} ya es de un complemento de otro '
                                       'cliente.', mapping={'uuid': rep.uuid}))
        return existing

    def replaced(self, source, rep, customer):
        """The kept complements ``rep`` replaces (TipoRelacion 04)."""
        found = []
        for uuid in rep.replaces:
            old = self.root.complements_by_uuid.get(uuid)
            if uuid == rep.uuid:
                self.error(source, None, _('El complemento ${uuid} dice sustituirse a sí mismo.',
                                           mapping={'uuid': uuid}))
            elif old is None:
                self.job.warning(source, None, _(
                    'Sustituye al complemento ${uuid}, que el portal no tiene; se importa '
                    'como uno más.', mapping={'uuid': uuid}))
            elif old.customer_rfc != customer.rfc:
                self.error(source, None, _('El complemento que sustituye (${uuid}) es de otro '
                                           'cliente.', mapping={'uuid': uuid}))
            elif old.replaced_by is not None:
                self.error(source, None, _('El complemento ${uuid} ya fue sustituido por '
                                           '${other}.', mapping={'uuid': uuid,
                                                                 'other': old.replaced_by}))
            elif self.replacing.setdefault(uuid, rep.uuid) != rep.uuid:
                self.error(source, None, _('Otro archivo de esta importación también sustituye '
                                           'al complemento ${uuid}.', mapping={'uuid': uuid}))
            else:
                found.append(old)
        return found

    # --- what -----------------------------------------------------------------------------

    def payments(self, source, rep, customer, replaces):
        """Per Pago, the reference of the portal payment it documents or None (outside the
        portal); None after reporting any problem."""
        replaced = {old.uuid for old in replaces}
        matches, good = [], True
        for pago in rep.payments:
            invoices = [self.invoice(source, d, customer) for d in pago.documents]
            if None in invoices:
                good = False
                continue
            reference = self.match(source, pago, invoices, customer)
            good = good and reference is not REFUSED
            for document, invoice in zip(pago.documents, invoices):
                good = self.instalment(source, document, invoice, customer, replaced,
                                       rep.uuid) and good
            matches.append(reference or None)
        return matches if good else None

    def invoice(self, source, document, customer):
        """The invoice a DoctoRelacionado names, or None after reporting why not."""
        invoice = self.root.invoices_by_uuid.get(document.invoice_uuid)
        line = document.line
        if invoice is None:
            self.error(source, line, _('El documento relacionado ${uuid} no es ninguna factura '
                                       'del portal.', mapping={'uuid': document.invoice_uuid}))
            return None
        if customer_of(invoice) is not customer:
            self.error(source, line, _('La factura ${uuid} no es del cliente ${rfc}.',
                                       mapping={'uuid': document.invoice_uuid,
                                                'rfc': customer.rfc}))
            return None
        problems = []
        if document.currency != invoice.currency:
            problems.append(_('La factura ${key} es en ${currency}, no en ${given} (MonedaDR).',
                              mapping={'key': invoice.key, 'currency': invoice.currency,
                                       'given': document.currency}))
        if document.balance_before > invoice.amount:
            problems.append(_('ImpSaldoAnt ${before} es mayor que el total de la factura ${key} '
                              '(${amount}).', mapping={'before': document.balance_before,
                                                       'key': invoice.key,
                                                       'amount': invoice.amount}))
        elif document.instalment == 1 and document.balance_before != invoice.amount:
            problems.append(_('La parcialidad 1 de la factura ${key} parte de su total '
                              '${amount}, no de ${before}.',
                              mapping={'key': invoice.key, 'amount': invoice.amount,
                                       'before': document.balance_before}))
        for reason in problems:
            self.error(source, line, reason)
        return None if problems else invoice

    # --- which payment ------------------------------------------------------------------

    def match(self, source, pago, invoices, customer):
        """The portal payment ``pago`` documents: its reference, None (outside the portal) or
        :data:`REFUSED` after reporting."""
        candidates = self.candidates(customer, invoices)
        named = self.named(pago.operation, customer, candidates)
        if named is not None:
            if named.state not in RECEIVED_STATES:
                self.error(source, pago.line, _(
                    'NumOperacion ${operation} es el pago ${reference} del portal, que no se '
                    'cobró.', mapping={'operation': pago.operation,
                                       'reference': named.reference}))
                return REFUSED
            differences = self.differences(pago, named, invoices)
            for reason in differences:
                self.error(source, pago.line, reason)
            return REFUSED if differences else named.reference
        agreeing = [p for p in candidates if not self.differences(pago, p, invoices)]
        free = [p for p in agreeing if not documented(customer, p, invoices)]
        pool = free or agreeing
        if len(pool) > 1:
            self.error(source, pago.line, _(
                'El pago coincide con varios pagos del portal (${references}); el ERP debe '
                'indicar cuál en NumOperacion.',
                mapping={'references': ', '.join(p.reference for p in pool)}))
            return REFUSED
        return pool[0].reference if pool else None

    @staticmethod
    def candidates(customer, invoices):
        """The customer's payments that paid every one of ``invoices``, in reference order."""
        references = None
        for invoice in invoices:
            mine = {ref for ref, _amount in invoice.applied + invoice.reservations}
            references = mine if references is None else references & mine
        found = [customer.payments.get(ref) for ref in sorted(references or (), key=reference_order)]
        return [payment for payment in found if payment is not None]

    @staticmethod
    def named(operation, customer, candidates):
        """The payment NumOperacion names: a reference of the customer's, or a candidate's
        bank reference or num_operacion."""
        if not operation:
            return None
        payment = customer.payments.get(operation)
        if payment is not None:
            return payment
        return next((p for p in candidates
                     if operation in (p.bank_reference, num_operacion(p))), None)

    @staticmethod
    def differences(pago, payment, invoices):
        """How ``pago`` disagrees with portal ``payment`` (empty when it documents it)."""
        found = []
        mapping = {'reference': payment.reference}
        day = payment_date(payment).astimezone(MEXICO_CITY).date()
        if day != pago.paid_on:
            found.append(_('FechaPago ${given}, pero el pago ${reference} se cobró el ${day}.',
                           mapping=dict(mapping, given=pago.paid_on.isoformat(),
                                        day=day.isoformat())))
        total = ZERO
        for document, invoice in zip(pago.documents, invoices):
            allocation = next((a for a in payment.allocations
                               if a.invoice_key == invoice.key), None)
            mapping = dict(mapping, key=invoice.key)
            if allocation is None:
                found.append(_('El pago ${reference} no pagó la factura ${key}.',
                               mapping=mapping))
                continue
            total += allocation.amount_mxn
            for given, recorded, reason in (
                    (document.paid, allocation.amount_currency, _(
                        'ImpPagado ${given} de la factura ${key}; el pago ${reference} pagó '
                        '${recorded}.')),
                    (document.instalment, allocation.instalment, _(
                        'NumParcialidad ${given} de la factura ${key}; el pago ${reference} '
                        'es la parcialidad ${recorded}.')),
                    (document.balance_before, allocation.balance_before, _(
                        'ImpSaldoAnt ${given} de la factura ${key}; antes del pago '
                        '${reference} el saldo era ${recorded}.'))):
                if recorded is not None and given != recorded:
                    found.append(_(reason, mapping=dict(mapping, given=given,
                                                        recorded=recorded)))
        if pago.currency != 'MXN':
            found.append(_('MonedaP ${currency}; el pago ${reference} se cobró en MXN.',
                           mapping=dict(mapping, currency=pago.currency)))
        elif abs(total - pago.amount) > CENT:
            found.append(_('Monto ${given}; el pago ${reference} cobró ${recorded} MXN por '
                           'esas facturas.', mapping=dict(mapping, given=pago.amount,
                                                          recorded=total)))
        return found

    # --- instalments --------------------------------------------------------------------

    def instalment(self, source, document, invoice, customer, replaced, uuid):
        """Whether ``document``'s instalment follows the invoice's REPs; remembered for the
        next files of this import when it does."""
        known = {number: figures
                 for number, figures in self.documented_instalments(customer, invoice).items()
                 if figures[2] not in replaced}
        number = document.instalment
        mapping = {'key': invoice.key, 'number': number}
        problems = []
        if number in known:
            problems.append(_('La parcialidad ${number} de la factura ${key} ya la documenta el '
                              'complemento ${uuid}.', mapping=dict(mapping, uuid=known[number][2])))
        else:
            before = known.get(number - 1)
            if before is not None and before[1] != document.balance_before:
                problems.append(_(
                    'ImpSaldoAnt ${given} de la parcialidad ${number} de la factura ${key} no es '
                    'el saldo insoluto ${after} de la parcialidad anterior.',
                    mapping=dict(mapping, given=document.balance_before, after=before[1])))
            elif before is None and known and number > max(known) + 1:
                problems.append(_('La parcialidad ${number} de la factura ${key} salta números: '
                                  'la última documentada es la ${last}.',
                                  mapping=dict(mapping, last=max(known))))
            after = known.get(number + 1)
            if after is not None and after[0] != document.balance_after:
                problems.append(_(
                    'ImpSaldoInsoluto ${given} de la parcialidad ${number} de la factura ${key} '
                    'no es el saldo anterior ${before} de la parcialidad siguiente.',
                    mapping=dict(mapping, given=document.balance_after, before=after[0])))
        for reason in problems:
            self.error(source, document.line, reason)
        if not problems:
            self.documented_instalments(customer, invoice)[number] = (document.balance_before,
                                                     document.balance_after, uuid)
        return not problems

    def documented_instalments(self, customer, invoice):
        """``{instalment: (before, after, UUID)}`` of the current REPs kept for ``invoice``
        (and those of this import so far)."""
        found = self.instalments.get(invoice.key)
        if found is None:
            found = self.instalments[invoice.key] = {}
            for complement in complements_named(customer, invoice.complements):
                if complement.current:
                    for d in complement.documents_of(invoice.key):
                        found[d.instalment] = (d.balance_before, d.balance_after,
                                               complement.uuid)
        return found


def documented(customer, payment, invoices):
    """Whether a current REP already documents ``payment`` for all of ``invoices``."""
    keys = {invoice.key for invoice in invoices}
    for complement in complements_named(customer, payment.complements):
        if complement.current and keys <= set(complement.invoice_keys):
            return True
    return False
