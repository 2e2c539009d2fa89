"""MAX_TASKS_PER_USER: a cap on live tasks, counted without counting rows; `q` backed by trigram indexes."""

import pytest
from sqlalchemy import func, select, text

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.api import assert_error, bearer, register
from tests.helpers.tasks import TASKS, TRASH, create, task_count, task_url, trash

CAP = 3


@pytest.fixture
def app(make_app):
    return make_app(MAX_TASKS_PER_USER=CAP)


def live_counts(app):
    """(the kept count, the real count of live tasks) for every user."""
    with app.app_context():
        kept = dict(db.session.execute(select(User.id, User.live_task_count)).all())
        real = dict(db.session.execute(select(Task.user_id, func.count()).where(Task.deleted_at.is_(None))
                                       .group_by(Task.user_id)).all())
    return kept, {user_id: real.get(user_id, 0) for user_id in kept}


def test_creating_past_the_cap_is_409_and_stores_nothing(app, client, auth):
    for i in range(CAP):
        create(client, auth, f"Task {i}")
    response = client.post(TASKS, json={"title": "One too many"}, headers=auth)
    body = assert_error(response, 409, "too_many_tasks")
    assert "delete some" in body["message"]
    assert task_count(app) == CAP


def test_the_trash_does_not_count_but_a_restore_does(app, client, auth):
    tasks = [create(client, auth, f"Task {i}") for i in range(CAP)]
    trash(client, auth, tasks[0]["id"])
    replacement = create(client, auth, "In its place")
    assert_error(client.post(task_url(tasks[0]["id"], "/restore"), headers=auth), 409, "too_many_tasks")
    assert client.get(TRASH, headers=auth).get_json()["total"] == 1  # still in the trash
    trash(client, auth, replacement["id"])
    assert client.post(task_url(tasks[0]["id"], "/restore"), headers=auth).status_code == 200


def test_each_user_has_their_own_cap(app, client, auth, other):
    for i in range(CAP):
        create(client, auth, f"Mine {i}")
    assert create(client, other, "Bob's")["title"] == "Bob's"


def test_a_replayed_create_is_answered_even_at_the_cap(app, client, auth):
    key = {"Idempotency-Key": "once"}
    first = client.post(TASKS, json={"title": "First"}, headers={**auth, **key})
    for i in range(CAP - 1):
        create(client, auth, f"Task {i}")
    again = client.post(TASKS, json={"title": "First"}, headers={**auth, **key})
    assert (again.status_code, again.get_json()) == (201, first.get_json())


def test_the_kept_count_follows_every_way_a_task_comes_and_goes(make_app, runner):
    app = make_app(MAX_TASKS_PER_USER=1000)
    client = app.test_client()
    auth = bearer(register(client)["access_token"])
    tasks = [create(client, auth, f"Task {i}", status="completed" if i % 2 else "pending") for i in range(8)]
    trash(client, auth, tasks[0]["id"])
    client.post(task_url(tasks[0]["id"], "/restore"), headers=auth)
    trash(client, auth, tasks[2]["id"])
    assert client.post(f"{TASKS}/clear-completed", headers=auth).get_json() == {"deleted": 4}
    client.delete(TRASH, headers=auth)
    with app.app_context():
        runner.invoke(args=["seed"])
        runner.invoke(args=["seed", "--reset"])
    kept, real = live_counts(app)
    assert kept == real and sorted(real.values()) == [3, 25]  # Ada's three left; the demo user's 25


def test_the_cap_is_read_from_the_environment():
    from taskapi import config

    assert config.load("/tmp", {"TASKAPI_ENV": "development"})["MAX_TASKS_PER_USER"] == 10_000
    with pytest.raises(config.ConfigError, match="MAX_TASKS_PER_USER"):
        config.load("/tmp", {"TASKAPI_ENV": "development", "MAX_TASKS_PER_USER": "0"})


def test_q_has_trigram_indexes_on_postgresql(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("trigram indexes are PostgreSQL's (pg_trgm)")
        indexes = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks' AND indexname LIKE '%trgm'")).all())
    assert set(indexes) == {"ix_tasks_title_trgm", "ix_tasks_description_trgm"}
    assert all("gin_trgm_ops" in definition for definition in indexes.values())
