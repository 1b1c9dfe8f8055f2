"""Rendered HTML kept per process: rows (SALDOS) and whole pages with holes in them.

Callers key a fragment by everything it shows (for persistent objects, their
oid and database serial, :func:`serial_of`), so an entry is never stale: a
committed change makes a new key, and the old entry simply ages out of the
bounded :class:`FragmentCache`.

A page kept rendered is a :class:`Shell`: the page rendered once with
:class:`Holes` markers where the parts of one request go (the CSRF token,
flash messages, …), split there, and filled in again for every request.
"""
import itertools
import re
import secrets
import threading
from collections import OrderedDict

_GENERATIONS = itertools.count(1)


class FragmentCache:
    """Least-recently-used mapping of at most ``size`` fragments and, with a ``budget``,
    of at most that many bytes (``weigh(fragment)``: a fragment's bytes)."""

    def __init__(self, size, budget=None, weigh=len):
        self.size = size
        self.budget = budget
        self.weigh = weigh
        self.weight = 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            fragment = self._items.get(key)
            if fragment is not None:
                self._items.move_to_end(key)
            return fragment

    def put(self, key, fragment):
        weight = self.weigh(fragment) if self.budget is not None else 0
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None and self.budget is not None:
                self.weight -= self.weigh(old)
            self._items[key] = fragment
            self.weight += weight
            while len(self._items) > self.size or (
                    self.budget is not None and self.weight > self.budget and len(self._items) > 1):
                _key, dropped = self._items.popitem(last=False)
                if self.budget is not None:
                    self.weight -= self.weigh(dropped)

    def clear(self):
        with self._lock:
            self._items.clear()
            self.weight = 0

    def values(self):
        """A snapshot of the fragments held (to measure them)."""
        with self._lock:
            return list(self._items.values())

    def __len__(self):
        return len(self._items)


def serial_of(obj):
    """``(database, oid, serial)`` of a persistent object as last committed, or ``None``
    when it is new or changed in this transaction (its serial does not describe it yet).

    The serial is renewed by every committed change of the object's own state (not
    of the persistent objects it refers to: key those by their own serials)."""
    obj._p_activate()
    if obj._p_changed or obj._p_oid is None:
        return None
    return (generation(obj._p_jar.db()), obj._p_oid, obj._p_serial)


def generation(holder):
    """A number of this process for ``holder`` (a database, an app's registry), never
    given to another: unlike ``id()``, not reused once the holder is gone (tests open
    many copies of one database, with the same oids and serials)."""
    number = getattr(holder, '_canonportal_generation', None)
    if number is None:
        number = next(_GENERATIONS)
        holder._canonportal_generation = number
    return number


def serials(*objects):
    """The :func:`serial_of` of each object, or ``None`` if any of them has none."""
    found = tuple(serial_of(obj) for obj in objects)
    return None if None in found else found


class Holes:
    """Markers that stand for per-request parts in a rendered page.

    A marker is two private-use characters around a random nonce of this
    process and the part's name: no text of the database or of a request can
    spell one, and HTML escaping leaves it as it is (in text and in attributes).
    """

    def __init__(self):
        self.nonce = secrets.token_hex(8)
        self._pattern = re.compile('\ue000' + self.nonce + r':([a-z_]+)\ue001')

    def marker(self, name):
        return f'\ue000{self.nonce}:{name}\ue001'

    def shell(self, html):
        """``html`` split at its markers."""
        pieces = self._pattern.split(html)
        return Shell([piece.encode('utf-8') for piece in pieces[0::2]], pieces[1::2])


class Shell:
    """A rendered page as UTF-8 pieces between named holes."""

    __slots__ = ('pieces', 'names')

    def __init__(self, pieces, names):
        self.pieces = pieces
        self.names = names

    def fill(self, parts):
        """The page's bytes with each hole replaced by ``parts[name]`` (text, HTML-ready)."""
        encoded = {name: text.encode('utf-8') for name, text in parts.items()}
        pieces = self.pieces
        out = [pieces[0]]
        for index, name in enumerate(self.names, 1):
            out.append(encoded[name])
            out.append(pieces[index])
        return b''.join(out)

    @property
    def size(self):
        """Bytes held."""
        return sum(len(piece) for piece in self.pieces)
