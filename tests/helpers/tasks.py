"""Task helpers: create through the API, read rows straight from the database."""

from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from taskapi.extensions import db
from taskapi.tasks import cursors
from taskapi.tasks.models import IdempotentCreate, Task, TaskTag, TaskTombstone

TASKS = "/api/v1/tasks"
TRASH = f"{TASKS}/trash"
CHANGES = f"{TASKS}/changes"
TAGS = "/api/v1/tags"
TASK_FIELDS = {"id", "title", "description", "status", "priority", "due_at", "completed_at", "created_at",
               "updated_at", "version", "tags", "position", "list_id", "assignee_id", "created_by"}
READ_ONLY = ("id", "version", "created_at", "updated_at", "completed_at", "position", "created_by")


def task_url(task_id, suffix=""):
    return f"{TASKS}/{task_id}{suffix}"


def create(client, auth, title="Write report", **fields):
    """Create a task through the API; returns its body."""
    response = client.post(TASKS, json={"title": title, **fields}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, auth, task_id):
    """GET one task; returns the response."""
    return client.get(task_url(task_id), headers=auth)


def task_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Task)).scalar_one()


def key_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(IdempotentCreate)).scalar_one()


def stored(app, task_id):
    """The task's row as the database holds it (None when there is none)."""
    with app.app_context():
        row = db.session.execute(select(Task.__table__).where(Task.id == task_id)).mappings().one_or_none()
        return None if row is None else dict(row)


def stored_tasks(app):
    """Every task row, by id: what a rejected request must leave exactly as it was."""
    with app.app_context():
        rows = db.session.execute(select(Task.__table__).order_by(Task.id)).mappings().all()
        return {row["id"]: dict(row) for row in rows}


def tag_rows(app, task_id=None):
    """(task_id, tag) rows of task_tags, sorted; of one task when given."""
    with app.app_context():
        query = select(TaskTag.task_id, TaskTag.tag).order_by(TaskTag.task_id, TaskTag.tag)
        if task_id is not None:
            query = query.where(TaskTag.task_id == task_id)
        return [tuple(row) for row in db.session.execute(query)]


def tombstones(app):
    """{task_id: change_seq} of every tombstone."""
    with app.app_context():
        query = select(TaskTombstone.task_id, TaskTombstone.change_seq).order_by(TaskTombstone.change_seq)
        return dict(db.session.execute(query).all())


def page_of(client, auth, url=TASKS, **params):
    """GET a list (or the feed); asserts 200 and returns the body."""
    response = client.get(url, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(items):
    return [item["id"] for item in items]


def move(client, auth, task_id, after, **headers):
    return client.post(task_url(task_id, "/move"), json={"after": after}, headers={**auth, **headers})


def trash(client, auth, task_id):
    response = client.delete(task_url(task_id), headers=auth)
    assert response.status_code == 204, response.get_json()


def parse_time(value):
    """An ISO 8601 time from an answer: it must carry an explicit UTC offset."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0), value
    return moment


def without_request_id(body):
    return {key: value for key, value in body.items() if key != "request_id"}


def signed_cursor(app, salt, user_id, payload):
    """A cursor of `payload` for the user, signed by the service's own code with its key: genuine, whatever it holds."""
    with app.app_context():
        return cursors.dump(salt, SimpleNamespace(id=user_id), payload)
