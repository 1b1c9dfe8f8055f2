"""Recording what happened: one call for every staff action and payment transition.

Actors are strings that say who acted: ``staff:alice``, ``customer:CME930812PW3``,
``bank:bbva``, ``console:canonportal-import``. Targets are the path of the
object in the tree (``/customers/CME930812PW3/payments/229``) so the
management views can link to them.
"""
from pyramid.traversal import find_root, resource_path

from . import clock

#: Actions a staff member or the system can take, as stored in the log.
PAYMENT_TRANSITION = 'payment.transition'


def target_path(resource):
    """The tree path of ``resource`` or the text given."""
    if isinstance(resource, str):
        return resource
    try:
        return resource_path(resource)
    except (AttributeError, TypeError):  # not (yet) in the tree
        return repr(resource)


def record(root, actor, action, target, before='', after='', note='', when=None):
    """Append one entry to the root's audit log and return it."""
    return root.audit_log.append(when or clock.utcnow(), actor, action,
                                 target_path(target), before, after, note)


def record_on(resource, actor, action, before='', after='', note='', when=None):
    """Like :func:`record`, for a resource already in the tree."""
    return record(find_root(resource), actor, action, resource, before, after, note, when)


def actor_of(request):
    """Who made ``request``: the signed-in user's principal, or ``anonymous``."""
    identity = getattr(request, 'identity', None)
    user = getattr(identity, 'user', None)
    if user is None:
        return 'anonymous'
    return user.principal_id.replace('customer-user:', 'customer:')
