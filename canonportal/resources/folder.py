"""A BTree-backed container, after Substance D's folder.

Unbounded collections of the tree (customers, invoices, payments, ...) live in
a :class:`Folder`: an ``OOBTree`` of children plus a ``Length`` so that
``len()`` does not load every bucket.
"""
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

_RESERVED_PREFIXES = ('@@', '++')


#: Above every character a key can hold: ``prefix + TOP`` bounds the keys starting with prefix.
TOP = '\U0010ffff' * 64


def _just_below(key):
    """A bound just under ``key``: every key smaller than it is <= the bound."""
    if not key:
        return None
    last = key[-1]
    if last == '\x00':
        return key[:-1]
    return key[:-1] + chr(ord(last) - 1) + TOP


def keys_descending(tree, low=None, high=None, below=_just_below):
    """The keys of a BTree from ``high`` down to ``low`` (both included), lazily.

    Each step is one ``maxKey`` lookup, so the first page costs a few bucket
    loads however large the tree (``keys()[-1]`` would load every bucket).
    ``below(key)`` is the greatest key that may come next (None: none can):
    text keys by default; ``lambda key: key - 1`` for integer keys.
    """
    bound = high
    while True:
        try:
            key = tree.maxKey(bound) if bound is not None else tree.maxKey()
        except ValueError:  # nothing at or below the bound
            return
        if low is not None and key < low:
            return
        yield key
        bound = below(key)
        if bound is None:
            return


def _is_number(key, length):
    return (len(key) == length and key.isascii() and key.isdigit()
            and key[0] != '0')


def numbered_keys_descending(tree, highest):
    """The keys of a BTree keyed by whole numbers written as text ('7', '228', '1000':
    payment references), from ``highest`` down in numeric order, lazily; any other key is
    skipped.

    Text order puts '1000' before '228', so each length of number is walked apart, the
    longest first, with ``maxKey`` steps: a longer or shorter key met on the way is
    stepped over with one lookup, so the first keys cost a few lookups however many
    keys the tree holds.
    """
    if int(highest) < 1:
        return
    top = str(int(highest))
    for length in range(len(top), 0, -1):
        bound = top if length == len(top) else '9' * length
        while True:
            try:
                key = tree.maxKey(bound)
            except ValueError:   # nothing at or below the bound
                break
            if _is_number(key, length):
                yield key
            # Every key still to come at this length is below this one; a longer key
            # stands above its own first ``length`` characters.
            bound = key[:length] if len(key) > length else _just_below(key)
            if bound is None:
                break


def validate_name(name):
    """Return ``name`` if it can name a child in a URL, else raise ValueError.

    Names are non-empty text without slashes; names starting with ``@@`` or
    ``++`` are reserved for views and namespaces so a child never shadows them.
    """
    if not isinstance(name, str):
        raise ValueError('child names must be text')
    if not name or name in ('.', '..') or '/' in name:
        raise ValueError(f'invalid child name: {name!r}')
    if name.startswith(_RESERVED_PREFIXES):
        raise ValueError(f'reserved child name: {name!r}')
    return name


class Folder(Persistent):
    """A persistent, ordered-by-name container of persistent children.

    Children get ``__name__`` and ``__parent__`` on :meth:`add` so traversal,
    ``resource_url`` and ACL inheritance work.
    """

    __name__ = None
    __parent__ = None
    title = ''

    def __init__(self):
        self.data = OOBTree()
        self._num_objects = Length()

    # A container is always true, even when empty: `if folder:` must not
    # silently mean `if len(folder):`.
    def __bool__(self):
        return True

    def __len__(self):
        return self._num_objects()

    def __contains__(self, name):
        return name in self.data

    def __getitem__(self, name):
        return self.data[name]

    def __iter__(self):
        return iter(self.data.keys())

    def get(self, name, default=None):
        return self.data.get(name, default)

    def keys(self, min=None, max=None):
        return self.data.keys(min, max)

    def values(self, min=None, max=None):
        return self.data.values(min, max)

    def items(self, min=None, max=None):
        return self.data.items(min, max)

    def add(self, name, child):
        """Add ``child`` under ``name``; raise KeyError if the name is taken."""
        validate_name(name)
        if name in self.data:
            raise KeyError(f'{name!r} already exists')
        child.__name__ = name
        child.__parent__ = self
        self.data[name] = child
        self._num_objects.change(1)
        return child

    def remove(self, name):
        """Remove and return the child called ``name``."""
        child = self.data.pop(name)
        self._num_objects.change(-1)
        child.__parent__ = None
        return child
