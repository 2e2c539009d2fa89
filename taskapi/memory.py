"""A worker's memory: glibc's allocator asked to give back what Python freed."""

import contextlib
import ctypes

# Seconds between two trims by the background thread (taskapi/background.py): a trim walks the free
# lists of every arena, ~1 ms for a worker's heap, under each arena's lock.
TRIM_INTERVAL = 60


def _libc():
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def release_free_memory():
    """Return the free pages of glibc's heaps to the system (malloc_trim); True when glibc did.

    Python frees a request's objects, but glibc keeps the freed memory in its heaps for later
    allocations, and a page that holds a single live block stays resident: under threads each
    thread's arena keeps its own free pages, and a worker's RSS drifts up with the load it has seen.
    malloc_trim(0) gives back every whole free page of every arena (MADV_DONTNEED), not only the top.
    Not glibc (musl, macOS): nothing to do.
    """
    libc = _libc()
    with contextlib.suppress(AttributeError):
        return bool(libc is not None and libc.malloc_trim(0))
    return False
