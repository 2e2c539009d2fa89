"""Schema dumps compiled once into plain Python: the answer marshmallow would give, at a fraction of the cost.

marshmallow's dump walks each field's generic path (accessor, default, formatting hooks) for every
value: most of a list's Python time. The schemas stay the one description of every answer (the
OpenAPI document is built from them); `Schema` here compiles each instance's dump fields, the
first time it dumps, into a list of (key, attribute, conversion) steps for the field kinds the
service answers with. A schema with any other kind of field, a dump hook or a dotted attribute
keeps marshmallow's own dump. The test suite runs marshmallow's dump beside every compiled one
(tests/conftest.py) and fails on any difference.
"""

import functools

import marshmallow
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP

MISSING = marshmallow.missing
_UNCOMPILED = object()


def _identity(value):
    return value


def _isoformat(value):
    return value.isoformat()


def _enum_value(value):
    return value.value


def _enum_name(value):
    return value.name


def _list_of(convert):
    if convert is _identity:
        return list
    return lambda values: [None if value is None else convert(value) for value in values]


def _converter(field):
    """How `field` turns a (non-None) value into JSON-ready data, or None when it is not compiled."""
    if isinstance(field, fields.Nested):
        dump = _compiled(field.schema)
        if dump is None:
            return None
        return (lambda values: [dump(value) for value in values]) if field.many else dump
    if isinstance(field, fields.List):
        inner = _converter(field.inner)
        return None if inner is None else _list_of(inner)
    if isinstance(field, fields.Enum):
        return _enum_value if field.by_value else _enum_name
    if type(field) in (fields.DateTime, fields.AwareDateTime):
        return _isoformat if field.format in (None, "iso") else None
    if isinstance(field, fields.Boolean):
        return bool
    if isinstance(field, fields.Integer) and not field.as_string:
        return int
    if type(field) in (fields.String, fields.Email):
        return str
    if type(field) is fields.Raw:
        return _identity
    return None


def _compiled(schema):
    """The schema instance's one-object dump function (cached on it), or None to keep marshmallow's."""
    dump = schema.__dict__.get("_compiled_dump", _UNCOMPILED)
    if dump is _UNCOMPILED:
        dump = schema._compiled_dump = _compile(schema)
    return dump


def has_dump_hooks(schema):
    """Whether marshmallow's dump would run a pre_dump or post_dump method of the schema.

    marshmallow has no public way to ask; this reads what its own dump reads (Schema._hooks,
    filled by its metaclass), here only. tests/test_serializers.py fails if that changes.
    """
    return bool(schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP])


def _compile(schema):
    if has_dump_hooks(schema):
        return None
    fields = []
    for name, field in schema.dump_fields.items():
        convert = _converter(field)
        attribute = field.attribute or name
        if convert is None or "." in attribute:
            return None
        fields.append((field.data_key or name, attribute, convert, field.dump_default))
    steps = tuple(fields)

    def dump(obj):
        read = obj.get if isinstance(obj, dict) else functools.partial(getattr, obj)  # both take a default
        out = {}
        for key, attribute, convert, default in steps:
            value = read(attribute, MISSING)
            if value is MISSING:
                if default is MISSING:
                    continue
                value = default() if callable(default) else default
            out[key] = None if value is None else convert(value)
        return out

    return dump


class Schema(marshmallow.Schema):
    """marshmallow's Schema, its dump compiled (same output); loading is marshmallow's own."""

    def dump(self, obj, *, many=None):
        dump = _compiled(self)
        if dump is None:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [dump(item) for item in obj]
        return dump(obj)

