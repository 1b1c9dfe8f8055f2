"""Payment complements (REP: a CFDI 4.0 of type "P" with the Pagos 2.0 complement).

The ERP's PAC stamps one for each payment of an invoice paid in instalments or later
(MetodoPago PPD); the ERP sends it to the portal (``canonportal.erp.complements``). Each
:class:`Complement` lives in its customer's ``complements`` folder under its UUID, is indexed
on the root (``complements_by_uuid``) and named by the invoices it documents
(``Invoice.complements``) and the portal payments it matched (``Payment.complements``),
oldest first. One that a later REP replaced (CfdiRelacionados, TipoRelacion 04) stays, with
``replaced_by`` set: the customer sees it as "Sustituido por …".

The root's ``complements_due`` lists the received payments (approved or applied) that still
lack a current REP for an invoice that needs one (:func:`undocumented`), kept by
:func:`track_due` on creation, at every transition (``Customer.track_payment``) and when a
REP comes or is replaced: the staff dashboard and the daily mail read it, never every
payment.

The XML and the PDF are ZODB blobs. Who may see a complement: the people of its customer who
may see every account of the invoices it documents (:class:`~.ownership.AccountDocument`).
"""
from persistent import Persistent
from pyramid.traversal import find_root

from ..money import ZERO
from .ownership import AccountDocument
from .payment import RECEIVED_STATES

#: The method of payment of an invoice settled when it was issued: its payments need no REP.
PUE = 'PUE'


class _Slotted:
    """An immutable record pickled as a dict (a slot added later loads as None)."""

    __slots__ = ()

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name in self.__slots__:
            setattr(self, name, state.get(name))


class PaidDocument(_Slotted):
    """One ``pago20:DoctoRelacionado``: what one payment paid of one invoice, in the invoice's
    currency (MonedaDR): instalment (NumParcialidad), balance before (ImpSaldoAnt), paid
    (ImpPagado) and balance after (ImpSaldoInsoluto)."""

    __slots__ = ('invoice_uuid', 'invoice_key', 'account', 'currency', 'instalment',
                 'balance_before', 'paid', 'balance_after')


class ComplementPayment(_Slotted):
    """One ``pago20:Pago``: the day it was paid (FechaPago, Mexico City), the amount and
    currency (Monto, MonedaP), NumOperacion, the portal payment it documents (its reference,
    or None for a payment the ERP applied from outside the portal) and its documents."""

    __slots__ = ('paid_on', 'amount', 'currency', 'operation', 'reference', 'documents')


class Complement(AccountDocument, Persistent):
    """One stamped REP of one customer."""

    __name__ = None
    __parent__ = None
    xml = None            # ZODB Blob: the stamped XML
    pdf = None            # ZODB Blob: its printed form, when the ERP sent one
    replaces = None       # UUID of the REP this one replaced (TipoRelacion 04)
    replaced_by = None    # UUID of the REP that replaced this one

    def __init__(self, uuid, customer_rfc, issued, payments, imported_at, import_name=''):
        self.uuid = uuid
        self.customer_rfc = customer_rfc
        self.issued = issued                  # date of the REP (its Fecha)
        self.payments = tuple(payments)       # ComplementPayment, in the XML's order
        self.imported_at = imported_at
        self.import_name = import_name

    @property
    def title(self):
        return f'Complemento de pago {self.uuid}'

    @property
    def current(self):
        """False once another REP replaced it."""
        return self.replaced_by is None

    @property
    def documents(self):
        return tuple(document for payment in self.payments for document in payment.documents)

    @property
    def accounts(self):
        """The ERP accounts of the invoices it documents."""
        return tuple(sorted({document.account for document in self.documents}))

    @property
    def references(self):
        """The portal payments it documents (their references), in order."""
        return tuple(dict.fromkeys(p.reference for p in self.payments if p.reference))

    @property
    def invoice_keys(self):
        return tuple(dict.fromkeys(document.invoice_key for document in self.documents))

    @property
    def paid_on(self):
        """The first FechaPago it documents."""
        return min(payment.paid_on for payment in self.payments)

    def paid_of(self, invoice_key):
        """What it documents as paid of ``invoice_key`` (invoice currency)."""
        return sum((d.paid for d in self.documents if d.invoice_key == invoice_key), ZERO)

    def documents_of(self, invoice_key):
        return tuple(d for d in self.documents if d.invoice_key == invoice_key)


def add_complement(customer, complement):
    """Keep ``complement`` in ``customer``'s folder and the root's index, and name it on the
    invoices and portal payments it documents."""
    customer.complements.add(complement.uuid, complement)
    find_root(customer).complements_by_uuid[complement.uuid] = complement
    for key in complement.invoice_keys:
        invoice = customer.invoices.get(key)
        if invoice is not None and complement.uuid not in invoice.complements:
            invoice.complements = invoice.complements + (complement.uuid,)
    for reference in complement.references:
        payment = customer.payments.get(reference)
        if payment is not None and complement.uuid not in payment.complements:
            payment.complements = payment.complements + (complement.uuid,)
            track_due(customer, payment)
    return complement


def supersede(customer, old, new):
    """``new`` replaces ``old`` (CfdiRelacionados, TipoRelacion 04); ``old`` stays, marked."""
    old.replaced_by = new.uuid
    new.replaces = old.uuid
    for reference in old.references:
        payment = customer.payments.get(reference)
        if payment is not None:
            track_due(customer, payment)


def complements_named(customer, uuids):
    """The complements ``uuids`` name in ``customer``'s folder, in order (none before the
    evolve step 'payment-complements')."""
    folder = customer.complements
    if folder is None:
        return []
    return [found for found in (folder.get(uuid) for uuid in uuids) if found is not None]


def needs_complement(invoice):
    """Whether a payment of ``invoice`` needs a REP: its MetodoPago is PPD, or one the portal
    does not know (the ERP did not send it); a PUE invoice does not."""
    return invoice is None or (invoice.metodo_pago or '').upper() != PUE


def undocumented(customer, payment):
    """The keys of the invoices ``payment`` paid that need a REP and have no current one that
    documents this payment."""
    documented = set()
    for complement in complements_named(customer, payment.complements):
        if complement.current:
            documented.update(d.invoice_key for p in complement.payments
                              if p.reference == payment.reference for d in p.documents)
    keys = []
    for allocation in payment.allocations:
        key = allocation.invoice_key
        if key not in documented and key not in keys \
                and needs_complement(customer.invoices.get(key)):
            keys.append(key)
    return tuple(keys)


def track_due(customer, payment):
    """Keep ``payment`` in the root's ``complements_due`` while it was received and lacks a
    REP (:func:`undocumented`), and out of it otherwise."""
    due = getattr(find_root(customer), 'complements_due', None)
    if due is None:
        return
    if payment.state in RECEIVED_STATES and undocumented(customer, payment):
        if due.get(payment.reference) is not payment:
            due[payment.reference] = payment
    elif payment.reference in due:
        del due[payment.reference]
