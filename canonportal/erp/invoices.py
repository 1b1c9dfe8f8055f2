"""Invoices: a CSV with the documented columns and/or CFDI 4.0 XML files, with their PDFs.

A CSV row and a CFDI with the same UUID (or serie-folio) are one invoice: the
row must agree with the XML on RFC, serie-folio, currency and total, and
adds what a CFDI does not carry (account, due date, balance). A CFDI alone
is an invoice too. See docs/erp-files.md for the rules on accounts and due
dates. The rows and their CFDIs are read in :mod:`.invoice_rows` and
:mod:`.invoice_cfdis`, what each invoice needs is decided in :mod:`.invoice_plans`;
this module runs the two passes (check, then apply) and writes. The check plans
every row once against the database; the apply carries out the plans it kept,
planning again only the updates (a new invoice is created as planned, after making
sure its serie-folio and UUID are still free).
"""
from ..i18n import _
from ..resources.imports import INVOICES
from ..resources.invoice import Invoice
from .base import Importer
from .documents import Documents
from .invoice_cfdis import CfdiSet
from .invoice_plans import InvoicePlanner
from .invoice_rows import COLUMNS, InvoiceData, Spool, read_csv_row
from .job import CREATED, UNCHANGED, UPDATED, changes_text

AUDIT_UPDATE = 'erp.invoice.update'


class InvoicesImporter(Importer):
    kind = INVOICES
    columns = COLUMNS
    takes_pdfs = True

    def prepare(self):
        super().prepare()
        job = self.job
        self.documents = Documents(job)
        self.documents.check_files()
        store_xml = job.supports_blobs()
        if job.xmls and not store_xml:
            job.warning(job.xmls[0], None, _(
                'La base de datos no guarda archivos (blobs): se importan los datos de los CFDI '
                'pero no el XML.'))
        self.cfdis = CfdiSet(job)
        self.seen_keys = {}
        self.seen_uuids = {}
        self.planner = InvoicePlanner(job, self.documents, store_xml)
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
        self.planner.warn_defaulted_accounts()
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
                plan = self.handle(data)
                if plan is None:
                    continue
                if plan.action == CREATED:
                    data.settle(plan.values)
                self.spool.add(data.record(self.file_index, plan.action, plan.pdf))

    def _apply_kept_rows(self):
        job = self.job
        kept = self.spool.count
        step = sum(table.source.size for table in self.tables) / max(kept, 1)
        for count, record in enumerate(self.spool, 1):
            data, xml, action, pdf = InvoiceData.from_record(record, job.inputs)
            job.row_read()
            if count % 2000 == 0:
                job.advance(step * 2000)
            if xml is not None:
                self.cfdis.taken.add(xml.name)
            if action == UNCHANGED:
                job.count(UNCHANGED)
            elif action == CREATED:
                self.handle(data, self.planner.planned(data, pdf, xml))
            else:
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

    def handle(self, data, plan=None):
        """Plan ``data`` (unless ``plan`` is the check's, see :meth:`InvoicePlanner.planned`)
        and, when applying, carry the plan out; return the plan, or None."""
        job = self.job
        if plan is None:
            if job.checking and not self._first_time(data):
                return None
            plan = self.planner.plan(data)
            if plan is None:
                return None
        job.count(plan.action)
        if plan.pdf is not None:
            self.attached['pdf'] += 1
        if plan.xml is not None:
            self.attached['xml'] += 1
        if not job.checking:
            self.execute(plan)
        return plan

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
