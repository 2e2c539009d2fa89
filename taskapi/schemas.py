"""Schemas shared by every area: the error envelope, named enums, common fields."""

from datetime import UTC

from marshmallow import EXCLUDE, fields, validate

from taskapi.errors import CODES
from taskapi.serializers import Schema

# Field metadata naming the shared enum schema a field's values are documented by (see taskapi.api):
# one generated type per enum, the same in answers, bodies and query parameters.
ENUM_SCHEMA = "enum_schema"


def NamedEnum(enum, name, **kwargs):  # noqa: N802 - a field factory reads like a field class
    """A str enum by value, documented as the shared enum schema `name`."""
    metadata = {ENUM_SCHEMA: name, **kwargs.pop("metadata", {})}
    return fields.Enum(enum, by_value=True, metadata=metadata, **kwargs)


def one_of(name, values):
    """Field keyword arguments for a string among `values`, documented as the shared enum schema `name`."""
    return {"validate": validate.OneOf(values), "metadata": {ENUM_SCHEMA: name}}


def _messages_by_field(location):
    return fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                       metadata={"description": f"In the {location}: field → messages."})


class ValidationErrorsSchema(Schema):
    """What was refused in a request, by where it was: location → field → messages."""

    json = _messages_by_field("body")
    query = _messages_by_field("query string")
    headers = _messages_by_field("headers")
    path = _messages_by_field("path")


class ErrorSchema(Schema):
    """The one body of every 4xx and 5xx answer."""

    status = fields.Integer(required=True, metadata={"example": 422})
    code = fields.String(required=True, metadata={ENUM_SCHEMA: "ErrorCode", "enum": list(CODES)})
    message = fields.String(required=True, metadata={"example": "The request body is not valid."})
    errors = fields.Nested(ValidationErrorsSchema, metadata={"description": "Only on 422."})
    request_id = fields.String(required=True, metadata={"example": "3f2c9a7e6b0d4e55"})


MAX_OFFSET = 2**31 - 1


class PageQuerySchema(Schema):
    """`limit` and `offset` of a paged list."""

    class Meta:
        unknown = EXCLUDE  # unknown query parameters are ignored

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))


class Text(fields.String):
    """A string PostgreSQL can store: no NUL characters."""

    default_error_messages = {"nul": "Must not contain NUL characters."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise self.make_error("nul")
        return value


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 datetime with an explicit offset, converted to UTC."""

    default_error_messages = {"range": "Datetime is out of range."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise self.make_error("range") from None


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing that merely looks like one ("yes", 1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PageSchema(Schema):
    """What every page by offset carries besides its items."""

    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
