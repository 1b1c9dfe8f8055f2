"""Statements (estados de cuenta): id, account, issue date and time, and the ERP's PDF.

The account says whose statement it is. A row without a PDF leaves the
statement to be drawn by the portal (or keeps the PDF it already has).
"""
from ..i18n import _
from ..resources import Statement
from ..resources.imports import STATEMENTS
from . import fields
from .base import Cells, Importer
from .documents import Documents
from .files import Column
from .job import CREATED, UNCHANGED, UPDATED, changes_text

AUDIT_UPDATE = 'erp.statement.update'

COLUMNS = (
    Column('statement', 'Estado de cuenta', ('Número de estado de cuenta', 'No. estado de cuenta',
                                             'Folio estado de cuenta', 'Id estado de cuenta'),
           required=True),
    Column('account', 'Cuenta', ('Cuenta ERP',), required=True),
    Column('issued', 'Fecha de emisión', ('Fecha', 'Fecha y hora de emisión', 'Emitido'),
           required=True),
    Column('pdf', 'Archivo PDF', ('PDF',)),
    Column('start', 'Periodo desde', ('Desde', 'Inicio del periodo')),
    Column('end', 'Periodo hasta', ('Hasta', 'Fin del periodo')),
    Column('rfc', 'RFC'),
)


class StatementsImporter(Importer):
    kind = STATEMENTS
    columns = COLUMNS
    takes_pdfs = True

    def prepare(self):
        super().prepare()
        self.documents = Documents(self.job)
        self.documents.check_files()
        self.seen = {}

    def check(self):
        super().check()
        self.documents.warn_unclaimed()

    def plan(self, table, line, cells):
        """``(action, customer, id, existing, values, changes, pdf)``, or None after reporting."""
        (id_text, account_text, issued_text, pdf_text, start_text, end_text, rfc_text) = cells
        job = self.job
        source = table.source
        row = Cells()
        statement_id = row.read(fields.document_id, id_text, 'Estado de cuenta')
        account = row.read(fields.account, account_text)
        issued = row.read(fields.moment, issued_text, 'Fecha de emisión')
        start = row.read(fields.day, start_text, 'Periodo desde') if start_text.strip() else None
        end = row.read(fields.day, end_text, 'Periodo hasta') if end_text.strip() else None
        rfc = None
        if rfc_text.strip():
            read = row.read(fields.rfc, rfc_text)
            rfc = read[0] if read is not None else None
        if start is not None and end is not None and end < start:
            row.problems.append(_('El periodo termina antes de empezar.'))
        if not row.report(job, source, line):
            return None

        problems = []
        owners = job.account_owners()
        owner = owners.get(account)
        customer = job.customer(owner) if owner else None
        if account in owners and owner is None:
            problems.append(_('La cuenta ${account} está en más de un cliente; corrija los '
                              'clientes antes de importar sus estados de cuenta.',
                              mapping={'account': account}))
        elif customer is None:
            problems.append(_('La cuenta ${account} no es de ningún cliente del portal.',
                              mapping={'account': account}))
        elif rfc is not None and customer.rfc != rfc:
            problems.append(_('La cuenta ${account} es del cliente ${owner}, no de ${rfc}.',
                              mapping={'account': account, 'owner': customer.rfc, 'rfc': rfc}))
        pdf = None
        if pdf_text.strip():
            pdf = self.documents.named(pdf_text)
            if pdf is None:
                problems.append(_('El PDF ${name} que indica la fila no está entre los archivos.',
                                  mapping={'name': pdf_text.strip()}))
        elif self.documents:
            pdf = self.documents.find([statement_id])
        for reason in problems:
            job.error(source, line, reason)
        if problems:
            return None
        if job.checking:
            where = (customer.rfc, statement_id)
            first = self.seen.setdefault(where, (source.name, line))
            if first != (source.name, line):
                job.error(source, line, _(
                    'El estado de cuenta ${id} está repetido; ya aparece en la línea ${line}.',
                    mapping={'id': statement_id, 'line': first[1]}))
                return None
        self.documents.claim(pdf, f'estado de cuenta {statement_id}', source, line)

        values = {'account': account, 'issued': issued}
        if start is not None or end is not None:
            values.update(period_start=start, period_end=end)
        existing = customer.statements.get(statement_id)
        changes = {}
        if existing is not None:
            changes = {name: (getattr(existing, name), value) for name, value in values.items()
                       if getattr(existing, name) != value}
            if pdf is not None and existing.pdf is not None \
                    and job.blob_sha256(existing.pdf) == pdf.sha256:
                pdf = None
        if existing is None:
            action = CREATED
        else:
            action = UPDATED if changes or pdf is not None else UNCHANGED
        return action, customer, statement_id, existing, values, changes, pdf

    def check_row(self, table, line, cells):
        plan = self.plan(table, line, cells)
        if plan is not None:
            self.job.count(plan[0])

    def apply_row(self, table, line, cells):
        action, customer, statement_id, existing, values, changes, pdf = \
            self.plan(table, line, cells)
        job = self.job
        job.count(action)
        if action == CREATED:
            statement = Statement(statement_id, values['account'], values['issued'],
                                  values.get('period_start'), values.get('period_end'))
            if pdf is not None:
                statement.pdf = job.blob_from(pdf)
            customer.add_statement(statement)
            job.wrote()
        elif action == UPDATED:
            for name, (_before, after) in changes.items():
                setattr(existing, name, after)
            before, after = changes_text(changes, 0), changes_text(changes, 1)
            if pdf is not None:
                before['pdf'] = 'sí' if existing.pdf is not None else ''
                after['pdf'] = pdf.name
                existing.pdf = job.blob_from(pdf)
            job.audit(AUDIT_UPDATE, existing, before, after)
            job.wrote()
