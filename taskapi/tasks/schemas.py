"""Request and response bodies, headers and query parameters of /api/v1/tasks."""

from marshmallow import EXCLUDE, ValidationError, fields, post_load, pre_load, validate, validates_schema

from taskapi.schemas import MAX_OFFSET, NamedEnum, PageSchema, Text, UTCDateTime, one_of
from taskapi.serializers import Schema
from taskapi.tasks import tags
from taskapi.tasks.models import (
    DESCRIPTION_MAX,
    IDEMPOTENCY_KEY_MAX,
    MAX_ID,
    MAX_SEQ,
    TAG_MAX,
    TAGS_PER_TASK,
    TITLE_MAX,
    Priority,
    Status,
)

READ_ONLY = ("id", "completed_at", "created_at", "updated_at", "version", "position", "created_by")
SORT_KEYS = ("created_at", "updated_at", "due_at", "priority", "title", "id", "position")
BULK_MAX = 100
FEED_LIMIT_MAX = 1000
FEED_LISTS_MAX = 100_000
CURSOR_MAX = 2000  # far beyond any list cursor the service makes
FEED_CURSOR_MAX = 16000  # a feed cursor holds a position per list (compressed)
# Trimmed strings must keep a character: what the OpenAPI document says of them.
NOT_BLANK = {"pattern": r"\S"}


def _integer(lowest, highest, **kwargs):
    """A JSON integer (not a boolean, a float or a string of digits) from `lowest` to `highest`."""
    return fields.Integer(strict=True, validate=validate.Range(lowest, highest), **kwargs)


def TaskStatus(**kwargs):  # noqa: N802 - a field factory reads like a field class
    return NamedEnum(Status, "TaskStatus", **kwargs)


def TaskPriority(**kwargs):  # noqa: N802
    return NamedEnum(Priority, "TaskPriority", **kwargs)


class Tag(Text):
    """One tag: trimmed and lowercased, then 1–40 characters."""

    def __init__(self, **kwargs):
        # What the rule means for the string sent, for the OpenAPI document.
        super().__init__(metadata={"minLength": 1, "maxLength": TAG_MAX, **NOT_BLANK}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        tag = tags.normalize(super()._deserialize(value, attr, data, **kwargs))
        if not 1 <= len(tag) <= TAG_MAX:
            raise ValidationError(f"Each tag must be 1–{TAG_MAX} characters after trimming.")
        return tag


class Tags(fields.List):
    """A task's tags: at most 20 given; duplicates merged, sorted."""

    def __init__(self, **kwargs):
        super().__init__(Tag(), metadata={"maxItems": TAGS_PER_TASK, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        given = super()._deserialize(value, attr, data, **kwargs)
        if len(given) > TAGS_PER_TASK:  # as sent: the document's maxItems
            raise ValidationError(f"At most {TAGS_PER_TASK} tags.")
        return sorted(set(given))


class TaskSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 7})
    list_id = fields.Integer(required=True, metadata={"example": 4})
    assignee_id = fields.Integer(required=True, allow_none=True, metadata={"example": None})
    created_by = fields.Integer(required=True, allow_none=True, metadata={
        "example": 1, "description": "null once that account is gone."})
    title = fields.String(required=True, metadata={"example": "Write report"})
    description = fields.String(required=True, allow_none=True, metadata={"example": "Quarterly numbers"})
    status = TaskStatus(required=True)
    priority = TaskPriority(required=True)
    due_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    completed_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    created_at = fields.AwareDateTime(required=True, format="iso")
    updated_at = fields.AwareDateTime(required=True, format="iso")
    version = fields.Integer(required=True, metadata={"example": 1})
    tags = fields.List(fields.String(), required=True, metadata={"example": ["work"]})
    position = fields.String(required=True, metadata={
        "example": "a0", "description": "Sorting the tasks by it (bytewise) gives the manual order."})


class TrashedTaskSchema(TaskSchema):
    """A task in the trash."""

    deleted_at = fields.AwareDateTime(required=True, format="iso")


class TaskWriteSchema(Schema):
    """Fields a client may set; the read-only ones are refused by name."""

    title = Text(validate=validate.Length(1, TITLE_MAX), metadata=NOT_BLANK)
    description = Text(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX))
    status = TaskStatus()
    priority = TaskPriority()
    due_at = UTCDateTime(allow_none=True)
    tags = Tags(metadata={"description": "Replaces the whole list."})
    list_id = _integer(1, MAX_ID, metadata={
        "description": "The task's list (on create, default: the caller's inbox); a change moves it, first in "
                       "the other list (tasks.write in both)."})
    assignee_id = _integer(1, MAX_ID, allow_none=True, metadata={
        "description": "A member of the task's list, or null."})

    @pre_load
    def trim_title(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("title"), str):  # nested (bulk): any JSON value
            data = {**data, "title": data["title"].strip()}
        return data

    def handle_error(self, error, data, **kwargs):
        for name in READ_ONLY:
            if name in error.messages and isinstance(data, dict) and name in data:
                error.messages[name] = ["Read-only field."]
        raise error


