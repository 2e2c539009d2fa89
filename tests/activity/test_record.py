"""Every write records its activity, with its actor and exactly what changed, in its own transaction."""

import pytest

from taskapi.activity.signals import activity_recorded
from taskapi.tasks.models import Task
from tests.helpers.activity import list_activity, shorten, stored_activity, task_activity
from tests.helpers.api import assert_error
from tests.helpers.lists import add_member, create_list, inbox_of
from tests.helpers.tasks import TASKS, TRASH, create, move, task_url

DUE = "2026-12-24T10:00:00+00:00"


@pytest.fixture
def task(client, ada, home):
    return create(client, ada.auth, "Buy milk", list_id=home["id"])


def newest(client, auth, list_id, count=1):
    return shorten(list_activity(client, auth, list_id)[:count])


def test_a_create_names_the_fields_set(client, ada, ben, home):
    made = create(client, ada.auth, "Buy milk", list_id=home["id"], description="Two litres", tags=["Food"],
                  due_at=DUE, assignee_id=ben.id, priority="high")
    [entry] = list_activity(client, ben.auth, home["id"])[:1]
    assert entry["action"] == "task.created" and entry["task_id"] == made["id"]
    assert entry["actor"] == {"id": ada.id, "name": "Ada"}
    assert entry["changes"] == {"title": [None, "Buy milk"], "description": [None, "Two litres"],
                                "status": [None, "pending"], "priority": [None, "high"],
                                "due_at": [None, made["due_at"]], "tags": [None, ["food"]],
                                "assignee_id": [None, ben.id]}
    assert made["due_at"] == DUE and set(entry) == {"id", "at", "actor", "action", "task_id", "changes"}


def test_a_create_in_the_inbox_is_recorded_there(client, ada):
    made = create(client, ada.auth, "Mine")
    inbox = inbox_of(client, ada.auth)
    assert newest(client, ada.auth, inbox["id"]) == [("task.created", made["id"], ada.id, {
        "title": [None, "Mine"], "status": [None, "pending"], "priority": [None, "medium"]})]


def test_a_patch_records_the_fields_it_changed_old_and_new(client, ada, ben, home, task):
    response = client.patch(task_url(task["id"]), json={"title": "Buy oat milk", "priority": "medium",
                                                        "due_at": DUE, "tags": ["b", "a"]}, headers=ben.auth)
    assert response.status_code == 200
    assert newest(client, ada.auth, home["id"]) == [("task.updated", task["id"], ben.id, {
        "title": ["Buy milk", "Buy oat milk"], "due_at": [None, DUE], "tags": [[], ["a", "b"]]})]


def test_a_description_is_cut_to_200_characters(client, ada, home, task):
    long = "x" * 250
    client.patch(task_url(task["id"]), json={"description": long}, headers=ada.auth)
    client.patch(task_url(task["id"]), json={"description": "short"}, headers=ada.auth)
    later, earlier = list_activity(client, ada.auth, home["id"])[:2]
    assert earlier["changes"] == {"description": [None, "x" * 200]}
    assert later["changes"] == {"description": ["x" * 200, "short"]}


def test_a_patch_changing_nothing_records_nothing(app, client, ada, home, task):
    before = stored_activity(app)
    response = client.patch(task_url(task["id"]), json={"title": "Buy milk", "status": "pending"}, headers=ada.auth)
    assert response.status_code == 200
    assert stored_activity(app) == before


def test_status_alone_is_completed_or_reopened_and_with_other_fields_an_update(client, ada, home, task):
    url = task_url(task["id"])
    client.patch(url, json={"status": "completed"}, headers=ada.auth)
    client.patch(f"{url}/toggle", headers=ada.auth)
    client.patch(url, json={"status": "in_progress"}, headers=ada.auth)
    client.patch(f"{url}/toggle", headers=ada.auth)
    client.patch(url, json={"status": "pending", "title": "Done?"}, headers=ada.auth)
    assert [(action, changes) for action, _, _, changes in newest(client, ada.auth, home["id"], 5)][::-1] == [
        ("task.completed", {"status": ["pending", "completed"]}),
        ("task.reopened", {"status": ["completed", "pending"]}),
        ("task.updated", {"status": ["pending", "in_progress"]}),
        ("task.completed", {"status": ["in_progress", "completed"]}),
        ("task.updated", {"status": ["completed", "pending"], "title": ["Buy milk", "Done?"]}),
    ]


