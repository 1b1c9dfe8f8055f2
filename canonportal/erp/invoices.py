"""Invoices: a CSV with the documented columns and/or CFDI 4.0 XML files, with their PDFs.

A CSV row and a CFDI with the same UUID (or serie-folio) are one invoice: the
row must agree with the XML on RFC, serie-folio, currency and total, and
adds what a CFDI does not carry (account, due date, balance). A CFDI alone
is an invoice too. See docs/erp-files.md for the rules on accounts and due
dates. The rows and their CFDIs are read in :mod:`.invoice_rows` and
:mod:`.invoice_cfdis`; this module decides what each invoice needs and writes it.
"""
import datetime

from ..i18n import _
from ..money import ZERO
from ..resources import customer_of
from ..resources.imports import INVOICES
from ..resources.invoice import USD, Invoice
from .base import Importer
from .documents import Documents, invoice_stems
from .invoice_cfdis import CfdiSet
from .invoice_rows import COLUMNS, InvoiceData, Spool, read_csv_row
from .job import CREATED, UNCHANGED, UPDATED, changes_text

#: Days of credit when neither the CSV nor the CFDI's CondicionesDePago say.
DEFAULT_CREDIT_DAYS = 30

AUDIT_UPDATE = 'erp.invoice.update'

#: How the money fields are named when a change to them is refused.
MONEY_FIELDS = {'amount': 'Total', 'currency': 'Moneda', 'exchange_rate': 'Tipo de cambio'}


class Plan:
    """What one invoice needs: create, update (with ``changes``) or nothing."""

    __slots__ = ('action', 'customer', 'existing', 'values', 'changes', 'pdf', 'xml', 'data',
                 'reindex')

    def __init__(self, action, customer, existing, values, changes, pdf, xml, data, reindex):
        self.action, self.customer, self.existing = action, customer, existing
        self.values, self.changes, self.pdf, self.xml, self.data = values, changes, pdf, xml, data
        self.reindex = reindex


