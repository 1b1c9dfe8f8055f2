"""A tween refusing request bodies larger than the request could legitimately need.

Everything a customer or an anonymous visitor posts is a few kilobytes (SALDOS with
thousands of ticked invoices stays well under the default 1 MiB); only staff upload
ERP files and statement PDFs under /manage. The check reads the declared length
only, so an oversized body is refused before anyone reads it into memory; waitress's
``max_request_body_size`` (and the proxy's ``client_max_body_size``) bound what it
buffers in the first place.
"""
import logging

from pyramid.httpexceptions import HTTPRequestEntityTooLarge
from pyramid.tweens import EXCVIEW

from .i18n import _

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_KB = 1024
DEFAULT_MAX_UPLOAD_MB = 64
MSG_TOO_LARGE = _('La solicitud es demasiado grande.')


def limits(settings):
    """``(bytes anyone may post, bytes staff may upload under /manage)``."""
    return (int(settings.get('canonportal.max_body_kb', DEFAULT_MAX_BODY_KB)) * 1024,
            int(settings.get('canonportal.max_upload_mb', DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024)


def body_limit_tween_factory(handler, registry):
    small, large = limits(registry.settings)

    def body_limit_tween(request):
        length = request.content_length
        if length is not None and length > small:
            # Only now is the session read: the large limit is for signed-in staff.
            staff_upload = (request.path_info.startswith('/manage/')
                            and request.identity is not None and request.identity.is_staff)
            if not staff_upload or length > large:
                # The first segment only: deeper ones may carry a token.
                log.info('refused: a body of %d bytes on %s /%s/…', length, request.method,
                         request.path_info.split('/')[1])
                raise HTTPRequestEntityTooLarge(MSG_TOO_LARGE)
        return handler(request)

    return body_limit_tween


def includeme(config):
    # Under the exception view, so the refusal is our page with our headers.
    config.add_tween('canonportal.bodylimit.body_limit_tween_factory', under=EXCVIEW)