def test_a_reorder_is_a_move_with_its_positions(client, ada, home, task):
    other = create(client, ada.auth, "Second", list_id=home["id"])  # first in the list
    assert move(client, ada.auth, other["id"], task["id"]).status_code == 200
    moved = client.get(task_url(other["id"]), headers=ada.auth).get_json()
    assert moved["position"] > task["position"]
    assert newest(client, ada.auth, home["id"]) == [
        ("task.moved", other["id"], ada.id, {"position": [other["position"], moved["position"]]})]
    # Where it is already: no change, no entry.
    assert move(client, ada.auth, other["id"], task["id"]).status_code == 200
    assert newest(client, ada.auth, home["id"])[0][0:2] == ("task.moved", other["id"])
    assert len(list_activity(client, ada.auth, home["id"])) == 4  # Ben joined, two created, one moved


def test_a_move_between_lists_is_recorded_in_both(client, ada, ben, home, task):
    work = create_list(client, ada.auth, "Work")
    client.patch(task_url(task["id"]), json={"assignee_id": ben.id}, headers=ada.auth)
    response = client.patch(task_url(task["id"]), json={"list_id": work["id"], "title": "Milk"}, headers=ada.auth)
    assert response.status_code == 200
    # Ben is no member of Work: the move unassigns him.
    changes = {"list_id": [home["id"], work["id"]], "title": ["Buy milk", "Milk"], "assignee_id": [ben.id, None]}
    assert newest(client, ada.auth, home["id"]) == [("task.moved", task["id"], ada.id, changes)]
    assert newest(client, ada.auth, work["id"]) == [("task.moved", task["id"], ada.id, changes)]
    # Ben still sees the move in Home's activity; the task's activity (now Work's) is not his to read.
    assert newest(client, ben.auth, home["id"]) == [("task.moved", task["id"], ada.id, changes)]
    assert client.get(f"/api/v1/tasks/{task['id']}/activity", headers=ben.auth).status_code == 404
    # Ada, a member of both, reads the task's whole story: created, assigned, moved (once per list).
    assert [entry["action"] for entry in task_activity(client, ada.auth, task["id"])] == [
        "task.moved", "task.moved", "task.updated", "task.created"]


def test_trash_restore_and_delete_for_good(client, ada, home, task):
    assert client.delete(task_url(task["id"]), headers=ada.auth).status_code == 204
    assert client.post(task_url(task["id"], "/restore"), headers=ada.auth).status_code == 200
    client.delete(task_url(task["id"]), headers=ada.auth)
    assert client.delete(TRASH, query_string={"list_id": home["id"]}, headers=ada.auth).status_code == 204
    assert newest(client, ada.auth, home["id"], 4)[::-1] == [
        ("task.trashed", task["id"], ada.id, {}), ("task.restored", task["id"], ada.id, {}),
        ("task.trashed", task["id"], ada.id, {}), ("task.deleted", task["id"], ada.id, {})]
    # Its entries outlive it in the list's activity; the task's own activity is 404 like the task.
    assert client.get(f"/api/v1/tasks/{task['id']}/activity", headers=ada.auth).status_code == 404


def test_clear_completed_trashes_each_with_an_entry(client, ada, home):
    done = [create(client, ada.auth, f"Done {n}", list_id=home["id"], status="completed")["id"] for n in range(3)]
    create(client, ada.auth, "Open", list_id=home["id"])
    response = client.post(f"{TASKS}/clear-completed", query_string={"list_id": home["id"]}, headers=ada.auth)
    assert response.get_json() == {"deleted": 3}
    assert sorted(newest(client, ada.auth, home["id"], 3)) == [
        ("task.trashed", task_id, ada.id, {}) for task_id in done]


def test_a_bulk_edit_records_one_entry_per_task_changed(client, ada, home):
    ids = [create(client, ada.auth, f"T{n}", list_id=home["id"], priority="high" if n == 0 else "low")["id"]
           for n in range(3)]
    response = client.patch(TASKS, json={"ids": ids, "changes": {"priority": "high"}}, headers=ada.auth)
    assert response.status_code == 200
    assert sorted(newest(client, ada.auth, home["id"], 2)) == [
        ("task.updated", task_id, ada.id, {"priority": ["low", "high"]}) for task_id in ids[1:]]
    assert newest(client, ada.auth, home["id"], 3)[2][0] == "task.created"  # nothing for the unchanged one


