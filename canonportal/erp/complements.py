"""Payment complements (REP): the stamped XML of each, and its PDF, from the ERP.

Each XML is read by :mod:`.rep` (a CFDI 4.0 of type P with Pagos 2.0, bounded), then
checked against the portal by :mod:`.rep_checks`: the issuer is the company
(``canonportal.issuer_rfc``), the receiver a known customer, each document a known invoice
of that customer, instalments and balances in step with what the portal recorded, and
each payment matched to the portal payment it documents (or kept as a payment the ERP
applied from outside the portal). A PDF goes with the XML of the same file name, or of the
UUID it is named after.

All or nothing, as every import: any problem and nothing is written. A REP already imported
(its UUID) changes nothing and is reported so (a PDF it lacked is added). One that replaces
a known REP (CfdiRelacionados, TipoRelacion 04) supersedes it: the old one stays, marked.
"""
from ..i18n import _
from ..resources.complement import (
    Complement, ComplementPayment, PaidDocument, add_complement, supersede,
)
from ..resources.imports import COMPLEMENTS
from .base import Importer
from .cfdi import CfdiError
from .documents import Documents
from .job import CREATED, UNCHANGED, UPDATED
from .rep import MAX_REP_BYTES, parse
from .rep_checks import Checker

AUDIT_REPLACE = 'erp.complement.replace'
AUDIT_PDF = 'erp.complement.pdf'
#: The setting that names the company that issues the invoices and their REPs.
ISSUER_SETTING = 'canonportal.issuer_rfc'
MAX_FILES = 1000
MAX_PDF_BYTES = 20 * 1024 * 1024


class Plan:
    """What one XML will do: create a complement (maybe replacing others), add a PDF to one
    already imported, or nothing."""

    def __init__(self, source, rep, customer, action, existing=None, pdf=None):
        self.source, self.rep, self.customer = source, rep, customer
        self.action, self.existing, self.pdf = action, existing, pdf
        self.matches = []        # per Pago: the portal payment's reference, or None
        self.replaces = []       # the Complements it supersedes


class ComplementsImporter(Importer):
    kind = COMPLEMENTS
    takes_pdfs = True

    def prepare(self):
        job = self.job
        for source in job.csvs:
            job.error(source, None, _('Los complementos de pago se importan como XML (y su '
                                      'PDF), sin CSV.'))
        if len(job.xmls) > MAX_FILES:
            job.error('', None, _('Se pueden importar hasta ${limit} complementos a la vez.',
                                  mapping={'limit': MAX_FILES}))
        if not job.xmls:
            job.error('', None, _('Falta el XML del complemento de pago.'))
        self.issuer = (job.settings.get(ISSUER_SETTING) or '').strip().upper()
        if not self.issuer:
            job.error('', None, _('Falta el RFC de la empresa emisora (canonportal.issuer_rfc '
                                  'en el archivo .ini): sin él no se comprueba quién emitió '
                                  'los complementos.'))
        for pdf in job.pdfs:
            if pdf.size > MAX_PDF_BYTES:
                job.error(pdf, None, _('El PDF ${name} pesa más de 20 MB.',
                                       mapping={'name': pdf.name}))
        self.documents = Documents(job)
        self.documents.check_files()
        self.plans = []

    def progress_units(self):
        return sum(source.size for source in self.job.xmls)

    def check(self):
        job = self.job
        checker = Checker(job, self.issuer)
        for source in job.xmls:
            job.row_read()
            job.advance(source.size)
            if source.size > MAX_REP_BYTES:
                job.error(source, None, _('El XML pesa más de 2 MB; no parece un complemento '
                                          'de pago.'))
                continue
            try:
                rep = parse(source.read_all())
            except CfdiError as error:
                job.error(source, error.line, error.reason)
                continue
            for line, warning in rep.warnings:
                job.warning(source, line, warning)
            plan = self._plan(checker, source, rep)
            if plan is not None:
                self.plans.append(plan)
                job.count(plan.action)
        self.documents.warn_unclaimed()
        self._notes()

    def _plan(self, checker, source, rep):
        job = self.job
        customer = checker.receiver(source, rep)
        if customer is None:
            return None
        pdf = self.documents.find([rep.uuid, source.stem])
        self.documents.claim(pdf, f'complemento {rep.uuid}', source, None)
        existing = checker.known(source, rep, customer)
        if existing is not None:
            job.warning(source, None, _('El complemento ${uuid} ya estaba importado; no cambió '
                                        'nada.', mapping={'uuid': rep.uuid}))
            if pdf is not None and existing.pdf is None:
                return Plan(source, rep, customer, UPDATED, existing, pdf)
            return Plan(source, rep, customer, UNCHANGED, existing)
        plan = Plan(source, rep, customer, CREATED, pdf=pdf)
        plan.replaces = checker.replaced(source, rep, customer)
        plan.matches = checker.payments(source, rep, customer, plan.replaces)
        return plan if plan.matches is not None else None

    def _notes(self):
        created = [plan for plan in self.plans if plan.action == CREATED]
        outside = sum(1 for plan in created for ref in plan.matches if ref is None)
        replacing = sum(1 for plan in created if plan.replaces)
        if created:
            self.job.note(_('Complementos de pago nuevos: ${count} (pagos fuera del portal: '
                            '${outside}; sustituyen a otro: ${replacing}).',
                            mapping={'count': len(created), 'outside': outside,
                                     'replacing': replacing}))

    def apply(self):
        job = self.job
        for plan in self.plans:
            job.count(plan.action)
            if plan.action == UPDATED:
                plan.existing.pdf = job.blob_from(plan.pdf)
                job.audit(AUDIT_PDF, plan.existing, '', {'pdf': plan.pdf.name})
                job.wrote()
            elif plan.action == CREATED:
                self._create(plan)
        self._notes()

    def _create(self, plan):
        job = self.job
        rep, customer = plan.rep, plan.customer
        invoices = job.root.invoices_by_uuid
        payments = []
        for pago, reference in zip(rep.payments, plan.matches):
            documents = []
            for d in pago.documents:
                invoice = invoices[d.invoice_uuid]
                documents.append(PaidDocument(
                    invoice_uuid=d.invoice_uuid, invoice_key=invoice.key,
                    account=invoice.account, currency=d.currency, instalment=d.instalment,
                    balance_before=d.balance_before, paid=d.paid,
                    balance_after=d.balance_after))
            payments.append(ComplementPayment(
                paid_on=pago.paid_on, amount=pago.amount, currency=pago.currency,
                operation=pago.operation, reference=reference, documents=tuple(documents)))
        complement = Complement(rep.uuid, customer.rfc, rep.issued, payments, job.now,
                                job.name)
        complement.xml = job.blob_from(plan.source)
        if plan.pdf is not None:
            complement.pdf = job.blob_from(plan.pdf)
        add_complement(customer, complement)
        for old in plan.replaces:
            supersede(customer, old, complement)
            job.audit(AUDIT_REPLACE, old, {'uuid': old.uuid}, {'replaced_by': complement.uuid})
        job.wrote()
