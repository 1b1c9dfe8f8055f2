"""A tween adding the security headers to every response, errors included."""
from pyramid.settings import asbool

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self' {form_action}; "
       "frame-ancestors 'none'")


def security_headers_tween_factory(handler, registry):
    settings = registry.settings
    hsts = asbool(settings.get('canonportal.hsts', False))
    # Bank pages receive our auto-submitted forms, so they are allowed form targets.
    form_action = settings.get('canonportal.csp_form_action', '')
    csp = CSP.format(form_action=form_action).replace("'self' ;", "'self';")

    def security_headers_tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault('Content-Security-Policy', csp)
        headers['X-Content-Type-Options'] = 'nosniff'
        headers.setdefault('Referrer-Policy', 'same-origin')
        headers['X-Frame-Options'] = 'DENY'
        if hsts:
            headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains'
        if not request.path_info.startswith('/static/'):
            # Account pages must not be kept by browsers or proxies.
            headers['Cache-Control'] = 'no-store'
            headers['Pragma'] = 'no-cache'
        return response

    return security_headers_tween


def includeme(config):
    config.add_tween('canonportal.headers.security_headers_tween_factory')
