"""The compiled dump held to marshmallow's own: same keys, same values, same JSON types."""

import marshmallow

from taskapi import serializers


def same_data(one, other):
    """Equal and of the same types all the way down (1 == True == 1.0 in Python, not in JSON)."""
    if type(one) is not type(other):
        return False
    if isinstance(one, dict):
        return one.keys() == other.keys() and all(same_data(one[key], other[key]) for key in one)
    if isinstance(one, list | tuple):
        return len(one) == len(other) and all(map(same_data, one, other))
    return one == other


def assert_dumps_alike(schema, obj, many, answer):
    """`answer`, the compiled dump of `obj`, is what marshmallow's own dump gives (nothing to do when not compiled)."""
    if serializers._compiled(schema) is None:
        return  # the answer was marshmallow's own
    own = marshmallow.Schema.dump(schema, obj, many=many)
    assert same_data(answer, own), f"{type(schema).__name__}: compiled {answer!r} != marshmallow's {own!r}"
