"""Customers: RFC, razón social, ERP accounts and contact email (CSV)."""
from ..i18n import _
from ..resources import Customer
from ..resources.imports import CUSTOMERS
from . import fields
from .base import Cells, Importer
from .files import Column
from .job import CREATED, UNCHANGED, UPDATED, changes_text

AUDIT_UPDATE = 'erp.customer.update'

COLUMNS = (
    Column('rfc', 'RFC', required=True),
    Column('name', 'Razón social', ('Nombre', 'Nombre o razón social', 'Cliente'), required=True),
    Column('accounts', 'Cuentas', ('Cuenta', 'Cuentas ERP', 'Cuenta ERP'), required=True),
    Column('email', 'Correo', ('Correo electrónico', 'Email', 'E-mail', 'Correo de contacto')),
)


class CustomersImporter(Importer):
    kind = CUSTOMERS
    columns = COLUMNS

    def prepare(self):
        super().prepare()
        self.seen = {}       # rfc -> (file, line)
        self.accounts = {}   # account -> (rfc, file, line), over the whole import

    def read_row(self, table, line, cells):
        rfc_text, name_text, accounts_text, email_text = cells
        row = Cells()
        rfc = row.read_rfc(rfc_text)
        name = row.read(fields.name, name_text, 'Razón social')
        accounts = row.read(fields.accounts, accounts_text)
        email = row.read(fields.email, email_text)
        if not row.report(self.job, table.source, line):
            return None
        values = {'name': name, 'accounts': accounts}
        if table.has('email'):
            values['contact_email'] = email
        return rfc, values

    def check_row(self, table, line, cells):
        read = self.read_row(table, line, cells)
        if read is None:
            return
        rfc, values = read
        job = self.job
        first = self.seen.setdefault(rfc, (table.source.name, line))
        if first != (table.source.name, line):
            job.error(table.source, line, _('El RFC ${rfc} está repetido; ya aparece en la línea '
                                            '${line}.', mapping={'rfc': rfc, 'line': first[1]}))
            return
        for account in values['accounts']:
            owner = self.accounts.setdefault(account, (rfc, table.source.name, line))
            if owner[0] != rfc:
                job.error(table.source, line, _(
                    'La cuenta ${account} también está en la línea ${line} (RFC ${rfc}).',
                    mapping={'account': account, 'line': owner[2], 'rfc': owner[0]}))
        existing = job.customer(rfc)
        if existing is None:
            job.count(CREATED)
            return
        changes = self.changes(existing, values)
        removed = [a for a in existing.accounts if a not in values['accounts']]
        if removed:
            job.warning(table.source, line, _(
                'Al cliente ${rfc} se le quitan las cuentas ${accounts}; sus facturas y estados de '
                'cuenta se conservan.', mapping={'rfc': rfc, 'accounts': ', '.join(removed)}))
        job.count(UPDATED if changes else UNCHANGED)

    def check_done(self):
        """An account already belongs to another customer unless this file moves it."""
        owners = self.job.account_owners()
        for account, (rfc, source, line) in self.accounts.items():
            owner = owners.get(account, rfc)
            if owner is not None and owner != rfc and owner not in self.seen:
                self.job.error(source, line, _(
                    'La cuenta ${account} ya es del cliente ${owner} en el portal.',
                    mapping={'account': account, 'owner': owner}))

    def apply_row(self, table, line, cells):
        rfc, values = self.read_row(table, line, cells)
        job = self.job
        existing = job.customer(rfc)
        if existing is None:
            customer = Customer(rfc, values['name'], values['accounts'],
                                email=values.get('contact_email'))
            job.root.customers.add_customer(customer)
            job.count(CREATED)
            job.wrote()
            return
        changes = self.changes(existing, values)
        if not changes:
            job.count(UNCHANGED)
            return
        for name, (_before, after) in changes.items():
            setattr(existing, name, after)
        job.audit(AUDIT_UPDATE, existing, changes_text(changes, 0), changes_text(changes, 1))
        job.count(UPDATED)
        job.wrote()

    @staticmethod
    def changes(customer, values):
        return {name: (getattr(customer, name, None), value) for name, value in values.items()
                if getattr(customer, name, None) != value}
