"""``pshell development.ini``: the portal root and the transaction manager at hand."""
from .resources import portal_root


def setup(env):
    request = env['request']
    request.tm.begin()
    env['tm'] = request.tm
    env['root'] = portal_root(request)
