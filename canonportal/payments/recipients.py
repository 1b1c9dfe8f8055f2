"""Who of a company a payment's mails reach: the company's confirmed address, and the
person who prepared the payment (a colleague signing in with their own email).

A person staff or the company shut out, or one who never accepted the invitation, gets
nothing; the company's own credentials (its main administrator) read the company's
confirmed address.
"""
from pyramid.traversal import find_root

from ..resources import customer_of


def preparer(payment):
    """The person (a ``CompanyUser`` or the ``Customer`` itself) who prepared ``payment``,
    or None (staff or the bank's money made it, or the person is gone)."""
    if not payment.prepared_by:
        return None
    find_principal = getattr(find_root(payment), 'find_principal', None)
    person = find_principal(payment.prepared_by[0]) if find_principal is not None else None
    return person if person is not None and customer_of(person) is customer_of(payment) else None


def preparer_address(payment):
    """Where the person who prepared ``payment`` reads mail, or None."""
    person = preparer(payment)
    if person is None or person.shut_out or person.password_hash is None:
        return None
    return getattr(person, 'email', None) or None


def payer_address(payment):
    """Where whoever paid ``payment`` reads mail: who prepared it, else the company."""
    return preparer_address(payment) or customer_of(payment).email or None
