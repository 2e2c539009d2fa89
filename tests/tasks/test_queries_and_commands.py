"""taskapi.tasks.queries and .commands called directly: scoping by membership and trash, the change lock, versions."""

import pytest
from sqlalchemy import select

from taskapi.auth import accounts
from taskapi.exceptions import NotFoundError, VersionMismatchError
from taskapi.extensions import db
from taskapi.lists import access
from taskapi.lists import commands as list_commands
from taskapi.lists import queries as lists
from taskapi.lists.models import Role
from taskapi.tasks import commands, queries, trash
from taskapi.tasks.models import Priority, Status, Task, TaskTombstone
from taskapi.tasks.schemas import TaskSchema
from tests.helpers.api import PASSWORD

TASK = TaskSchema()
PAGE = {"sort": "-created_at", "limit": 20, "offset": 0}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def new_user(email, name):
    user = accounts.create_user(email, PASSWORD, name)
    db.session.commit()
    return user


@pytest.fixture
def ada(ctx):
    return new_user("ada@example.com", "Ada")


@pytest.fixture
def bob(ctx):
    return new_user("bob@example.com", "Bob")


def make(user, title, **fields):
    return TASK.dump(commands.create_task(user, {"title": title, **fields}))


def test_create_task_gives_the_new_task(ada):
    body = TASK.dump(commands.create_task(ada, {"title": "Write report", "priority": Priority.high}))
    assert (body["title"], body["priority"], body["status"], body["version"]) == ("Write report", "high", "pending", 1)
    stored = db.session.get(Task, body["id"])
    assert (stored.list_id, stored.created_by) == (lists.inbox_id(ada), ada.id)


def test_visible_tasks_selects_only_the_tasks_of_the_users_lists(ada, bob):
    mine = [make(ada, "A1")["id"], make(ada, "A2")["id"]]
    make(bob, "B1")
    assert sorted(t.id for t in db.session.execute(queries.visible_tasks(ada)).scalars()) == mine


def test_visible_tasks_of_a_user_without_tasks_is_empty(ada, bob):
    make(ada, "A1")
    assert db.session.execute(queries.visible_tasks(bob)).scalars().all() == []


def test_visible_tasks_follow_membership(ada, bob):
    shared = list_commands.create_list(ada, "Shared")
    task = make(ada, "In the shared list", list_id=shared.id)
    assert db.session.execute(queries.visible_tasks(bob)).scalars().all() == []
    list_commands.join(bob, shared.id, Role.viewer)
    db.session.commit()
    assert [t.id for t in db.session.execute(queries.visible_tasks(bob)).scalars()] == [task["id"]]


def test_get_task_of_another_user_is_404(ada, bob):
    theirs = make(bob, "B1")
    with pytest.raises(NotFoundError):
        queries.get_task(ada, theirs["id"])


@pytest.mark.parametrize("task_id", [0, -1, 2**31, 10**20])
def test_get_task_out_of_range_is_404_not_a_database_error(ada, task_id):
    with pytest.raises(NotFoundError):
        queries.get_task(ada, task_id)


def test_list_tasks_result_shape(ada, bob):
    make(ada, "A1")
    second = make(ada, "A2", status=Status.completed)
    make(bob, "B1")
    result = queries.list_tasks(ada, PAGE)
    assert set(result) == {"items", "total", "limit", "offset", "next_cursor"}
    assert all(isinstance(item, Task) for item in result["items"])
    assert [item.title for item in result["items"]] == ["A2", "A1"]
    assert (result["total"], result["limit"], result["offset"]) == (2, 20, 0)
    filtered = queries.list_tasks(ada, {**PAGE, "status": [Status.completed]})
    assert ([item.id for item in filtered["items"]], filtered["total"]) == ([second["id"]], 1)


def test_list_tasks_past_the_end_still_counts(ada):
    for title in ("A1", "A2", "A3"):
        make(ada, title)
    assert queries.list_tasks(ada, {**PAGE, "limit": 2, "offset": 10}) == {
        "items": [], "total": 3, "limit": 2, "offset": 10, "next_cursor": None,
    }


def test_update_task_expecting_a_stale_version_is_refused_and_changes_nothing(ada):
    task = make(ada, "A1")
    commands.update_task(ada, task["id"], {"title": "A2"})
    with pytest.raises(VersionMismatchError):
        commands.update_task(ada, task["id"], {"title": "A3"}, expected_versions={1})
    db.session.rollback()
    assert (db.session.get(Task, task["id"]).title, db.session.get(Task, task["id"]).version) == ("A2", 2)


def test_toggle_task_of_another_user_is_404_and_changes_nothing(ada, bob):
    theirs = make(bob, "B1")
    with pytest.raises(NotFoundError):
        commands.toggle_task(ada, theirs["id"])
    db.session.rollback()
    assert db.session.get(Task, theirs["id"]).status == Status.pending


def test_trash_task_of_another_user_is_404_and_keeps_it(ada, bob):
    theirs = make(bob, "B1")
    with pytest.raises(NotFoundError):
        trash.trash_task(ada, theirs["id"])
    db.session.rollback()
    assert db.session.get(Task, theirs["id"]).deleted_at is None


def _ids(query):
    return sorted(task.id for task in db.session.execute(query).scalars())


def test_visible_tasks_selects_live_tasks_unless_asked_for_the_trash(ada, bob):
    live, trashed = make(ada, "A1")["id"], make(ada, "A2")["id"]
    trash.trash_task(ada, trashed)
    trash.trash_task(bob, make(bob, "B1")["id"])
    assert _ids(queries.visible_tasks(ada)) == [live]
    assert _ids(queries.visible_tasks(ada, queries.TRASH)) == [trashed]
    assert _ids(queries.visible_tasks(ada, queries.EVERY)) == [live, trashed]


def test_get_task_finds_a_trashed_task_only_in_the_trash(ada):
    task = make(ada, "A1")
    trash.trash_task(ada, task["id"])
    with pytest.raises(NotFoundError):
        queries.get_task(ada, task["id"])
    assert queries.get_task(ada, task["id"], queries.TRASH).id == task["id"]


def test_a_task_gone_for_good_leaves_a_tombstone_in_its_list(ada, bob):
    for user in (ada, bob):
        trash.trash_task(user, make(user, "gone")["id"])
        trash.empty_trash(user)
    tombstones = db.session.execute(select(TaskTombstone)).scalars().all()
    assert sorted(tombstone.list_id for tombstone in tombstones) == sorted([lists.inbox_id(ada), lists.inbox_id(bob)])


def test_next_change_counts_up_per_list(ada, bob):
    ada_inbox, bob_inbox = lists.inbox_id(ada), lists.inbox_id(bob)
    first = access.next_change(ada_inbox)
    db.session.commit()
    assert (access.next_change(ada_inbox), access.next_change(bob_inbox)) == (first + 1, 1)
    db.session.rollback()
    assert access.next_change(ada_inbox) == first + 1  # a rolled back change gave its number back


def test_every_write_stamps_the_task_with_a_new_change(ada):
    task = make(ada, "A1")
    stamps = [task_row(task["id"]).change_seq]
    commands.update_task(ada, task["id"], {"title": "A2"})
    stamps.append(task_row(task["id"]).change_seq)
    commands.toggle_task(ada, task["id"])
    stamps.append(task_row(task["id"]).change_seq)
    trash.trash_task(ada, task["id"])
    stamps.append(task_row(task["id"]).change_seq)
    trash.restore_task(ada, task["id"])
    stamps.append(task_row(task["id"]).change_seq)
    assert stamps == sorted(set(stamps)), stamps


def task_row(task_id):
    db.session.expire_all()
    return db.session.get(Task, task_id)
