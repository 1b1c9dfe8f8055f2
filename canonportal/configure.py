"""The portal's configuration, in include order (templates → tm → retry → zodbconn → security)."""


def includeme(config):
    config.include('pyramid_chameleon')
    config.include('pyramid_tm')
    config.include('pyramid_retry')
    config.include('pyramid_zodbconn')
    config.include('.mail')
    config.include('.i18n')
    config.include('.security')
    config.include('.banking')
    config.include('.headers')
    config.include('.views')
    config.add_static_view('static', 'canonportal:static/', cache_max_age=3600)
    # The management views: /manage + the path of any object in the tree.
    from .resources import root_factory
    config.add_route('manage', '/manage*traverse', factory=root_factory)
    config.scan('.views')
