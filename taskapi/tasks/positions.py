"""Manual order keys: fractional-indexing strings whose byte order is the order, kept short."""

import os

from fractional_indexing import generate_key_between, generate_n_keys_between

# Past this a key is not written: a few neighbours are respaced instead (taskapi.tasks.service.place).
KEY_MAX = 64
# Respaced keys are at most this long, so a respaced stretch has room for many moves before the next.
SPREAD_MAX = KEY_MAX // 2


def between(before, after):
    """A key between two keys (None: the start or the end), or None when it would be too long."""
    key = generate_key_between(before, after)
    return key if len(key) <= KEY_MAX else None


def spread(count, before, after):
    """`count` keys in ascending order, evenly spread between two keys (None: an end), or None when some
    would pass SPREAD_MAX. Between two ends they are a0, a1, … (what the seed and the v2 migration write)."""
    if before is not None and after is not None and len(os.path.commonprefix([before, after])) >= SPREAD_MAX:
        return None  # every key between them is longer: spare making them
    keys = generate_n_keys_between(before, after, count)
    return keys if before is None and after is None or max(map(len, keys), default=0) <= SPREAD_MAX else None


def evenly(count):
    """`count` short keys in ascending order: a0, a1, …"""
    return spread(count, None, None)
