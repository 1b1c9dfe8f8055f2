"""Payment complements (REP: a CFDI 4.0 of type "P" with the Pagos 2.0 complement).

The ERP's PAC stamps one for each payment of an invoice paid in instalments or later
(MetodoPago PPD); the ERP sends it to the portal (``canonportal.erp.complements``). Each
:class:`Complement` lives in its customer's ``complements`` folder under its UUID, is indexed
on the root (``complements_by_uuid``) and named by the invoices it documents
(``Invoice.complements``) and the portal payments it matched (``Payment.complements``),
oldest first. One that a later REP replaced (CfdiRelacionados, TipoRelacion 04) stays, with
``replaced_by`` set: the customer sees it as "Sustituido por …".

The XML and the PDF are ZODB blobs. Who may see a complement: the people of its customer who
may see every account of the invoices it documents (:class:`~.ownership.AccountDocument`).
"""
from persistent import Persistent
from pyramid.traversal import find_root

from ..money import ZERO
from .ownership import AccountDocument


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
    return complement


def supersede(old, new):
    """``new`` replaces ``old`` (CfdiRelacionados, TipoRelacion 04); ``old`` stays, marked."""
    old.replaced_by = new.uuid
    new.replaces = old.uuid


def complements_named(customer, uuids):
    """The complements ``uuids`` name in ``customer``'s folder, in order (none before the
    evolve step 'payment-complements')."""
    folder = customer.complements
    if folder is None:
        return []
    return [found for found in (folder.get(uuid) for uuid in uuids) if found is not None]
