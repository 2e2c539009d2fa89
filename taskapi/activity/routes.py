"""/api/v1/lists/{id}/activity and /api/v1/tasks/{id}/activity: who changed what, newest first."""

from flask_jwt_extended import current_user

from taskapi.activity import queries
from taskapi.activity.schemas import ActivityPageSchema, ActivityQuerySchema
from taskapi.api import Blueprint

blp = Blueprint("activity", __name__, url_prefix="/api/v1",
                description="The activity of lists and tasks: every change, with who made it and what it changed.")


@blp.get("/lists/<int:list_id>/activity")
@blp.authenticated(scope="tasks:read")
@blp.arguments(ActivityQuerySchema, location="query")
@blp.response(200, ActivityPageSchema)
@blp.errors(404, 500, 503)
def list_activity(args, list_id):
    """The list's activity, newest first."""
    return queries.list_activity(current_user, list_id, args["limit"], args.get("cursor"))


@blp.get("/tasks/<int:task_id>/activity")
@blp.authenticated(scope="tasks:read")
@blp.arguments(ActivityQuerySchema, location="query")
@blp.response(200, ActivityPageSchema)
@blp.errors(404, 500, 503)
def task_activity(args, task_id):
    """The task's activity in the caller's lists, newest first."""
    return queries.task_activity(current_user, task_id, args["limit"], args.get("cursor"))
