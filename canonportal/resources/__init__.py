"""The persistent object tree: root → customers → customer → invoices, statements, payments.

Resources know nothing of views, templates or banks.
"""
from .customer import ACTIVE, NEW, Customer, Customers, customer_principal  # noqa: F401
from .folder import Folder, validate_name  # noqa: F401
from .invoice import MXN, USD, Invoice  # noqa: F401
from .ownership import customer_of  # noqa: F401
from .payment import Allocation, Payment  # noqa: F401
from .root import PENDING_ACTIVATION, PortalRoot, get_root_from_connection  # noqa: F401
from .staff import ADMIN, AUDITOR, OPERATOR, ROLES, StaffUser, role_principal  # noqa: F401
from .statement import Statement  # noqa: F401
from .incoming_transfer import IncomingTransfer, Transfers  # noqa: F401


def portal_root(request):
    """The portal root from the request's ZODB connection (None before init).

    Read from the connection rather than ``request.root`` so it works before
    traversal too (pyramid_tm, tweens).
    """
    from pyramid_zodbconn import get_connection
    return get_root_from_connection(get_connection(request))


def root_factory(request):
    """Pyramid root factory."""
    root = portal_root(request)
    if root is None:
        raise RuntimeError('The database has no portal root: run canonportal-init first.')
    return root
