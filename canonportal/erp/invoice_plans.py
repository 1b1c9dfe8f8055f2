"""Deciding what one imported invoice needs: create it, update it (which fields), or nothing,
after checking it against the tree (its customer, the owners of its serie-folio and UUID, its
total and balance, its account, the money of an invoice with portal payments, its PDF).
Whatever it refuses it reports on the job. :mod:`.invoices` runs the passes and writes; see
docs/erp-files.md for the rules on accounts and due dates.
"""
import datetime

from ..i18n import _
from ..money import ZERO
from ..resources import customer_of
from ..resources.invoice import USD
from .documents import invoice_stems
from .job import CREATED, UNCHANGED, UPDATED, ApplyFailed

#: Days of credit when neither the CSV nor the CFDI's CondicionesDePago say.
DEFAULT_CREDIT_DAYS = 30

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


class InvoicePlanner:
    """Plans the invoices of one import ``job``; ``documents`` are its PDFs, ``store_xml``
    whether the database keeps the CFDIs' XML."""

    def __init__(self, job, documents, store_xml):
        self.job, self.documents, self.store_xml = job, documents, store_xml
        #: Customers with several accounts whose invoices came without one, while checking:
        #: RFC → [count, file name, line, the account given, how many it has].
        self.defaulted = {}

    def warn_defaulted_accounts(self):
        """One warning per customer whose invoices were given its first account."""
        job = self.job
        for rfc, (count, source, line, account, accounts) in sorted(self.defaulted.items()):
            job.warning(source, line, _(
                'Facturas del cliente ${rfc} sin cuenta: ${count}; se les asignó ${account}, la '
                'primera de sus ${accounts} cuentas.',
                mapping={'count': count, 'rfc': rfc, 'account': account, 'accounts': accounts}))

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

    def planned(self, data, pdf, xml):
        """The creation the check planned for ``data`` (settled: its account, due date and
        balance decided, see :meth:`InvoiceData.settle`) with its ``pdf`` and ``xml`` files,
        for the apply, which does not plan a new invoice twice. Nothing may have taken its
        serie-folio or UUID since the check; if something did, the import stops."""
        job = self.job
        root = job.root
        customer = job.customer(data.rfc)
        if customer is None or root.invoices_by_key.get(data.key) is not None or (
                data.uuid and root.invoices_by_uuid.get(data.uuid) is not None):
            raise ApplyFailed(f'{data.source.name}:{data.line}: la factura {data.key} ya no '
                              'puede crearse como se planeó')
        values = {
            'account': data.account, 'issued': data.issued, 'due': data.due,
            'currency': data.currency, 'amount': data.amount, 'exchange_rate': data.rate,
            'uuid': data.uuid, 'metodo_pago': data.method, 'balance': data.balance,
        }
        return Plan(CREATED, customer, None, values, {}, pdf, xml if self.store_xml else None,
                    data, False)

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


def _shown(value):
    return '(vacío)' if value is None else str(value)
