"""What the customer's pages show of payment complements (REP): HISTORIAL's column, the
payment and receipt pages, each invoice's page. Only those the signed-in person may see
(the complement's ACL: the accounts of the invoices it documents) are listed.
"""
from ..resources import customer_of
from ..resources.complement import complements_named

ZIP_NAME = 'complementos.zip'


def shown(request, complement, invoice_key=None):
    """What a page shows of one complement: UUID, whether it is current (else the UUID that
    replaced it), the day paid, the links, and for ``invoice_key`` the instalment, amount
    paid and balance after."""
    documents = complement.documents_of(invoice_key) if invoice_key else ()
    first = documents[0] if documents else None
    reference = next((p.reference for p in complement.payments
                      if first is not None and first in p.documents), None)
    return {
        'uuid': complement.uuid, 'current': complement.current,
        'replaced_by': complement.replaced_by, 'paid_on': complement.paid_on,
        'xml_url': request.resource_url(complement, '@@xml') if complement.xml else None,
        'pdf_url': request.resource_url(complement, '@@pdf') if complement.pdf else None,
        'instalment': first.instalment if first else None,
        'paid': sum((d.paid for d in documents), 0) if documents else None,
        'balance_after': documents[-1].balance_after if documents else None,
        'reference': reference,
        'payment_url': _payment_url(request, complement, reference),
    }


def _payment_url(request, complement, reference):
    payments = customer_of(complement).payments
    if not reference or reference not in payments:
        return None
    return request.resource_url(payments[reference])


def visible(request, customer, uuids):
    """The complements ``uuids`` name that the signed-in person may see, in order."""
    return [c for c in complements_named(customer, uuids) if request.has_permission('view', c)]


def of_payment(request, customer, payment, invoice_key=None):
    """What the pages show of ``payment``'s complements (those documenting ``invoice_key``
    when given: a row of HISTORIAL is one invoice)."""
    found = visible(request, customer, payment.complements)
    if invoice_key is not None:
        found = [c for c in found if invoice_key in c.invoice_keys]
    return [shown(request, c, invoice_key) for c in found]


def of_invoice(request, customer, invoice):
    return [shown(request, c, invoice.key) for c in visible(request, customer, invoice.complements)]