class TaskCreateSchema(TaskWriteSchema):
    title = Text(required=True, validate=validate.Length(1, TITLE_MAX), metadata=NOT_BLANK)


class TaskMoveSchema(Schema):
    after = fields.Integer(required=True, allow_none=True, strict=True, metadata={
        "description": "The task to follow; null: first."})


class TaskBulkUpdateSchema(Schema):
    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)), required=True,
                      validate=validate.Length(1, BULK_MAX), metadata={"description": "Distinct task ids.",
                                                                       "uniqueItems": True})
    changes = fields.Nested(TaskWriteSchema, required=True)

    @validates_schema
    def distinct_ids(self, data, **kwargs):
        if len(set(data["ids"])) != len(data["ids"]):
            raise ValidationError("Each id at most once.", field_name="ids")


class TaskItemsSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)


class TaskListSchema(PageSchema, TaskItemsSchema):
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "Gives the next page as ?cursor=; null on the last page."})


class TrashListSchema(PageSchema):
    items = fields.List(fields.Nested(TrashedTaskSchema), required=True)


class TaskFilterSchema(Schema):
    """The filters and sort of a list: what its cursors carry."""

    class Meta:
        unknown = EXCLUDE  # unknown query parameters are ignored

    list_id = fields.List(fields.Integer(validate=validate.Range(1, MAX_ID)), metadata={
        "description": "Only tasks of these lists (repeatable)."})
    assignee = Text(validate=validate.Regexp(r"^(me|none|[1-9][0-9]{0,9})$", error="Must be me, none or a user id."),
                    metadata={"description": "me, none, or a user id."})
    status = fields.List(TaskStatus())
    priority = fields.List(TaskPriority())
    tag = fields.List(Tag(), validate=validate.Length(max=TAGS_PER_TASK),
                      metadata={"description": "Only tasks with every tag given."})
    q = Text(validate=validate.Length(max=TITLE_MAX + DESCRIPTION_MAX))
    due_before = UTCDateTime()
    due_after = UTCDateTime()
    sort = Text(load_default="-created_at", **one_of("TaskSort", [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]))


