"""The audit log: every staff action and payment transition, appended and never edited.

Entries are keyed by a 64-bit number made of the time in microseconds and a
random tail, so concurrent appends land on different keys and the BTree's
conflict resolution merges them instead of retrying whole requests (entries
compare by key for it); only when one of them splits the last bucket (once in
about 30 appends) does the other conflict. Entries appended at the same instant
keep their order. There is no method to change
or remove an entry, and no view offers one.
"""
import datetime
import random

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from persistent import Persistent

from .folder import keys_descending

_TAIL = 1000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _micros(when):
    return (when - _EPOCH) // datetime.timedelta(microseconds=1)


class AuditEntry:
    """One immutable line of the log: who did what to which object, before and after."""

    __slots__ = ('key', 'when', 'actor', 'action', 'target', 'before', 'after', 'note')

    def __init__(self, key, when, actor, action, target, before='', after='', note=''):
        for name, value in (('key', key), ('when', when), ('actor', actor),
                            ('action', action), ('target', target), ('before', before),
                            ('after', after), ('note', note)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError('audit entries cannot be changed')

    def __delattr__(self, name):
        raise AttributeError('audit entries cannot be changed')

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other):
        return isinstance(other, AuditEntry) and self.__getstate__() == other.__getstate__()

    def __hash__(self):
        return hash(self.key)

    def __lt__(self, other):
        """Entries order by key. When two transactions append to one bucket, BTrees
        merge them only if the entries both kept compare as equal, which BTrees asks
        with ``<`` first: without it every such pair of appends was a ConflictError."""
        if not isinstance(other, AuditEntry):
            return NotImplemented
        return self.key < other.key

    def __repr__(self):
        return f'<AuditEntry {self.when:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}>'


class AuditLog(Persistent):
    """Append-only, time-ordered log of :class:`AuditEntry`."""

    __name__ = None
    __parent__ = None
    title = 'Bitácora'

    def __init__(self):
        self.entries = LOBTree()
        self._count = Length()

    def __len__(self):
        return self._count()

    def append(self, when, actor, action, target, before='', after='', note=''):
        """Add an entry at ``when`` (an aware UTC datetime) and return it."""
        base = _micros(when) * _TAIL
        key = base + random.randrange(_TAIL)
        last = self.entries.maxKey() if self.entries else None
        if last is not None and last >= base:
            # Another entry of this same instant (one transaction recording a
            # few steps at once): come after it, still with a random step so
            # two transactions doing the same do not pick one key.
            key = last + 1 + random.randrange(16)
        while key in self.entries:
            key += 1
        entry = AuditEntry(key, when, str(actor), str(action), str(target),
                           _text(before), _text(after), str(note or ''))
        self.entries[key] = entry
        self._count.change(1)
        return entry

    def newest_first(self, since=None, until=None):
        """Entries from newest to oldest, optionally within ``[since, until)``, lazily.

        Each step is one ``maxKey`` look-up, so a page of the log costs a few
        bucket loads however long it is (``reversed(keys())`` would load them all).
        """
        entries = self.entries
        low = _micros(since) * _TAIL if since is not None else None
        high = _micros(until) * _TAIL - 1 if until is not None else None
        for key in keys_descending(entries, low, high, below=lambda key: key - 1):
            yield entries[key]

    def search(self, actor=None, action=None, target=None, since=None, until=None):
        """Entries matching every given filter, newest first (a generator).

        ``target`` matches a prefix of the object's path, so a customer's
        path finds the entries of its invoices and payments too.
        """
        for entry in self.newest_first(since, until):
            if actor and entry.actor != actor:
                continue
            if action and entry.action != action:
                continue
            if target and not entry.target.startswith(target):
                continue
            yield entry


def _text(value):
    if value is None:
        return ''
    if isinstance(value, dict):
        return '; '.join(f'{k}={v}' for k, v in sorted(value.items()))
    return str(value)