def test_the_trash_purge_is_the_services_own(app, client, ada, home, task):
    from datetime import timedelta

    from sqlalchemy import update

    from taskapi.extensions import db
    from taskapi.models import utcnow
    from taskapi.tasks import trash

    client.delete(task_url(task["id"]), headers=ada.auth)
    with app.app_context():
        db.session.execute(update(Task).where(Task.id == task["id"]).values(deleted_at=utcnow() - timedelta(days=60)))
        db.session.commit()
        assert trash.purge()[0] == 1
    assert newest(client, ada.auth, home["id"]) == [("task.deleted", task["id"], None, {})]


# Refused writes: nothing recorded, nothing changed.

@pytest.mark.parametrize(("method", "suffix", "body", "headers", "status", "code"), [
    ("patch", "", {"title": ""}, {}, 422, "validation_error"),
    ("patch", "", {"title": "New"}, {"If-Match": '"1.99"'}, 412, "precondition_failed"),
    ("delete", "", None, {"If-Match": '"1.99"'}, 412, "precondition_failed"),
    ("patch", "", {"assignee_id": 999}, {}, 422, "validation_error"),
])
def test_refused_writes_record_nothing(app, client, ada, home, task, method, suffix, body, headers, status, code):
    before = stored_activity(app)
    headers = {key: value.replace("1", str(task["id"]), 1) for key, value in headers.items()}
    response = getattr(client, method)(task_url(task["id"], suffix), json=body, headers={**ada.auth, **headers})
    assert_error(response, status, code)
    assert stored_activity(app) == before
    assert client.get(task_url(task["id"]), headers=ada.auth).get_json() == {**task}


def test_a_viewer_is_refused_and_nothing_is_recorded(app, client, ada, cal, home, task):
    add_member(app, home["id"], cal.id, "viewer")
    before = stored_activity(app)
    assert_error(client.patch(task_url(task["id"]), json={"title": "x"}, headers=cal.auth), 403, "forbidden")
    assert_error(client.patch(task_url(task["id"], "/toggle"), headers=cal.auth), 403, "forbidden")
    assert_error(client.delete(task_url(task["id"]), headers=cal.auth), 403, "forbidden")
    assert_error(client.post(TASKS, json={"title": "x", "list_id": home["id"]}, headers=cal.auth), 403, "forbidden")
    assert_error(client.patch(f"/api/v1/lists/{home['id']}", json={"name": "x"}, headers=cal.auth), 403, "forbidden")
    assert stored_activity(app) == before


def test_a_write_rolled_back_after_recording_leaves_no_entry(app, client, ada, home, task):
    """The entry is in the write's transaction: a failure after it (here, a receiver of the signal) takes
    the change and the entry back together."""
    before = stored_activity(app)

    def fail(sender, entries, **kwargs):
        raise RuntimeError("the receiver fails")

    activity_recorded.connect(fail, app)
    try:
        response = client.patch(task_url(task["id"]), json={"title": "Changed"}, headers=ada.auth)
    finally:
        activity_recorded.disconnect(fail, app)
    assert response.status_code == 500
    assert stored_activity(app) == before
    assert client.get(task_url(task["id"]), headers=ada.auth).get_json()["title"] == "Buy milk"


def test_the_signal_gives_each_entry_inserted_with_its_task_after_the_change_and_its_actor(app, client, ada, home):
    ids = [create(client, ada.auth, f"T{n}", list_id=home["id"])["id"] for n in range(3)]
    received = []

    def receive(sender, entries, **kwargs):
        received.extend((activity.id, activity.action, activity.task_id, task and (task.id, task.priority),
                         actor.email) for activity, task, actor in entries)

    activity_recorded.connect(receive, app)
    try:
        client.patch(TASKS, json={"ids": ids, "changes": {"priority": "low"}}, headers=ada.auth)
        client.post(f"/api/v1/lists/{home['id']}/invitations", json={"email": "x@example.com", "role": "viewer"},
                    headers=ada.auth)
    finally:
        activity_recorded.disconnect(receive, app)
    stored = list_activity(client, ada.auth, home["id"])
    by_id = {item["id"]: item for item in stored}
    assert [(row[1], row[2]) for row in received] == [("task.updated", task_id) for task_id in ids] + [
        ("invitation.sent", None)]
    assert all(by_id[row[0]]["action"] == row[1] and by_id[row[0]]["task_id"] == row[2] for row in received)
    assert [row[3] for row in received] == [(task_id, "low") for task_id in ids] + [None]
    assert {row[4] for row in received} == {ada.email}
