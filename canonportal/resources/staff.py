"""Staff accounts: the people who run the portal and browse the tree."""
from .credentials import Credentials, LoginAttempts
from .folder import Folder

ADMIN = 'admin'
OPERATOR = 'operator'
AUDITOR = 'auditor'
ROLES = (ADMIN, OPERATOR, AUDITOR)


def role_principal(role):
    return f'role:{role}'


class StaffFolder(Folder):
    """Staff users keyed by lowercase username."""

    title = 'Personal'

    def find(self, username):
        return self.get((username or '').strip().lower())


class StaffUser(Credentials):
    """A staff member with one role."""

    __name__ = None
    __parent__ = None

    def __init__(self, username, role, email=None):
        if role not in ROLES:
            raise ValueError(f'unknown role {role!r}')
        self.username = username.strip().lower()
        self.role = role
        self.email = email
        self.login_attempts = LoginAttempts()

    @property
    def title(self):
        return self.username

    @property
    def principal_id(self):
        return f'staff:{self.username}'
