"""GET /me/export: everything the service holds about a user, in one JSON file.

Accounts know nothing of what other areas keep: each adds its section with add_section() (tasks
add theirs), so this package imports none of them.
"""

from flask import current_app

from taskapi.auth import events, user_sessions
from taskapi.models import utcnow

EXTENSION = "taskapi-export-sections"
DISPOSITION = {"Content-Disposition": 'attachment; filename="taskapi-export.json"'}
DISPOSITION_HEADER = {
    "Content-Disposition": {"description": "Saves the answer as taskapi-export.json.", "required": True,
                            "schema": {"type": "string"}}
}


def add_section(app, name, collect):
    """Another area's part of the export: `collect(user)` gives what ExportSchema's field `name` holds."""
    app.extensions.setdefault(EXTENSION, {})[name] = collect


def everything(user, current_session_id):
    sections = {name: collect(user) for name, collect in current_app.extensions.get(EXTENSION, {}).items()}
    return {
        "exported_at": utcnow(),
        "user": user,
        **sections,
        "sessions": user_sessions.active(user, current_session_id),
        "events": events.of(user),
    }
