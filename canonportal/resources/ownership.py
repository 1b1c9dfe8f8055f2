"""Whose each object of the tree is, and which of the company's people may see it.

The customer (the company) that owns an invoice, a statement, a payment or a company user
is the :class:`~.interfaces.ICustomer` in its lineage (Pyramid's ``find_interface``).

A person the company limited to some of its ERP accounts carries
:func:`lacks_account_principal` for each of the others; the documents of an account deny
that principal everything. :class:`AccountDocument` is that one ``__acl__`` for invoices,
statements and payments.
"""
from pyramid.authorization import ALL_PERMISSIONS, Deny
from pyramid.traversal import find_interface

from .interfaces import ICustomer


def customer_of(resource):
    """The customer whose subtree holds ``resource`` (itself, for a customer), or None."""
    return find_interface(resource, ICustomer)


def lacks_account_principal(rfc, account):
    """Carried by a user of ``rfc`` limited to other accounts than ``account``: the invoices,
    statements and payments of that account deny it everything."""
    return f'customer-lacks:{rfc}:{account}'


def account_denials(rfc, accounts):
    """The ACL entries that keep account-limited users of ``rfc`` out of ``accounts``'
    documents."""
    return [(Deny, lacks_account_principal(rfc, account), ALL_PERMISSIONS) for account in accounts]


class AccountDocument:
    """Mixin of a document of ERP accounts, which names them in ``accounts``: the people of
    its customer limited to other accounts may not reach it (nor anything under it)."""

    accounts = ()

    @property
    def __acl__(self):
        customer = customer_of(self)
        return account_denials(customer.rfc, self.accounts) if customer is not None else []
