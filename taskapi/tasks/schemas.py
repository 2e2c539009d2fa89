"""Request and response bodies, headers and query parameters of /api/v1/tasks."""

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from taskapi.schemas import Text, UTCDateTime
from taskapi.tasks.models import DESCRIPTION_MAX, IDEMPOTENCY_KEY_MAX, TITLE_MAX, Priority, Status

READ_ONLY = ("id", "completed_at", "created_at", "updated_at", "version")
SORT_KEYS = ("created_at", "updated_at", "due_at", "priority", "title", "id")
MAX_OFFSET = 2**31 - 1


class TaskSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 7})
    title = fields.String(required=True, metadata={"example": "Write report"})
    description = fields.String(required=True, allow_none=True, metadata={"example": "Quarterly numbers"})
    status = fields.Enum(Status, by_value=True, required=True)
    priority = fields.Enum(Priority, by_value=True, required=True)
    due_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    completed_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    created_at = fields.AwareDateTime(required=True, format="iso")
    updated_at = fields.AwareDateTime(required=True, format="iso")
    version = fields.Integer(required=True, metadata={"example": 1})


class TaskWriteSchema(Schema):
    """Fields a client may set; the read-only ones are refused by name."""

    title = Text(validate=validate.Length(1, TITLE_MAX))
    description = Text(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX))
    status = fields.Enum(Status, by_value=True)
    priority = fields.Enum(Priority, by_value=True)
    due_at = UTCDateTime(allow_none=True)

    @pre_load
    def trim_title(self, data, **kwargs):
        if isinstance(data.get("title"), str):
            data = {**data, "title": data["title"].strip()}
        return data

    def handle_error(self, error, data, **kwargs):
        for name in READ_ONLY:
            if name in error.messages and isinstance(data, dict) and name in data:
                error.messages[name] = ["Read-only field."]
        raise error


class TaskCreateSchema(TaskWriteSchema):
    title = Text(required=True, validate=validate.Length(1, TITLE_MAX))


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class TaskQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # unknown query parameters are ignored

    status = fields.List(fields.Enum(Status, by_value=True))
    priority = fields.List(fields.Enum(Priority, by_value=True))
    q = Text(validate=validate.Length(max=TITLE_MAX + DESCRIPTION_MAX))
    due_before = UTCDateTime()
    due_after = UTCDateTime()
    sort = Text(
        load_default="-created_at",
        validate=validate.OneOf([*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]),
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = Text(
        data_key="Idempotency-Key",
        validate=validate.Length(1, IDEMPOTENCY_KEY_MAX),
        metadata={"description": "Makes the create safe to retry for 24 hours."},
    )


class IfMatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    if_match = fields.String(data_key="If-Match", metadata={"description": "ETag read earlier; 412 when stale."})


class IfNoneMatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    if_none_match = fields.String(data_key="If-None-Match", metadata={"description": "ETag held; 304 when current."})
