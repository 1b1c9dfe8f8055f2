"""A record of one export of payments to the ERP: who, when, which payments, the file.

Records live in ``root.exports`` (a :class:`~canonportal.resources.folder.Folder`)
named by their UTC time. The CSV itself is kept apart from the record (in a
ZODB blob when the storage has blobs, else in a small persistent holder), so
listing the exports does not load every file.
"""
from persistent import Persistent

from .blobs import blob_with


class CsvContent(Persistent):
    """The CSV bytes, for storages without blobs (e.g. ``memory://``)."""

    def __init__(self, data):
        self.data = bytes(data)


#: What an export carried: payments (``references`` are Referencias de pago) or the
#: companies' fiscal data (``references`` are RFCs).
PAYMENTS = 'payments'
FISCAL = 'fiscal'


class ExportRecord(Persistent):
    """One export: ``references`` of the payments (or, of kind :data:`FISCAL`, the RFCs of
    the companies) it carried, ``actor``, ``created``.

    ``reexported`` are the references that had gone out in an earlier export
    (a re-export on purpose); ``since``, ``until`` and ``include_exported``
    say how the payments were chosen.
    """

    __name__ = None
    __parent__ = None
    since = None
    until = None
    include_exported = False
    reexported = ()
    row_count = 0
    kind = PAYMENTS
    total_mxn = None
    _content = None

    def __init__(self, filename, created, actor, references, reexported=(), row_count=0,
                 total_mxn=None, since=None, until=None, include_exported=False,
                 kind=PAYMENTS):
        self.filename = filename
        self.created = created
        self.actor = actor
        self.references = tuple(references)
        self.reexported = tuple(reexported)
        self.row_count = row_count
        self.total_mxn = total_mxn
        self.since = since
        self.until = until
        self.include_exported = include_exported
        self.kind = kind

    @property
    def title(self):
        return f'Exportación {self.__name__ or self.filename}'

    @property
    def payment_count(self):
        return len(self.references)

    def set_csv(self, data, use_blob):
        """Keep the CSV ``data`` (bytes); in a blob when ``use_blob``."""
        if use_blob:
            self._content = blob_with(data)
        else:
            self._content = CsvContent(data)

    def csv_bytes(self):
        """The CSV exactly as it was first produced (for re-download)."""
        content = self._content
        if content is None:
            return b''
        if isinstance(content, CsvContent):
            return content.data
        with content.open('r') as stored:
            return stored.read()


