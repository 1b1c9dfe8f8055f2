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

    # Worked out once: (name, lowercased, value); "set" replaces what a view put, "default"
    # only fills in what it did not.
    always = [('X-Content-Type-Options', 'nosniff'), ('X-Frame-Options', 'DENY')]
    if hsts:
        always.append(('Strict-Transport-Security', 'max-age=31536000; includeSubDomains'))
    # Account pages must not be kept by browsers or proxies.
    not_kept = [('Cache-Control', 'no-store'), ('Pragma', 'no-cache')]
    set_everywhere = tuple((name, name.lower(), value) for name, value in always)
    set_on_pages = set_everywhere + tuple((name, name.lower(), value) for name, value in not_kept)
    defaults = tuple((name, name.lower(), value) for name, value in (
        ('Content-Security-Policy', csp), ('Referrer-Policy', 'same-origin')))

    def security_headers_tween(request):
        response = handler(request)
        headerlist = response.headerlist
        present = {name.lower() for name, _value in headerlist}
        setting = set_everywhere if request.path_info.startswith('/static/') else set_on_pages
        for name, lowered, value in setting:
            if lowered in present:
                response.headers[name] = value
            else:
                headerlist.append((name, value))
        headerlist.extend((name, value) for name, lowered, value in defaults
                          if lowered not in present)
        return response

    return security_headers_tween


def includeme(config):
    config.add_tween('canonportal.headers.security_headers_tween_factory')
