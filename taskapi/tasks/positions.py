"""Manual order keys: fractional-indexing strings whose byte order is the order, kept short."""

from fractional_indexing import generate_key_between, generate_n_keys_between

# Past this a key is not written: the user's positions are rewritten evenly instead.
KEY_MAX = 64


def between(before, after):
    """A key between two keys (None: the start or the end), or None when it would be too long."""
    key = generate_key_between(before, after)
    return key if len(key) <= KEY_MAX else None


def evenly(count):
    """`count` short keys in ascending order: a0, a1, … (what a rebalance and the v2 migration write)."""
    return generate_n_keys_between(None, None, count)
