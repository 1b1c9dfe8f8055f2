"""Packing the database: drop object revisions older than N days (and unreachable objects).

FileStorage can be packed only by the process that holds it. ``canonportal-pack``
packs directly when it can open the storage (server stopped, or ZEO/RelStorage,
whose clients may all pack); when the running portal holds the embedded
FileStorage it asks that server (``POST /empaquetar``, :mod:`.localonly`).
"""
#: Bounds of ``--days``: 0 keeps only the current state; ten years is plenty of history.
MAX_DAYS = 3650


def read_days(value):
    """``value`` as a whole number of days within 0…MAX_DAYS, else ValueError."""
    days = int(str(value).strip())
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(f'days must be between 0 and {MAX_DAYS}')
    return days


def pack(db, days):
    """Pack ``db`` keeping ``days`` days of history; returns a one-line summary."""
    before = _size(db)
    db.pack(days=days)
    after = _size(db)
    if before is None or after is None:
        return f'packed, keeping {days} days of history'
    return f'packed, keeping {days} days of history: {before:,} -> {after:,} bytes'


def _size(db):
    try:
        return int(db.storage.getSize())
    except Exception:  # noqa: BLE001 - a storage without a meaningful size
        return None
