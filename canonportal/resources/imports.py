"""A record of one ERP import: who, when, which kind, which files, what changed.

Records live in ``root.imports`` (a :class:`~canonportal.resources.folder.Folder`)
named by their UTC time plus a random tail (``20261130-011500-ab12``), so
names sort by time and two imports in the same second do not collide. Only
successful imports are recorded; a refused file changes nothing, not even
this folder.
"""
from persistent import Persistent

#: Import kinds, as stored in ``ImportRecord.kind``.
CUSTOMERS = 'customers'
INVOICES = 'invoices'
BALANCES = 'balances'
STATEMENTS = 'statements'
RATES = 'rates'
COMPLEMENTS = 'complements'
KINDS = (CUSTOMERS, INVOICES, BALANCES, STATEMENTS, RATES, COMPLEMENTS)

#: How many warnings a record keeps (``warning_count`` has them all).
MAX_KEPT_WARNINGS = 1000


class ImportRecord(Persistent):
    """One successful import.

    - ``kind``: one of :data:`KINDS`; ``created`` (aware UTC datetime); ``actor``
      (``staff:alice``, ``console:canonportal-import``);
    - ``files``: ``((name, size in bytes, sha256 hex), ...)``;
    - ``created_count``, ``updated_count``, ``unchanged_count``: objects
      (customers, invoices, statements, rates, payments applied) per outcome;
    - ``rows``: data rows and documents read;
    - ``warnings``: ``((file name, line or None, Spanish text), ...)``, at most
      :data:`MAX_KEPT_WARNINGS`, and ``warning_count`` of them all;
    - ``notes``: extra Spanish lines of the summary (e.g. payments applied);
    - ``seconds``: how long it took.
    """

    __name__ = None
    __parent__ = None
    rows = 0
    seconds = None
    notes = ()

    def __init__(self, kind, created, actor, files, created_count=0, updated_count=0,
                 unchanged_count=0, warnings=(), warning_count=None, rows=0, notes=(),
                 seconds=None):
        self.kind = kind
        self.created = created
        self.actor = actor
        self.files = tuple(tuple(f) for f in files)
        self.created_count = created_count
        self.updated_count = updated_count
        self.unchanged_count = unchanged_count
        self.warnings = tuple(tuple(w) for w in warnings)[:MAX_KEPT_WARNINGS]
        self.warning_count = len(self.warnings) if warning_count is None else warning_count
        self.rows = rows
        self.notes = tuple(notes)
        self.seconds = seconds

    @property
    def title(self):
        return f'Importación {self.__name__ or ""}'.strip()

    @property
    def file_names(self):
        return tuple(f[0] for f in self.files)

    @property
    def counts(self):
        return {'created': self.created_count, 'updated': self.updated_count,
                'unchanged': self.unchanged_count, 'warnings': self.warning_count}
