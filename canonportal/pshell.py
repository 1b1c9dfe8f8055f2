"""``pshell development.ini``: the portal root and the transaction manager at hand.

``tm`` is the request's explicit transaction manager (``tm.manager_hook =
pyramid_tm.explicit_manager``): a transaction is begun for you, and after
``tm.commit()`` or ``tm.abort()`` nothing can be read or changed until
``tm.begin()``. ``commit()`` and ``abort()`` do both steps at once.
"""
from .resources import portal_root


def setup(env):
    request = env['request']
    tm = request.tm
    tm.begin()

    def commit():
        """Commit the changes made so far and begin a new transaction."""
        tm.commit()
        tm.begin()

    def abort():
        """Drop the changes made since the last commit and begin a new transaction."""
        tm.abort()
        tm.begin()

    env['tm'] = tm
    env['root'] = portal_root(request)
    env['commit'] = commit
    env['abort'] = abort
