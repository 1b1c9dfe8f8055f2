"""What staff read for the states and flags of the tree's objects."""
from ...i18n import _
from ...resources.customer import ACTIVE, NEW
from ...resources.invoice import OPEN, OVERDUE, PAID
from ...resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REFUND_NEEDED, REVIEW, REQUESTED)

#: Payment states as staff read them.
PAYMENT_STATE_LABELS = {
    REQUESTED: _('Por aprobar'),
    PENDING: _('Pendiente'),
    APPROVED: _('Aprobado'),
    APPLIED: _('Aplicado'),
    REVIEW: _('En revisión'),
    DECLINED: _('Rechazado'),
    CANCELLED: _('Cancelado'),
    EXPIRED: _('Vencido'),
    REFUND_NEEDED: _('Reembolso pendiente'),
}

INVOICE_STATUS_LABELS = {
    OPEN: _('Abierta'),
    OVERDUE: _('Vencida'),
    PAID: _('Pagada'),
}

CUSTOMER_STATE_LABELS = {
    NEW: _('Nuevo: aún no entra (usuario y contraseña = RFC)'),
    ACTIVE: _('Activo'),
}

YES, NO = _('Sí'), _('No')
