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
