"""Exchange rates: Banxico's FIX (USD → MXN) per date, with 4 decimals."""
from decimal import Decimal

from ..i18n import _
from ..resources.imports import RATES
from . import fields
from .base import Cells, Importer
from .files import Column
from .job import CREATED, UNCHANGED, UPDATED

AUDIT_UPDATE = 'erp.rate.update'

#: A FIX rate outside this range is most likely a typo (e.g. 1888.69): warn.
PLAUSIBLE = (Decimal('5'), Decimal('50'))

COLUMNS = (
    Column('day', 'Fecha', ('Fecha del tipo de cambio', 'Día'), required=True),
    Column('rate', 'Tipo de cambio', ('FIX', 'Tipo de cambio FIX', 'TC', 'TipoCambio'),
           required=True),
    Column('currency', 'Moneda'),
)


class RatesImporter(Importer):
    kind = RATES
    columns = COLUMNS

    def prepare(self):
        super().prepare()
        self.seen = {}

    def read_row(self, table, line, cells):
        day_text, rate_text, currency_text = cells
        row = Cells()
        day = row.read(fields.day, day_text, 'Fecha')
        read = row.read(fields.rate, rate_text, True)
        rate = read[0] if read is not None else None
        if currency_text.strip():
            currency = row.read(fields.currency, currency_text)
            if currency is not None and currency != 'USD':
                row.problems.append(_('Solo se importa el tipo de cambio del dólar (USD).'))
        if rate is not None and not PLAUSIBLE[0] <= rate <= PLAUSIBLE[1]:
            row.warnings.append(_('El tipo de cambio ${rate} parece fuera de rango; revíselo.',
                                  mapping={'rate': rate}))
        if not row.report(self.job, table.source, line):
            return None
        return day, rate

    def outcome(self, day, rate):
        stored = self.job.root.rates.by_date.get(day.isoformat())
        if stored is None:
            return CREATED, stored
        return (UNCHANGED if stored == rate else UPDATED), stored

    def check_row(self, table, line, cells):
        read = self.read_row(table, line, cells)
        if read is None:
            return
        day, rate = read
        first = self.seen.setdefault(day, (rate, line))
        if first[1] != line:
            if first[0] != rate:
                self.job.error(table.source, line, _(
                    'El tipo de cambio del ${day} ya aparece en la línea ${line} con otro valor '
                    '(${rate}).', mapping={'day': day.isoformat(), 'line': first[1],
                                           'rate': first[0]}))
            return
        self.job.count(self.outcome(day, rate)[0])

    def apply(self):
        self.seen = {}
        super().apply()

    def apply_row(self, table, line, cells):
        day, rate = self.read_row(table, line, cells)
        if self.seen.setdefault(day, line) != line:
            return
        job = self.job
        outcome, stored = self.outcome(day, rate)
        job.count(outcome)
        if outcome == UNCHANGED:
            return
        job.root.rates.set(day, rate)
        if outcome == UPDATED:
            job.audit(AUDIT_UPDATE, '/', {day.isoformat(): str(stored)},
                      {day.isoformat(): str(rate)}, f'import {job.name}: tipo de cambio FIX')
        job.wrote()
