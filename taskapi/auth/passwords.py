"""Password hashing with argon2id."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): tens of logins a second per core.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

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
