"""The one-click unsubscribe link of the portal's own mails (``/baja?k=…&u=…&t=…``).

GET shows what the link turns off and a button; POST turns it off (RFC 8058: a mail client
posts ``List-Unsubscribe=One-Click`` to the link itself, with no session, so the view takes
no CSRF token: the stored token of the link is what authorizes it). A link that is not one
we issued (edited, another person's or kind, expired) is a 400 with our page and changes
nothing (:mod:`canonportal.notify.unsubscribe`).
"""
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import clock
from ..i18n import _
from ..notify.unsubscribe import VIEW_NAME, read, turn_off
from ..resources import PortalRoot
from .mail_choices import KIND_LABELS

TEMPLATE = 'canonportal:templates/unsubscribe.pt'


@view_config(context=PortalRoot, name=VIEW_NAME, permission=NO_PERMISSION_REQUIRED,
             require_csrf=False, request_method=('GET', 'HEAD', 'POST'), renderer=TEMPLATE)
def unsubscribe(request):
    found = read(request.root, request.params, clock.utcnow())
    values = {'page_title': _('Dejar de recibir correos'), 'valid': False, 'done': False}
    if found is None:
        request.response.status = 400
        return values
    person, kind = found
    values.update(valid=True, label=KIND_LABELS[kind], address=getattr(person, 'email', None),
                  params={name: request.params[name] for name in ('k', 'u', 't')})
    if request.method == 'POST':
        turn_off(person, kind)
        values['done'] = True
    return values
