"""Schemas shared by every area: the error envelope."""

from datetime import UTC

from marshmallow import EXCLUDE, fields, validate

from taskapi.serializers import Schema


class ErrorSchema(Schema):
    """The one body of every 4xx and 5xx answer."""

    status = fields.Integer(required=True, metadata={"example": 422})
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True, metadata={"example": "The request body is not valid."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.List(fields.String())),
        metadata={"description": "Only on 422: location → field → messages."},
    )
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
