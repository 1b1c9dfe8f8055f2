"""The markers of the tree that Pyramid's ``find_interface`` looks for, so that a resource
finds its owner without importing the owner's module."""
from zope.interface import Interface


class ICustomer(Interface):
    """A customer company: its invoices, statements, payments and people live under it."""
