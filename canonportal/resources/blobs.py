"""ZODB blobs for the documents the tree keeps (CFDI XML, PDFs, exported CSVs)."""
import shutil

from ZODB.blob import Blob
from ZODB.interfaces import IBlobStorage

CHUNK = 1 << 20


def keeps_blobs(obj):
    """Whether the database persistent ``obj`` is stored in keeps blobs.

    None when ``obj`` is not attached to a connection yet (the storage is not known).
    """
    jar = getattr(obj, '_p_jar', None)
    if jar is None:
        return None
    return IBlobStorage.providedBy(jar.db().storage)


def blob_with(data):
    """A new blob holding the bytes ``data``."""
    blob = Blob()
    with blob.open('w') as out:
        out.write(data)
    return blob


def blob_from_file(source):
    """A new blob with the content of the binary file object ``source``, copied in chunks."""
    blob = Blob()
    with blob.open('w') as out:
        shutil.copyfileobj(source, out, CHUNK)
    return blob
