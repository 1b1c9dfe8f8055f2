"""The CFDI XML files of an invoices import, joined to the CSV rows that name them.

Each XML is read once and indexed by UUID and by serie-folio. A CSV row finds
its CFDI by UUID, else by serie-folio, and must agree with it on UUID,
serie-folio, RFC, currency and total; the CFDI then adds its exchange rate
and payment method where the row leaves them out. A CFDI no row took is an
invoice on its own (see :mod:`canonportal.erp.invoices`).
"""
from ..i18n import _
from .cfdi import CfdiError, NotAnInvoice, parse


class CfdiSet:
    """The CFDIs of one import, and which of them a CSV row has taken."""

    def __init__(self, job):
        self.job = job
        self.cfdis = []          # (source, cfdi), in the order the files came
        self.by_file = {}
        self.by_uuid = {}
        self.by_key = {}
        self.taken = set()       # names of the XML files a row took
        for source in job.xmls:
            self._read(source)

    def __bool__(self):
        return bool(self.cfdis)

    def size(self):
        return sum(source.size for source, _cfdi in self.cfdis)

    def _read(self, source):
        job = self.job
        try:
            cfdi = parse(source.read_all())
        except NotAnInvoice as skipped:
            job.warning(source, skipped.line, skipped.reason)
            return
        except CfdiError as error:
            job.error(source, error.line, error.reason)
            return
        for line, warning in cfdi.warnings:
            job.warning(source, line, warning)
        other = self.by_uuid.get(cfdi.uuid)
        if other is not None:
            job.error(source, None, _('El CFDI ${uuid} también está en ${other}.',
                                      mapping={'uuid': cfdi.uuid, 'other': other[0].name}))
            return
        other = self.by_key.get(cfdi.key)
        if other is not None:
            job.error(source, None, _('La factura ${key} también está en ${other} con otro UUID.',
                                      mapping={'key': cfdi.key, 'other': other[0].name}))
            return
        self.by_uuid[cfdi.uuid] = self.by_key[cfdi.key] = (source, cfdi)
        self.cfdis.append((source, cfdi))
        self.by_file[source.name] = cfdi

    def join(self, data):
        """Pair a CSV row (``InvoiceData``) with its CFDI; False after reporting a disagreement."""
        found = self.by_uuid.get(data.uuid) if data.uuid else None
        if found is None:
            found = self.by_key.get(data.key)
        if found is None:
            return True
        source, cfdi = found
        differences = [(label, mine, theirs) for label, mine, theirs in (
            ('UUID', data.uuid or cfdi.uuid, cfdi.uuid),
            ('Serie-Folio', data.key, cfdi.key),
            ('RFC', data.rfc, cfdi.receptor_rfc),
            ('Moneda', data.currency, cfdi.currency),
            ('Total', data.amount, cfdi.total)) if mine != theirs]
        for label, mine, theirs in differences:
            self.job.error(data.source, data.line, _(
                'La fila no coincide con el CFDI ${file}: ${field} ${row} en la fila y ${xml} en '
                'el XML.', mapping={'file': source.name, 'field': label, 'row': mine,
                                    'xml': theirs}))
        if differences:
            return False
        self.taken.add(source.name)
        data.cfdi, data.xml = cfdi, source
        data.uuid = cfdi.uuid
        data.rate = data.rate if data.rate is not None else cfdi.exchange_rate
        data.method = data.method or cfdi.method
        return True

    def not_taken(self):
        """``(source, cfdi)`` of the CFDIs no CSV row took: invoices of their own."""
        return [(source, cfdi) for source, cfdi in self.cfdis if source.name not in self.taken]
