"""Fiscal data: a company's change (DATOS FISCALES) and its way out to the ERP.

A change is saved on the customer, audited (``company.fiscal``: the company's BITÁCORA
and the staff's log show before and after) and noted in ``root.fiscal_changes`` (RFC →
when it changed) until an export carries it, so the dashboard counts the pending changes
and the staff's list and the export read only those companies, never every customer
(``--all``, on purpose, reads every customer).

The export (``canonportal-export --kind fiscal`` and ``/manage/@@datos-fiscales``) is a CSV
the ERP reads before it stamps the next CFDI, one row per company:

==================  ==============================================================
Column              Meaning (CFDI 4.0 Receptor)
==================  ==============================================================
rfc                 the customer's RFC (Rfc)
razon_social        exactly as in the Constancia de Situación Fiscal (Nombre)
regimen_fiscal      c_RegimenFiscal (RegimenFiscalReceptor)
codigo_postal       the fiscal address's código postal (DomicilioFiscalReceptor)
uso_cfdi            c_UsoCFDI (UsoCFDI)
cambiado            when the company last changed it, Mexico City, ISO 8601
constancia_sha256   the SHA-256 of the Constancia PDF uploaded with it, else empty
==================  ==============================================================

Like the payments' export, each export is kept (an :class:`ExportRecord` of kind
``fiscal`` in ``root.exports``, its CSV byte for byte) and marks what it carried
(``customer.fiscal_exported``); a change made after that is pending again.
"""
import hashlib
import json

from .. import audit
from ..clock import MEXICO_CITY
from ..csvsafe import csv_bytes
from ..resources.blobs import blob_with, keeps_blobs
from ..resources.exports import FISCAL, ExportRecord
from .exports import record_name

#: The audit action of a company's change and of a fiscal export.
CHANGE_ACTION = 'company.fiscal'
EXPORT_ACTION = 'erp.export-fiscal'
COLUMNS = ('rfc', 'razon_social', 'regimen_fiscal', 'codigo_postal', 'uso_cfdi', 'cambiado',
           'constancia_sha256')


def fiscal_facts(customer):
    """The fiscal data as the form, the audit log and the export read it."""
    return {'razon_social': customer.fiscal_name or '', 'regimen': customer.fiscal_regime or '',
            'cp': customer.fiscal_zip or '', 'uso_cfdi': customer.cfdi_use or ''}


def _as_text(facts):
    return json.dumps(facts, ensure_ascii=False, sort_keys=True)


def change_fiscal(root, customer, facts, constancia, actor, now):
    """Save ``facts`` (checked by the caller) and the optional Constancia PDF bytes.

    Returns False, writing nothing, when neither changes anything.
    """
    before = fiscal_facts(customer)
    if facts == before and constancia is None:
        return False
    customer.fiscal_name, customer.fiscal_regime = facts['razon_social'], facts['regimen']
    customer.fiscal_zip, customer.cfdi_use = facts['cp'], facts['uso_cfdi']
    after = dict(facts)
    if constancia is not None:
        customer.fiscal_constancia = blob_with(constancia)
        customer.fiscal_constancia_uploaded = now
        customer.fiscal_constancia_sha256 = hashlib.sha256(constancia).hexdigest()
        after['constancia_sha256'] = customer.fiscal_constancia_sha256
    customer.fiscal_changed = now
    root.fiscal_changes[customer.rfc] = now
    audit.record(root, actor, CHANGE_ACTION, customer, _as_text(before), _as_text(after),
                 when=now)
    return True


def pending_count(root):
    """How many companies changed their fiscal data since an export last carried it."""
    return len(root.fiscal_changes)


def fiscal_customers(root, pending_only=True):
    """The customers whose fiscal data no export carried yet (with ``pending_only`` False,
    every customer that keeps fiscal data), by RFC."""
    if pending_only:
        customers = (root.customers.get(rfc) for rfc in root.fiscal_changes.keys())
    else:
        customers = root.customers.values()
    return [c for c in customers if c is not None and c.fiscal_changed is not None]


def _row(customer):
    facts = fiscal_facts(customer)
    changed = customer.fiscal_changed.astimezone(MEXICO_CITY).isoformat(timespec='seconds')
    return (customer.rfc, facts['razon_social'], facts['regimen'], facts['cp'],
            facts['uso_cfdi'], changed, customer.fiscal_constancia_sha256 or '')


def export_fiscal(root, actor, now, pending_only=True):
    """Export the pending fiscal changes (every company's data with ``pending_only``
    False): keep the CSV in a new record, mark the companies, audit it.

    Returns the record, or None when there is nothing to export (nothing written).
    """
    customers = fiscal_customers(root, pending_only)
    if not customers:
        return None
    name = record_name(root.exports, now)
    local = now.astimezone(MEXICO_CITY)
    rfcs = tuple(c.rfc for c in customers)
    record = ExportRecord(f'datos-fiscales-{local:%Y%m%d-%H%M%S}{name[15:]}.csv', now, actor,
                          rfcs, row_count=len(rfcs), include_exported=not pending_only,
                          kind=FISCAL)
    root.exports.add(name, record)
    record.set_csv(csv_bytes(COLUMNS, [_row(c) for c in customers]), bool(keeps_blobs(root)))
    for customer in customers:
        customer.fiscal_exported = now
        root.fiscal_changes.pop(customer.rfc, None)
    audit.record(root, actor, EXPORT_ACTION, record, '', ' '.join(rfcs),
                 f'{len(rfcs)} empresas', when=now)
    return record
