"""One import in progress: the database, the files, the two passes, batches and progress.

An importer runs twice over its files with the same code: in the *check*
phase it only reads (errors and warnings go to the report, outcomes are
counted as planned); in the *apply* phase, reached only when the check
found no error, it writes. Warnings are reported once, in the check.
"""
import hashlib

from .. import audit
from ..i18n import _
from ..resources.blobs import blob_from_file, keeps_blobs
from .files import CHUNK

CHECK = 'check'
APPLY = 'apply'

#: Rows written between two calls of ``batch_done`` (a commit in the console).
BATCH_SIZE = 5000
#: Rows read between two shrinks of the connection's object cache while checking.
READ_BATCH = 5000

CREATED = 'created'
UPDATED = 'updated'
UNCHANGED = 'unchanged'


class ApplyFailed(RuntimeError):
    """The apply phase met a problem the check did not: a bug, never a bad file."""


class Job:
    """Shared state of one import (see the module docstring)."""

    def __init__(self, root, actor, now, report, inputs, name, batch_done=None, progress=None,
                 settings=None):
        self.root = root
        self.settings = settings or {}   # the ini's settings (the company's RFC, …)
        self.actor = actor
        self.now = now
        self.report = report
        self.name = name
        self.inputs = inputs
        self.csvs = [f for f in inputs if f.is_csv]
        self.xmls = [f for f in inputs if f.is_xml]
        self.pdfs = [f for f in inputs if f.is_pdf]
        self.batch_done = batch_done
        self.jar = getattr(root, '_p_jar', None)
        self.phase = CHECK
        self.planned = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        self.done = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        self.notes = []
        self.applied = []           # references of the payments this import applied
        self._customers = {}
        self._account_owners = None
        self._pending_writes = 0
        self._read = 0
        self._progress = progress
        self._progress_done = 0
        self._progress_total = 1
        self._blob_hashes = {}

    # --- messages and counts ---------------------------------------------------------

    @property
    def checking(self):
        return self.phase == CHECK

    def error(self, source, line, reason):
        if not self.checking:
            raise ApplyFailed(f'{source}:{line}: {reason}')
        self.report.error(getattr(source, 'name', source), line, reason)

    def warning(self, source, line, reason):
        if self.checking:
            self.report.warning(getattr(source, 'name', source), line, reason)

    def count(self, outcome, number=1):
        (self.planned if self.checking else self.done)[outcome] += number

    def note(self, message):
        """A line for the summary, given in the phase whose figures it states."""
        self.notes.append(message)

    # --- the database ----------------------------------------------------------------

    def customer(self, rfc):
        """The customer with ``rfc`` or None (looked up once per import)."""
        try:
            return self._customers[rfc]
        except KeyError:
            found = self._customers[rfc] = self.root.customers.get(rfc)
            return found

    def account_owners(self):
        """``{account: rfc}`` over every customer; an account two customers share maps to None."""
        if self._account_owners is None:
            owners = {}
            for rfc, customer in self.root.customers.items():
                for account in customer.accounts:
                    owners[account] = None if account in owners and owners[account] != rfc else rfc
                self._read_one()
            self._account_owners = owners
        return self._account_owners

    def audit(self, action, target, before='', after='', note=''):
        return audit.record(self.root, self.actor, action, target, before, after,
                            note or f'import {self.name}', when=self.now)

    def blob_sha256(self, blob):
        """SHA-256 of a stored blob's content (kept for the rest of the import)."""
        if blob is None:
            return None
        key = id(blob)
        if key not in self._blob_hashes:
            digest = hashlib.sha256()
            with blob.open('r') as stored:
                for chunk in iter(lambda: stored.read(CHUNK), b''):
                    digest.update(chunk)
            self._blob_hashes[key] = (blob, digest.hexdigest())
        return self._blob_hashes[key][1]

    def blob_from(self, source):
        """A new ZODB blob with the bytes of input file ``source``."""
        return blob_from_file(source.rewind())

    def supports_blobs(self):
        return bool(keeps_blobs(self.root))

    # --- batches and progress --------------------------------------------------------

    def _read_one(self):
        self._read += 1
        if self._read % READ_BATCH == 0 and self.jar is not None and not self._pending_writes:
            # Reading a million invoices must not keep them all in memory.
            self.jar.cacheGC()

    def row_read(self):
        """Count a data row; in the check phase it counts as read for the report."""
        if self.checking:
            self.report.rows += 1
        self._read_one()

    def wrote(self, number=1):
        """Count objects written; every ``BATCH_SIZE`` the batch is handed to ``batch_done``."""
        self._pending_writes += number
        if self._pending_writes >= BATCH_SIZE:
            self.flush()

    def flush(self):
        if self._pending_writes and self.batch_done is not None:
            self.batch_done()
        self._pending_writes = 0

    def set_progress_total(self, total):
        self._progress_total = max(int(total), 1)

    def advance(self, amount):
        if self._progress is None or amount <= 0:
            return
        self._progress_done = min(self._progress_done + amount, self._progress_total)
        self._progress(self._progress_done, self._progress_total)

    def finish_progress(self):
        if self._progress is not None:
            self._progress(self._progress_total, self._progress_total)


def changes_text(changes, side):
    """``{'due': (before, after)}`` → 'due=2017-11-04' for one side of an audit entry."""
    return {field: _plain(values[side]) for field, values in changes.items()}


def _plain(value):
    if value is None:
        return ''
    if isinstance(value, tuple):
        return ' '.join(str(item) for item in value)
    isoformat = getattr(value, 'isoformat', None)
    return isoformat() if isoformat is not None else str(value)


NO_BLOBS = _('La base de datos no guarda archivos (blobs): no se pueden importar PDF. '
             'Configure zodbconn.uri con blobstorage_dir.')
