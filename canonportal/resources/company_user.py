"""The people of a customer company: each with their own sign-in, role and accounts.

The customer's own credentials (the RFC as user name, as in the manual) are its
first administrator, the "Administrador principal": it cannot be demoted or
disabled by the company, so a company always keeps an administrator. The others
are :class:`CompanyUser` objects in the customer's ``users`` folder, invited by
an administrator and signing in with their email.
"""
import secrets

from .credentials import Credentials
from .ownership import customer_of, lacks_account_principal

#: Roles of a company's users, each allowing what the previous one does and more.
CONSULTA = 'consulta'        # statements, invoices, balances, history; downloads
CAPTURA = 'captura'          # also prepares payments
PAGO = 'pago'                # also approves and pays
ADMINISTRADOR = 'admin'      # also manages the company's users and settings
COMPANY_ROLES = (CONSULTA, CAPTURA, PAGO, ADMINISTRADOR)

#: What each role may do on its customer's subtree (the customer's ACL grants them).
ROLE_PERMISSIONS = {
    CONSULTA: ('view',),
    CAPTURA: ('view', 'prepare', 'pay'),
    PAGO: ('view', 'prepare', 'pay', 'approve'),
    ADMINISTRADOR: ('view', 'prepare', 'pay', 'approve', 'manage-company'),
}


def company_role_principal(rfc, role):
    """The principal a company user of ``rfc`` with ``role`` carries."""
    return f'customer-role:{rfc}:{role}'


def new_user_id():
    """A short random name for a user in its customer's folder (never its email)."""
    return 'u' + secrets.token_hex(6)


class CompanyUser(Credentials):
    """One person of a customer company."""

    __name__ = None
    __parent__ = None
    last_sign_in = None
    invited_by = ''

    def __init__(self, email, name, role, accounts=(), created=None):
        if role not in COMPANY_ROLES:
            raise ValueError(f'unknown role {role!r}')
        self.email = email.strip().lower()
        self.name = name.strip()
        self.role = role
        self.accounts = tuple(accounts)      # empty: every account of the customer
        self.created = created

    @property
    def customer(self):
        """The company this person belongs to."""
        return customer_of(self)

    @property
    def title(self):
        return f'{self.name} <{self.email}>'

    @property
    def display_name(self):
        """How the portal names this person to people."""
        return self.name

    @property
    def shut_out(self):
        """Disabled by the company, or its company disabled by staff: either keeps it out."""
        return bool(self.disabled or self.customer.shut_out)

    @property
    def principal_id(self):
        return f'company-user:{self.customer.rfc}:{self.__name__}'

    def principals(self):
        rfc = self.customer.rfc
        return [company_role_principal(rfc, self.role)] + [
            lacks_account_principal(rfc, account) for account in self.customer.accounts
            if not self.may_see_account(account)]

    def may_see_account(self, account):
        return not self.accounts or account in self.accounts
