"""A BTree-backed container, after Substance D's folder.

Unbounded collections of the tree (customers, invoices, payments, ...) live in
a :class:`Folder`: an ``OOBTree`` of children plus a ``Length`` so that
``len()`` does not load every bucket.
"""
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

_RESERVED_PREFIXES = ('@@', '++')


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
