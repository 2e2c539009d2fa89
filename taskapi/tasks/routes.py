"""/api/v1/tasks: the user's tasks (create, list, read, change, order, trash, sync); /api/v1/tags."""

import re

from flask import make_response, url_for
from flask_jwt_extended import current_user
from werkzeug.http import parse_etags

from taskapi.api import Blueprint
from taskapi.schemas import PageQuerySchema
from taskapi.tasks import commands, feed, idempotency, queries, trash
from taskapi.tasks.models import etag
from taskapi.tasks.schemas import (
    ClearedSchema,
    FeedQuerySchema,
    FeedSchema,
    IdempotencyHeaderSchema,
    IfMatchSchema,
    IfNoneMatchSchema,
    ListScopeQuerySchema,
    TagListSchema,
    TaskBulkUpdateSchema,
    TaskCreateSchema,
    TaskItemsSchema,
    TaskListSchema,
    TaskMoveSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskWriteSchema,
    TrashListSchema,
)

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="The tasks of the caller's lists.")
tags_blp = Blueprint("tags", __name__, url_prefix="/api/v1/tags", description="The tags of the user's tasks.")

ETAG_HEADER = {
    "ETag": {"description": "Changes whenever the task's version does.", "required": True, "schema": {"type": "string"}}
}
LOCATION_HEADER = {"Location": {"description": "URL of the new task.", "required": True, "schema": {"type": "string"}}}


def _task_headers(task_id, version):
    return {"ETag": etag(task_id, version)}


def versions_from(headers, object_id):
    """The versions If-Match accepts of a task or list (their ETags are "<id>.<version>"); None: any (no If-Match,
    or *)."""
    if headers.get("if_match") is None:
        return None
    accepted = parse_etags(headers["if_match"])
    if accepted.star_tag:
        return None
    pattern = re.compile(rf"{object_id}\.([0-9]+)")
    matches = (pattern.fullmatch(tag) for tag in accepted.as_set() if tag)  # an empty If-Match parses to a None
    return {int(match[1]) for match in matches if match}


def not_modified(headers, current_etag):
    """Whether If-None-Match names the current ETag (then: 304)."""
    return headers.get("if_none_match") is not None and parse_etags(headers["if_none_match"]).contains_weak(
        current_etag.strip('"'))


@blp.post("")
@blp.authenticated(scope="tasks:write")
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.body(TaskCreateSchema)
@idempotency.idempotent
@blp.response(201, TaskSchema, headers={**ETAG_HEADER, **LOCATION_HEADER})
@blp.errors(403, 409, 500, 503)
def create_task(data):
    """Create a task; safe to retry with an Idempotency-Key."""
    task = commands.create_task(current_user, data)
    return task, 201, {**_task_headers(task.id, task.version), "Location": url_for("tasks.get_task", task_id=task.id)}


@blp.get("")
@blp.authenticated(scope="tasks:read")
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskListSchema)
@blp.errors(500, 503)
def list_tasks(args):
    """List tasks, filtered, sorted and paged (by offset or cursor)."""
    return queries.list_tasks(current_user, args)


@blp.patch("")
@blp.authenticated(scope="tasks:write")
@blp.body(TaskBulkUpdateSchema)
@blp.response(200, TaskItemsSchema)
@blp.errors(403, 404, 409, 412, 500, 503)
def update_tasks(data):
    """Make the same changes to up to 100 tasks, all or nothing."""
    return {"items": commands.update_tasks(current_user, data["ids"], data["changes"])}


@blp.get("/changes")
@blp.authenticated(scope="tasks:read")
@blp.arguments(FeedQuerySchema, location="query")
@blp.response(200, FeedSchema)
@blp.errors(410, 500, 503)
def list_changes(args):
    """The change feed: what changed since a cursor (without one, every live task)."""
    return feed.changes(current_user, args.get("since"), args["limit"])


@blp.get("/trash")
@blp.authenticated(scope="tasks:read")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, TrashListSchema)
@blp.errors(500, 503)
def list_trash(args):
    """List the trash, latest deletion first."""
    return queries.list_trash(current_user, args)


@blp.delete("/trash")
@blp.authenticated(scope="tasks:write")
@blp.arguments(ListScopeQuerySchema, location="query")
@blp.response(204)
@blp.errors(403, 500, 503)
def empty_trash(args):
    """Empty a list's trash (the inbox's by default): its tasks are gone for good."""
    trash.empty_trash(current_user, args.get("list_id"))


@blp.post("/clear-completed")
@blp.authenticated(scope="tasks:write")
@blp.arguments(ListScopeQuerySchema, location="query")
@blp.response(200, ClearedSchema)
@blp.errors(403, 500, 503)
def clear_completed(args):
    """Move every completed task of a list (the inbox by default) to the trash."""
    return {"deleted": trash.clear_completed(current_user, args.get("list_id"))}


@blp.get("/<int:task_id>")
@blp.authenticated(scope="tasks:read")
@blp.arguments(IfNoneMatchSchema, location="headers")
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.alt_response(304, description="Not Modified: If-None-Match names the current ETag.", headers=ETAG_HEADER)
@blp.errors(404, 500, 503)
def get_task(headers, task_id):
    """Read one task."""
    task = queries.get_task(current_user, task_id)
    if not_modified(headers, task.etag):
        return make_response("", 304, _task_headers(task.id, task.version))
    return task, 200, _task_headers(task.id, task.version)


# PUT is kept for clients that send partial bodies with it: one view answers both.
@blp.route("/<int:task_id>", methods=["PATCH", "PUT"])
@blp.authenticated(scope="tasks:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.body(TaskWriteSchema)
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.errors(403, 404, 409, 412, 500, 503)
def update_task(headers, data, task_id):
    """Change the fields given; the rest stay (PUT does the same as PATCH)."""
    task = commands.update_task(current_user, task_id, data, versions_from(headers, task_id))
    return task, 200, _task_headers(task.id, task.version)


@blp.patch("/<int:task_id>/toggle")
@blp.authenticated(scope="tasks:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.errors(403, 404, 412, 500, 503)
def toggle_task(headers, task_id):
    """Complete a task, or reopen a completed one."""
    task = commands.toggle_task(current_user, task_id, versions_from(headers, task_id))
    return task, 200, _task_headers(task.id, task.version)


@blp.delete("/<int:task_id>")
@blp.authenticated(scope="tasks:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.response(204)
@blp.errors(403, 404, 412, 500, 503)
def delete_task(headers, task_id):
    """Move a task to the trash."""
    trash.trash_task(current_user, task_id, versions_from(headers, task_id))


@blp.post("/<int:task_id>/move")
@blp.authenticated(scope="tasks:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.body(TaskMoveSchema)
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.errors(403, 404, 412, 500, 503)
def move_task(headers, data, task_id):
    """Put a task right after another one in the manual order (after null: first)."""
    task = commands.move_task(current_user, task_id, data["after"], versions_from(headers, task_id))
    return task, 200, _task_headers(task.id, task.version)


@blp.post("/<int:task_id>/restore")
@blp.authenticated(scope="tasks:write")
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.errors(403, 404, 500, 503)
def restore_task(task_id):
    """Bring a task back from the trash, as it was."""
    task = trash.restore_task(current_user, task_id)
    return task, 200, _task_headers(task.id, task.version)


@tags_blp.get("")
@tags_blp.authenticated(scope="tasks:read")
@tags_blp.response(200, TagListSchema)
@tags_blp.errors(500, 503)
def list_tags():
    """The tags of the live tasks, with how many carry each, by name."""
    return {"items": queries.tag_counts(current_user)}
