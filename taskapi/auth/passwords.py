"""Password hashing with argon2id, its parameters from the app's config (PASSWORD_HASHING)."""

import contextlib
import ctypes
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial value
# Verified against when the email is unknown, so both failures take the same time.
DUMMY_PASSWORD = "taskapi-no-such-user"


def _unmap_freed_hash_memory():
    """Keep glibc from holding on to argon2's 19 MiB block after each hash (RSS would stay 19 MiB higher).

    glibc raises its mmap threshold to the size of the first large block freed, so
    later blocks of that size come from the heap and stay resident once freed.
    Fixing the threshold keeps them mmapped, so free() returns them to the system.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


_unmap_freed_hash_memory()


@functools.cache
def _hasher_and_dummy(time_cost, memory_cost, parallelism):
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher, hasher.hash(DUMMY_PASSWORD)


def hasher_for(parameters):
    """The argon2id hasher of `parameters` (a PASSWORD_HASHING mapping), made once per process."""
    return _hasher_and_dummy(**parameters)[0]


def hasher():
    """The current app's hasher."""
    return hasher_for(current_app.config["PASSWORD_HASHING"])


def hash_password(password):
    return hasher().hash(password)


def verify_password(password_hash, password):
    """Whether `password` matches; `password_hash` None still costs one verification."""
    hasher, dummy_hash = _hasher_and_dummy(**current_app.config["PASSWORD_HASHING"])
    try:
        return hasher.verify(password_hash or dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return hasher().check_needs_rehash(password_hash)
