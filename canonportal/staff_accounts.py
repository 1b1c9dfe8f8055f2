"""Staff accounts as ``canonportal-adduser`` makes them: the rules of a username, a role,
an email and a password, and the one write that creates the account or gives it a role
and a new password (every session of it ends), audited.

The script runs :func:`add_or_update` on the database it opens; while the serving portal
holds the embedded FileStorage, the portal runs it for the script
(``POST /alta-personal``, :mod:`.views.maintenance`), checking everything again. The staff
page's "Nuevo usuario" (:mod:`.views.manage.staff`) follows the same username rule.
"""
from . import audit, passwords, signin
from .accountmail import EMAIL_RE
from .i18n import _
from .resources import ROLES, StaffUser

#: What a username is made of (it signs in on the same form as an RFC or an email).
USERNAME_CHARS = frozenset('abcdefghijklmnopqrstuvwxyz0123456789._-')
MIN_USERNAME, MAX_USERNAME = 3, 64
#: The longest email and password taken (checked before any work is done on them).
MAX_EMAIL, MAX_PASSWORD = 254, 1024
#: Who the audit log says did it.
CONSOLE_ACTOR = 'console:canonportal-adduser'


class Refused(Exception):
    """The account cannot be made as asked; ``message`` (Spanish) says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return plain(self.message)


def plain(message):
    """A translation string as the console prints it: Spanish, its values filled in."""
    interpolate = getattr(message, 'interpolate', None)
    return interpolate() if interpolate is not None else str(message)


def normal_username(text):
    return (text or '').strip().lower()


def username_problem(username):
    """Why ``username`` (already :func:`normal_username`) is not one, or None."""
    if not MIN_USERNAME <= len(username) <= MAX_USERNAME or not set(username) <= USERNAME_CHARS \
            or not username.replace('.', '').replace('-', '').replace('_', '').isalnum():
        return _('El usuario debe tener de 3 a 64 letras sin acentos, dígitos, puntos, guiones '
                 'o guiones bajos.')
    return None


def email_problem(email):
    """Why ``email`` (lowercase; empty: none) is not an address, or None."""
    if email and (len(email) > MAX_EMAIL or not EMAIL_RE.match(email)):
        return _('Escriba un correo electrónico válido.')
    return None


def request_problem(username, role, email, password):
    """Why the account cannot be made as asked, or None: everything but what the database
    holds, so the script asks nothing of a portal for a request it already knows is bad."""
    if len(password) > MAX_PASSWORD:
        return _('La contraseña es demasiado larga.')
    return (username_problem(username)
            or (None if role in ROLES else _('Elija un rol.'))
            or email_problem(email)
            or passwords.password_problem(password, forbidden=(username,)))


def add_or_update(root, username, role, email, password, actor=CONSOLE_ACTOR):
    """Create staff account ``username`` with ``role``, or give an existing one ``role``
    (and ``email`` when one is given) and a new password, which ends its sessions. Returns
    the line the script prints; raises :class:`Refused`, having changed nothing."""
    username, email = normal_username(username), (email or '').strip().lower()
    problem = request_problem(username, role, email, password)
    if problem:
        raise Refused(problem)
    if root.customers.find_by_rfc(username) is not None:
        raise Refused(_('Ese nombre es el RFC de un cliente; elija otro.'))
    user = root.staff.find(username)
    if user is None:
        user = root.staff.add(username, StaffUser(username, role, email or None))
        action, before = 'created', ''
    else:
        action, before = 'updated', f'role={user.role}'
        user.role = role
        if email:
            user.email = email
    signin.set_password(user, password)
    audit.record(root, actor, f'staff.{action}', user, before, f'role={role}', 'password set')
    return f'{action} staff user {username} ({role})'
