"""A bounded cache of rendered HTML fragments, shared by a process's threads.

Callers key a fragment by everything it shows (for persistent objects, their
oid and serial), so an entry is never stale: a change makes a new key, and the
old entry simply ages out.
"""
import threading
from collections import OrderedDict


class FragmentCache:
    """Least-recently-used mapping of at most ``size`` fragments."""

    def __init__(self, size):
        self.size = size
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            fragment = self._items.get(key)
            if fragment is not None:
                self._items.move_to_end(key)
            return fragment

    def put(self, key, fragment):
        with self._lock:
            self._items[key] = fragment
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self):
        with self._lock:
            self._items.clear()

    def __len__(self):
        return len(self._items)