class InvoicesImporter(Importer):
    kind = INVOICES
    columns = COLUMNS
    takes_pdfs = True

    def prepare(self):
        super().prepare()
        job = self.job
        self.documents = Documents(job)
        self.documents.check_files()
        self.store_xml = job.supports_blobs()
        if job.xmls and not self.store_xml:
            job.warning(job.xmls[0], None, _(
                'La base de datos no guarda archivos (blobs): se importan los datos de los CFDI '
                'pero no el XML.'))
        self.cfdis = CfdiSet(job)
        self.seen_keys = {}
        self.seen_uuids = {}
        self.defaulted = {}
        self.attached = {'pdf': 0, 'xml': 0}
        self.file_index = {id(source): index for index, source in enumerate(job.inputs)}

    def progress_units(self):
        return super().progress_units() + self.cfdis.size()

    # --- both passes -----------------------------------------------------------------

    def check(self):
        self.spool = Spool()
        self._run(self._check_csv_rows)
        job = self.job
        self.documents.warn_unclaimed()
        for rfc, (count, source, line, account, accounts) in sorted(self.defaulted.items()):
            job.warning(source, line, _(
                'Facturas del cliente ${rfc} sin cuenta: ${count}; se les asignó ${account}, la '
                'primera de sus ${accounts} cuentas.',
                mapping={'count': count, 'rfc': rfc, 'account': account, 'accounts': accounts}))
        # Only needed to find repeated rows; the apply does not look again.
        self.seen_keys = self.seen_uuids = None

    def apply(self):
        self.unindexed = []
        self._run(self._apply_kept_rows)
        self._index_uuids()

    def _index_uuids(self):
        """Index the UUIDs of the invoices written, in sorted order (see :meth:`execute`)."""
        index = self.job.root.invoices_by_uuid
        self.unindexed.sort(key=lambda pair: pair[0])
        for uuid, invoice in self.unindexed:
            index[uuid] = invoice
            self.job.wrote()
        self.unindexed = []

    def close(self):
        spool = getattr(self, 'spool', None)
        if spool is not None:
            spool.close()

    def _run(self, csv_pass):
        self.cfdis.taken.clear()
        self.attached = {'pdf': 0, 'xml': 0}
        csv_pass()
        for source, cfdi in self.cfdis.not_taken():
            self.job.row_read()
            self.handle(InvoiceData(
                source, None, cfdi.receptor_rfc, None, cfdi.serie, cfdi.folio, cfdi.uuid,
                cfdi.issued, None, cfdi.currency, cfdi.exchange_rate, cfdi.total, None,
                cfdi.method, cfdi=cfdi, xml=source))
        self.job.advance(self.cfdis.size())
        if self.attached['pdf'] or self.attached['xml']:
            self.job.note(_('Documentos guardados: ${pdf} PDF y ${xml} XML.', mapping=self.attached))

    # The check keeps each row it accepted, with its planned outcome, in the spool
    # (see canonportal.erp.invoice_rows); the apply reads them back.

    def _check_csv_rows(self):
        for table in self.tables:
            for line, cells in self.rows(table):
                data = self.read_row(table.source, line, cells)
                if data is None:
                    continue
                action = self.handle(data)
                if action is None:
                    continue
                self.spool.add(data.record(self.file_index, action))

    def _apply_kept_rows(self):
        job = self.job
        kept = self.spool.count
        step = sum(table.source.size for table in self.tables) / max(kept, 1)
        for count, record in enumerate(self.spool, 1):
            data, xml, action = InvoiceData.from_record(record, job.inputs)
            job.row_read()
            if count % 2000 == 0:
                job.advance(step * 2000)
            if xml is not None:
                self.cfdis.taken.add(xml.name)
            if action == UNCHANGED:
                job.count(UNCHANGED)
                continue
            if xml is not None:
                data.xml, data.cfdi = xml, self.cfdis.by_file[xml.name]
            self.handle(data)
        job.advance(step * (kept % 2000))

    def read_row(self, source, line, cells):
        """The row as :class:`InvoiceData` joined to its CFDI, or None after reporting why not."""
        data = read_csv_row(self.job, source, line, cells)
        if data is None or (self.cfdis and not self.cfdis.join(data)):
            return None
        return data

    def handle(self, data):
        """Plan ``data`` (and, when applying, carry the plan out); return the outcome or None."""
        job = self.job
        if job.checking and not self._first_time(data):
            return None
        plan = self.plan(data)
        if plan is None:
            return None
        job.count(plan.action)
        if plan.pdf is not None:
            self.attached['pdf'] += 1
        if plan.xml is not None:
            self.attached['xml'] += 1
        if not job.checking:
            self.execute(plan)
        return plan.action

    def _first_time(self, data):
        """Within the import, a serie-folio and a UUID appear once."""
        where = self._where(data)
        first = self.seen_keys.setdefault(data.key, where)
        if first != where:
            self.job.error(data.source, data.line, _(
                'La factura ${key} está repetida; ya aparece en ${where}.',
                mapping={'key': data.key, 'where': self._where_text(first)}))
            return False
        if data.uuid:
            first = self.seen_uuids.setdefault(data.uuid, where)
            if first != where:
                self.job.error(data.source, data.line, _(
                    'El UUID ${uuid} está repetido; ya aparece en ${where}.',
                    mapping={'uuid': data.uuid, 'where': self._where_text(first)}))
                return False
        return True

    def _where(self, data):
        # One int per key keeps a million-row file's memory small.
        return self.file_index[id(data.source)] * 1_000_000_000 + (data.line or 0)

    def _where_text(self, where):
        source = self.job.inputs[where // 1_000_000_000]
        line = where % 1_000_000_000
        return f'{source.name}, línea {line}' if line else source.name

    # --- deciding ----------------------------------------------------------------------

    def plan(self, data):
        """What to do with ``data``; None (after reporting why) when it cannot be imported."""
        job = self.job
        problems = []
        customer = job.customer(data.rfc)
        if customer is None:
            job.error(data.source, data.line, _(
                'El cliente con RFC ${rfc} no existe en el portal; impórtelo primero con el '
                'archivo de clientes.', mapping={'rfc': data.rfc}))
            return None
        key = data.key
        existing = job.root.invoices_by_key.get(key)
        indexed = None
        if existing is not None:
            owner = customer_of(existing).rfc
            if owner != customer.rfc:
                problems.append(_('La factura ${key} ya existe en el portal y es del cliente '
                                  '${owner}.', mapping={'key': key, 'owner': owner}))
        if data.uuid:
            other = indexed = job.root.invoices_by_uuid.get(data.uuid)
            if other is not None and other is not existing:
                problems.append(_('El UUID ${uuid} ya está registrado en la factura ${other}.',
                                  mapping={'uuid': data.uuid, 'other': other.key}))
            if existing is not None and existing.uuid and existing.uuid != data.uuid:
                problems.append(_('El folio ${key} ya existe con otro UUID (${stored}); el '
                                  'archivo trae ${uuid}.',
                                  mapping={'key': key, 'stored': existing.uuid,
                                           'uuid': data.uuid}))
        if data.amount <= ZERO:
            problems.append(_('El total de la factura ${key} debe ser mayor que cero.',
                              mapping={'key': key}))
        account = self._account(data, customer, existing, problems)
        if problems:
            for reason in problems:
                job.error(data.source, data.line, reason)
            return None

        values = self._values(data, existing, account)
        if values['balance'] > values['amount']:
            job.error(data.source, data.line, _(
                'El saldo (${balance}) es mayor que el total (${amount}).', mapping=values))
            return None
        changes = {}
        if existing is not None:
            changes = {name: (getattr(existing, name), value) for name, value in values.items()
                       if getattr(existing, name) != value}
            if not self._money_changes_allowed(data, existing, changes):
                return None
            if values['balance'] < existing.in_transit:
                job.warning(data.source, data.line, _(
                    'El saldo ${balance} de la factura ${key} es menor que lo que tiene en '
                    'tránsito (${transit}).', mapping={'balance': values['balance'], 'key': key,
                                                       'transit': existing.in_transit}))

        pdf = self._pdf(data, customer)
        if pdf is False:
            return None
        if pdf is not None and existing is not None and existing.pdf is not None \
                and job.blob_sha256(existing.pdf) == pdf.sha256:
            pdf = None
        xml = data.xml if self.store_xml else None
        if xml is not None and existing is not None and existing.cfdi_xml is not None \
                and job.blob_sha256(existing.cfdi_xml) == xml.sha256:
            xml = None
        # An invoice the UUID index lacks (an import stopped half way) gets indexed now.
        reindex = bool(values['uuid']) and (
            existing is None or 'uuid' in changes
            or (indexed if data.uuid else job.root.invoices_by_uuid.get(values['uuid'])) is None)
        if existing is None:
            action = CREATED
        elif changes or pdf is not None or xml is not None or reindex:
            action = UPDATED
        else:
            action = UNCHANGED
        return Plan(action, customer, existing, values, changes, pdf, xml, data, reindex)

    def _account(self, data, customer, existing, problems):
        """The account of the invoice (see docs/erp-files.md, "Cuenta de una factura")."""
        if data.account is not None:
            if data.account not in customer.accounts:
                problems.append(_('La cuenta ${account} no es del cliente ${rfc} (sus cuentas: '
                                  '${accounts}).', mapping={
                                      'account': data.account, 'rfc': customer.rfc,
                                      'accounts': ', '.join(customer.accounts) or '-'}))
            return data.account
        if existing is not None:
            return existing.account
        if not customer.accounts:
            problems.append(_('El cliente ${rfc} no tiene cuentas del ERP; impórtelas con el '
                              'archivo de clientes.', mapping={'rfc': customer.rfc}))
            return None
        first = customer.accounts[0]
        if data.cfdi is not None and data.cfdi.account_hints:
            for hint in data.cfdi.account_hints:
                if hint in customer.accounts:
                    return hint
            self.job.warning(data.source, data.line, _(
                'El CFDI indica la cuenta ${hint}, que no es del cliente ${rfc}; se asignó '
                '${account}.', mapping={'hint': data.cfdi.account_hints[0], 'rfc': customer.rfc,
                                        'account': first}))
            return first
        if len(customer.accounts) > 1 and self.job.checking:
            entry = self.defaulted.get(customer.rfc)
            if entry is None:
                self.defaulted[customer.rfc] = [1, data.source.name, data.line, first,
                                                len(customer.accounts)]
            else:
                entry[0] += 1
        return first

    def _values(self, data, existing, account):
        due = data.due
        if due is None and existing is not None:
            due = existing.due
        if due is None:
            days = data.cfdi.terms_days if data.cfdi is not None else None
            due = data.issued + datetime.timedelta(
                days=days if days is not None else DEFAULT_CREDIT_DAYS)
        amount = data.amount
        if data.balance is not None:
            balance = data.balance
        elif existing is None:
            balance = amount
        elif amount != existing.amount:
            # What the ERP had already collected stays collected.
            balance = max(amount - (existing.amount - existing.balance), ZERO)
        else:
            balance = existing.balance
        method = data.method or (existing.metodo_pago if existing is not None else None)
        uuid = data.uuid or (existing.uuid if existing is not None else None)
        return {
            'account': account, 'issued': data.issued, 'due': due, 'currency': data.currency,
            'amount': amount, 'exchange_rate': data.rate if data.currency == USD else None,
            'uuid': uuid, 'metodo_pago': method, 'balance': balance,
        }

    def _money_changes_allowed(self, data, existing, changes):
        """An invoice with portal payments keeps its total, currency and rate."""
        touched = [name for name in MONEY_FIELDS if name in changes]
        if not touched or not (existing.reservations or existing.applied):
            return True
        references = sorted({ref for ref, _ in existing.reservations + existing.applied})
        listed = '; '.join(f'{MONEY_FIELDS[name]} {_shown(changes[name][0])} → '
                           f'{_shown(changes[name][1])}' for name in touched)
        self.job.error(data.source, data.line, _(
            'La factura ${key} tiene pagos del portal (${payments}); no se cambia su importe, '
            'moneda ni tipo de cambio (${changes}). Revísela con tesorería antes de importar.',
            mapping={'key': existing.key, 'payments': ', '.join(references), 'changes': listed}))
        return False

    def _pdf(self, data, customer):
        """The PDF of the invoice (or None); False when a named PDF is missing."""
        documents = self.documents
        if data.pdf_name:
            pdf = documents.named(data.pdf_name)
            if pdf is None:
                self.job.error(data.source, data.line, _(
                    'El PDF ${name} que indica la fila no está entre los archivos.',
                    mapping={'name': data.pdf_name}))
                return False
        elif documents:
            extra = (data.xml.stem,) if data.xml is not None else ()
            pdf = documents.find(invoice_stems(data.serie, data.folio, data.uuid, customer.rfc,
                                               extra))
        else:
            return None
        documents.claim(pdf, f'factura {data.key}', data.source, data.line)
        return pdf

    # --- writing ---------------------------------------------------------------------

    def execute(self, plan):
        job = self.job
        values = plan.values
        if plan.action == CREATED:
            data = plan.data
            # Added without its UUID, which is indexed at the end in sorted order: random
            # UUIDs inserted as they come would rewrite most of the index's buckets in
            # every batch of a million-row file.
            invoice = Invoice(data.folio, values['account'], values['issued'], values['due'],
                              values['currency'], values['amount'],
                              exchange_rate=values['exchange_rate'], serie=data.serie,
                              balance=values['balance'])
            if values['metodo_pago']:
                invoice.metodo_pago = values['metodo_pago']
            if invoice.balance == invoice.amount:
                invoice.balance = invoice.amount   # one Decimal, pickled once
            if plan.pdf is not None:
                invoice.pdf = job.blob_from(plan.pdf)
            if plan.xml is not None:
                invoice.cfdi_xml = job.blob_from(plan.xml)
            plan.customer.add_invoice(invoice)
            if values['uuid']:
                invoice.uuid = values['uuid']
                self.unindexed.append((invoice.uuid, invoice))
            job.wrote()
        elif plan.action == UPDATED:
            invoice = plan.existing
            for name, (_before, after) in plan.changes.items():
                setattr(invoice, name, after)
            if 'balance' in plan.changes or 'due' in plan.changes:
                invoice.reindex()   # its place on SALDOS, or off it
            if plan.reindex:
                self.unindexed.append((invoice.uuid, invoice))
            if not (plan.changes or plan.pdf is not None or plan.xml is not None):
                return
            before, after = changes_text(plan.changes, 0), changes_text(plan.changes, 1)
            if plan.pdf is not None:
                before['pdf'] = 'sí' if invoice.pdf is not None else ''
                after['pdf'] = plan.pdf.name
                invoice.pdf = job.blob_from(plan.pdf)
            if plan.xml is not None:
                before['xml'] = 'sí' if invoice.cfdi_xml is not None else ''
                after['xml'] = plan.xml.name
                invoice.cfdi_xml = job.blob_from(plan.xml)
            job.audit(AUDIT_UPDATE, invoice, before, after)
            job.wrote()


def _shown(value):
    return '(vacío)' if value is None else str(value)