class TaskQuerySchema(TaskFilterSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(validate=validate.Range(0, MAX_OFFSET), metadata={"description": "Default 0."})
    cursor = Text(validate=validate.Length(1, CURSOR_MAX), metadata={
        "description": "A next_cursor: the next page of the list it came from (its filters and sort)."})

    @pre_load
    def ignore_filters_beside_a_cursor(self, data, **kwargs):
        if "cursor" not in data:
            return data
        return {name: data[name] for name in ("cursor", "limit", "offset") if name in data}

    @validates_schema
    def no_offset_with_a_cursor(self, data, **kwargs):
        if "cursor" in data and "offset" in data:
            raise ValidationError("Not allowed with a cursor.", field_name="offset")


# The last row's sort value as each sort writes it in a cursor: the sort column's value, JSON-ready.
SORT_VALUES = {
    "created_at": UTCDateTime(),
    "updated_at": UTCDateTime(),
    "due_at": UTCDateTime(allow_none=True),
    "priority": _integer(1, len(Priority)),  # the rank low < medium < high the list sorts by
    "title": Text(),
    "id": _integer(1, MAX_ID),
    "position": Text(),
}
LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: later is no datetime


class ListCursorSchema(Schema):
    """A list cursor's payload as the service writes it: the list's filters and sort, the answer's offset,
    and the last row given (its sort value and id)."""

    filters = fields.Nested(TaskFilterSchema, required=True)
    offset = _integer(0, MAX_OFFSET, required=True)
    id = _integer(1, MAX_ID, required=True)
    value = fields.Raw(required=True, allow_none=True)

    @post_load
    def value_of_the_sort(self, data, **kwargs):
        field = SORT_VALUES[data["filters"]["sort"].lstrip("-")]
        try:
            data["value"] = field.deserialize(data["value"])
        except ValidationError as error:
            raise ValidationError(error.messages, field_name="value") from None
        return data


class FeedCursorSchema(Schema):
    """A change-feed cursor's payload as the service writes it: per list, the list's change sequence (and,
    within it, the task id) answered up to; and when it was issued (Unix seconds). A cursor of v2 has one
    sequence instead of `lists`: its user's, now their inbox's."""

    lists = fields.List(fields.Tuple((_integer(1, MAX_ID), _integer(0, MAX_SEQ), _integer(1, MAX_ID, allow_none=True))),
                        validate=validate.Length(max=FEED_LISTS_MAX))
    seq = _integer(0, MAX_SEQ)
    id = _integer(1, MAX_ID, allow_none=True)
    issued = _integer(0, LATEST_TIMESTAMP, required=True)

    @validates_schema
    def lists_or_one_sequence(self, data, **kwargs):
        if ("lists" in data) == ("seq" in data and "id" in data):
            raise ValidationError("Either lists, or seq and id.")


class FeedQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    since = Text(validate=validate.Length(1, FEED_CURSOR_MAX), metadata={
        "description": "The cursor of the previous answer; without it, a full sync of the live tasks."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, FEED_LIMIT_MAX))


class FeedSchema(Schema):
    changes = fields.List(fields.Nested(TaskSchema), required=True, metadata={
        "description": "Tasks created, changed, moved or restored, in their current state."})
    deleted = fields.List(fields.Integer(), required=True, metadata={
        "description": "Ids of tasks trashed, gone for good, or out of the caller's sight (their list left)."})
    lists = fields.List(fields.Nested("ListSchema"), required=True, metadata={
        "description": "Lists created, changed or newly visible, in their current state (a full sync: all)."})
    deleted_lists = fields.List(fields.Integer(), required=True, metadata={
        "description": "Ids of lists deleted or no longer visible to the caller."})
    cursor = fields.String(required=True, metadata={"description": "Pass as since= next time."})
    has_more = fields.Boolean(required=True, metadata={"description": "Call again at once with the cursor."})


class ListScopeQuerySchema(Schema):
    """Which list's trash a trash-wide operation acts on."""

    class Meta:
        unknown = EXCLUDE

    list_id = fields.Integer(validate=validate.Range(1, MAX_ID), metadata={"description": "Default: your inbox."})


class ClearedSchema(Schema):
    deleted = fields.Integer(required=True, metadata={"description": "How many tasks went to the trash."})


class TagCountSchema(Schema):
    name = fields.String(required=True, metadata={"example": "work"})
    count = fields.Integer(required=True, metadata={"example": 3})


class TagListSchema(Schema):
    items = fields.List(fields.Nested(TagCountSchema), required=True)


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


class ExportedTaskSchema(TaskSchema):
    """A task in the account export: the trash's too."""

    deleted_at = fields.AwareDateTime(required=True, allow_none=True, format="iso",
                                      metadata={"description": "When it went to the trash; null for a live task."})
