"""Activity helpers: a list's or a task's activity as answered, and every entry as stored."""

from sqlalchemy import select

from taskapi.activity.models import Activity
from taskapi.extensions import db


def list_activity_url(list_id):
    return f"/api/v1/lists/{list_id}/activity"


def task_activity_url(task_id):
    return f"/api/v1/tasks/{task_id}/activity"


def activity_of(client, auth, url, **params):
    """Every entry of a list's or task's activity (following its cursors), newest first."""
    items, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query_string=query, headers=auth)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def list_activity(client, auth, list_id):
    return activity_of(client, auth, list_activity_url(list_id), limit=100)


def task_activity(client, auth, task_id):
    return activity_of(client, auth, task_activity_url(task_id), limit=100)


def stored_activity(app):
    """(list_id, task_id, actor_id, action, changes) of every entry, oldest first."""
    with app.app_context():
        rows = db.session.execute(select(Activity).order_by(Activity.id)).scalars().all()
        return [(row.list_id, row.task_id, row.actor_id, row.action, row.changes) for row in rows]


def shorten(items):
    """(action, task_id, actor id, changes) of answered entries: what tests compare."""
    return [(item["action"], item["task_id"], item["actor"] and item["actor"]["id"], item["changes"])
            for item in items]
