"""taskapi.memory: what Python freed goes back to the system."""

import ctypes
import platform

import pytest

from taskapi import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system():
    def rss_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    # 64 MiB in blocks under the mmap threshold: glibc takes them from its heap and keeps them once freed.
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(1024)]
    for block in blocks:
        ctypes.memset(block, 1, 64 * 1024)
    keep = blocks.pop()  # a live block at the top of the heap: free() alone cannot shrink the heap
    for block in blocks:
        libc.free(block)
    before = rss_kib()
    assert memory.release_free_memory()
    assert rss_kib() < before - 32 * 1024
    libc.free(keep)
