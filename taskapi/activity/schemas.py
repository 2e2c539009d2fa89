"""Answers and query parameters of the activity routes, and what their cursors carry."""

from marshmallow import EXCLUDE, fields, validate

from taskapi.activity.models import Action
from taskapi.schemas import Text, one_of
from taskapi.serializers import Schema
from taskapi.tasks.models import MAX_ID
from taskapi.tasks.schemas import CURSOR_MAX

MAX_ACTIVITY_ID = 2**63 - 1


class ActorSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    name = fields.String(required=True, metadata={"example": "Ada"})


class ActivitySchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 812})
    at = fields.AwareDateTime(required=True, format="iso")
    actor = fields.Nested(ActorSchema, required=True, allow_none=True, metadata={
        "description": "Who made the change; null for the service's own (maintenance) or a deleted account."})
    action = fields.String(required=True, **one_of("ActivityAction", [action.value for action in Action]))
    task_id = fields.Integer(required=True, allow_none=True, metadata={"example": 7})
    # Raw, as stored (JSON already): a compiled dump passes it on as it is (taskapi.serializers).
    changes = fields.Raw(required=True, metadata={
        "type": "object", "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2, "items": {}},
        "description": "field → [value before, value after], for the fields that changed.",
        "example": {"title": ["Draft", "Report"]}})


class ActivityPageSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "Gives the next (older) page as ?cursor=; null on the last page."})


class ActivityQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # unknown query parameters are ignored

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = Text(validate=validate.Length(1, CURSOR_MAX), metadata={
        "description": "A next_cursor: the next page of the activity it came from."})


class ActivityCursorSchema(Schema):
    """An activity cursor's payload as the service writes it: whose activity (a list's or a task's) and the
    last entry given."""

    of = fields.String(required=True, validate=validate.OneOf(["list", "task"]))
    key = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_ID))
    id = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_ACTIVITY_ID))
