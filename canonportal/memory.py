"""Give large, short-lived allocations back to the system as soon as they are freed.

glibc serves a block of at least its "mmap threshold" with its own mapping,
returned on free; but after the first such block is freed it raises the
threshold to that size, and from then on argon2's 19 MiB work areas come from
the heap of whichever thread signed a user in, and stay there. A serving
process with 8 threads then keeps about 150 MB it does not use. A fixed
threshold turns that adjustment off.
"""
import ctypes
import logging

log = logging.getLogger(__name__)

#: mallopt's parameter number for the mmap threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
#: Blocks of 1 MiB or more (argon2's work area, large pickles, PDFs) get their own mapping.
THRESHOLD_BYTES = 1 << 20


def return_large_blocks_to_the_system(threshold=THRESHOLD_BYTES):
    """Fix glibc's mmap threshold; True if applied (False on another C library)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    applied = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not applied:
        log.info('malloc: the mmap threshold could not be fixed')
    return applied
