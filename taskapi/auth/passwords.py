"""Password hashing with argon2id."""

import contextlib
import ctypes

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): tens of logins a second per core.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial value


def _unmap_freed_hash_memory():
    """Keep glibc from holding on to argon2's 19 MiB block after each hash (RSS would stay 19 MiB higher).

    glibc raises its mmap threshold to the size of the first large block freed, so
    later blocks of that size come from the heap and stay resident once freed.
    Fixing the threshold keeps them mmapped, so free() returns them to the system.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


_unmap_freed_hash_memory()

# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = hasher.hash("taskapi-no-such-user")


def hash_password(password):
    return hasher.hash(password)


def verify_password(password_hash, password):
    """Whether `password` matches; `password_hash` None still costs one verification."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return hasher.check_needs_rehash(password_hash)
