"""Task fixtures and helpers: create through the API, read rows straight from the database."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from taskapi.extensions import db
from taskapi.tasks.models import IdempotentCreate, Task
from tests.conftest import bearer, register

TASKS = "/api/v1/tasks"
TASK_FIELDS = {"id", "title", "description", "status", "priority", "due_at", "completed_at", "created_at",
               "updated_at", "version", "tags", "position"}
READ_ONLY = ("id", "version", "created_at", "updated_at", "completed_at", "position")


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


def parse_time(value):
    """An ISO 8601 time from an answer: it must carry an explicit UTC offset."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0), value
    return moment


def without_request_id(body):
    return {key: value for key, value in body.items() if key != "request_id"}


@pytest.fixture
def other(client):
    """Authorization headers of a second user (Bob)."""
    return bearer(register(client, email="bob@example.com", name="Bob")["access_token"])


@pytest.fixture
def task(client, auth):
    """A task of the registered user, as created."""
    return create(client, auth, "Write report", description="Quarterly numbers")


@pytest.fixture
def cli(app, runner):
    """Run a command as the `flask` executable does: inside the app's context."""

    def invoke(*args):
        with app.app_context():
            result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke
