"""GET /me/export: everything the service holds about a user, in one JSON file."""

from taskapi.auth import events, user_sessions
from taskapi.models import utcnow
from taskapi.tasks import service as tasks

DISPOSITION = {"Content-Disposition": 'attachment; filename="taskapi-export.json"'}
DISPOSITION_HEADER = {
    "Content-Disposition": {"description": "Saves the answer as taskapi-export.json.", "required": True,
                            "schema": {"type": "string"}}
}


def everything(user, current_session_id):
    return {
        "exported_at": utcnow(),
        "user": user,
        "tasks": tasks.every_task(user),
        "sessions": user_sessions.active(user, current_session_id),
        "events": events.of(user),
    }
