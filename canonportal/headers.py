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
        headerlist = response.headerlist
        present = {name.lower() for name, _value in headerlist}
        wanted = [('X-Content-Type-Options', 'nosniff'), ('X-Frame-Options', 'DENY')]
        if hsts:
            wanted.append(('Strict-Transport-Security', 'max-age=31536000; includeSubDomains'))
        if not request.path_info.startswith('/static/'):
            wanted += [('Cache-Control', 'no-store'), ('Pragma', 'no-cache')]
        headers = response.headers
        for name, value in wanted:
            if name.lower() in present:
                headers[name] = value
            else:
                headerlist.append((name, value))
        for name, value in (('Content-Security-Policy', csp), ('Referrer-Policy', 'same-origin')):
            if name.lower() not in present:
                headerlist.append((name, value))
        return response

    return security_headers_tween


def includeme(config):
    config.add_tween('canonportal.headers.security_headers_tween_factory')
