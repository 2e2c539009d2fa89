"""MAX_TASKS_PER_LIST: a cap on a list's live and trashed tasks, counted without counting rows; `q` backed by trigram
indexes."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from taskapi.extensions import db
from taskapi.lists.models import TaskList
from taskapi.models import utcnow
from taskapi.tasks.models import Task
from taskapi.tasks.trash import purge
from tests.helpers.api import assert_error, bearer, register
from tests.helpers.tasks import TASKS, TRASH, create, stored_tasks, task_count, task_url, trash
from tests.helpers.threads import race

CAP = 3


@pytest.fixture
def app(make_app):
    return make_app(MAX_TASKS_PER_LIST=CAP)


def task_counts(app):
    """(the kept count, the real count of tasks, live and trashed) for every list."""
    with app.app_context():
        kept = dict(db.session.execute(select(TaskList.id, TaskList.task_count)).all())
        real = dict(db.session.execute(select(Task.list_id, func.count()).group_by(Task.list_id)).all())
    return kept, {list_id: real.get(list_id, 0) for list_id in kept}


def test_creating_past_the_cap_is_409_and_stores_nothing(app, client, auth):
    for i in range(CAP):
        create(client, auth, f"Task {i}")
    response = client.post(TASKS, json={"title": "One too many"}, headers=auth)
    body = assert_error(response, 409, "too_many_tasks")
    assert "delete some" in body["message"]
    assert task_count(app) == CAP


def test_the_trash_counts_until_it_is_emptied(app, client, auth):
    tasks = [create(client, auth, f"Task {i}") for i in range(CAP)]
    trash(client, auth, tasks[0]["id"])
    before = stored_tasks(app)
    assert_error(client.post(TASKS, json={"title": "In its place"}, headers=auth), 409, "too_many_tasks")
    assert stored_tasks(app) == before and task_counts(app)[0] == task_counts(app)[1]
    assert client.post(task_url(tasks[0]["id"], "/restore"), headers=auth).status_code == 200  # it was counted
    trash(client, auth, tasks[1]["id"])
    assert client.delete(TRASH, headers=auth).status_code == 204
    assert create(client, auth, "In its place")["title"] == "In its place"
    kept, real = task_counts(app)
    assert kept == real and sorted(real.values()) == [CAP]


def test_a_purge_frees_room(app, client, auth):
    tasks = [create(client, auth, f"Task {i}") for i in range(CAP)]
    trash(client, auth, tasks[0]["id"])
    assert_error(client.post(TASKS, json={"title": "One too many"}, headers=auth), 409, "too_many_tasks")
    with app.app_context():
        db.session.execute(update(Task).where(Task.id == tasks[0]["id"])
                           .values(deleted_at=utcnow() - timedelta(days=app.config["TRASH_DAYS"] + 1)))
        db.session.commit()
        assert purge()[0] == 1
    assert create(client, auth, "Room again")["title"] == "Room again"
    kept, real = task_counts(app)
    assert kept == real


def test_deleting_everything_and_creating_again_is_bounded(app, client, auth):
    """The trash is no way round the cap: a round of creates and deletes stops at the cap."""
    made = 0
    for _ in range(2 * CAP):
        response = client.post(TASKS, json={"title": "Again"}, headers=auth)
        if response.status_code != 201:
            assert_error(response, 409, "too_many_tasks")
            break
        made += 1
        trash(client, auth, response.get_json()["id"])
    assert made == CAP and task_count(app) == CAP


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
    app = make_app(MAX_TASKS_PER_LIST=1000)
    client = app.test_client()
    auth = bearer(register(client)["access_token"])
    tasks = [create(client, auth, f"Task {i}", status="completed" if i % 2 else "pending") for i in range(8)]
    steps = [
        lambda: trash(client, auth, tasks[0]["id"]),
        lambda: client.post(task_url(tasks[0]["id"], "/restore"), headers=auth),
        lambda: trash(client, auth, tasks[2]["id"]),
        lambda: client.post(f"{TASKS}/clear-completed", headers=auth),
        lambda: client.delete(TRASH, headers=auth),
        lambda: trash(client, auth, tasks[4]["id"]),
        lambda: runner.invoke(args=["seed"]),
        lambda: runner.invoke(args=["seed", "--reset"]),
    ]
    for step in steps:
        with app.app_context():
            step()
        kept, real = task_counts(app)
        assert kept == real
    assert sorted(real.values()) == [3, 25]  # Ada's two live tasks and one in the trash; the demo user's 25


def test_concurrent_creates_fill_the_cap_exactly_counting_the_trash(app, client, auth):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    for round_ in range(3):
        tasks = [create(client, auth, f"Round {round_} {i}") for i in range(CAP - 1)]
        trash(client, auth, tasks[0]["id"])  # room for one more: the trashed one still counts

        def creator(n):
            return lambda client_: client_.post(TASKS, json={"title": f"New {n}"}, headers=auth)

        responses = race(app, *(creator(n) for n in range(4)))
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
        assert task_count(app) == CAP and task_counts(app)[0] == task_counts(app)[1]
        emptied = race(app, *(creator(n) for n in range(2)),
                       lambda client_: client_.delete(TRASH, headers=auth))  # frees one, racing the creates
        created = sum(r.status_code == 201 for r in emptied[:2])
        assert emptied[2].status_code == 204 and created <= 1
        assert task_counts(app)[0] == task_counts(app)[1] and task_count(app) == CAP - 1 + created
        for task in client.get(TASKS, headers=auth).get_json()["items"]:
            trash(client, auth, task["id"])
        client.delete(TRASH, headers=auth)


def test_the_cap_is_read_from_the_environment():
    from taskapi import config

    assert config.load("/tmp", {"TASKAPI_ENV": "development"})["MAX_TASKS_PER_LIST"] == 10_000
    with pytest.raises(config.ConfigError, match="MAX_TASKS_PER_LIST"):
        config.load("/tmp", {"TASKAPI_ENV": "development", "MAX_TASKS_PER_LIST": "0"})


def test_q_has_trigram_indexes_on_postgresql(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("trigram indexes are PostgreSQL's (pg_trgm)")
        indexes = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks' AND indexname LIKE '%trgm'")).all())
    assert set(indexes) == {"ix_tasks_title_trgm", "ix_tasks_description_trgm"}
    assert all("gin_trgm_ops" in definition for definition in indexes.values())
