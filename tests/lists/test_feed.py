"""The change feed covers shared lists: every member's changes reach every member; joining brings a list in,
leaving, removal and deletion take it out (deleted_lists, and its tasks in deleted)."""

import pytest

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists import commands
from tests.helpers.api import bearer, register
from tests.helpers.tasks import CHANGES, TASKS, create, task_url

LISTS = "/api/v1/lists"


def make_list(client, auth, name="Shared"):
    response = client.post(LISTS, json={"name": name}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def join(app, list_id, user_id, role="editor"):
    """Make a user a member, as accepting an invitation does."""
    with app.app_context():
        commands.join(db.session.get(User, user_id), list_id, role)
        db.session.commit()


def feed(client, auth, since=None, limit=100):
    response = client.get(CHANGES, query_string={"limit": limit, **({"since": since} if since else {})},
                          headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def drain(client, auth, since=None, limit=100):
    """Every answer up to has_more: false, merged: (changes by id, deleted, lists by id, deleted_lists, cursor)."""
    changes, deleted, lists, gone = {}, [], {}, []
    while True:
        answer = feed(client, auth, since, limit)
        for task in answer["changes"]:
            changes[task["id"]] = task
        deleted += answer["deleted"]
        lists.update({item["id"]: item for item in answer["lists"]})
        gone += answer["deleted_lists"]
        since = answer["cursor"]
        if not answer["has_more"]:
            return changes, deleted, lists, gone, since


@pytest.fixture
def ada(client):
    body = register(client, "ada@example.com")
    return {"id": body["user"]["id"], "auth": bearer(body["access_token"])}


@pytest.fixture
def bob(client):
    body = register(client, "bob@example.com")
    return {"id": body["user"]["id"], "auth": bearer(body["access_token"])}


@pytest.fixture
def shared(app, client, ada, bob):
    """A list of Ada's with two tasks (one trashed), Bob an editor of it."""
    shared = make_list(client, ada["auth"])
    create(client, ada["auth"], "Live", list_id=shared["id"])
    trashed = create(client, ada["auth"], "Trashed", list_id=shared["id"])
    client.delete(task_url(trashed["id"]), headers=ada["auth"])
    join(app, shared["id"], bob["id"])
    return shared


def test_a_full_sync_gives_every_list_with_the_callers_role(client, bob, shared):
    changes, deleted, lists, gone, _ = drain(client, bob["auth"])
    assert {item["id"]: item["role"] for item in lists.values()} == {
        shared["id"]: "editor", next(i for i in lists if i != shared["id"]): "owner"}
    assert [task["title"] for task in changes.values()] == ["Live"]
    assert (deleted, gone) == ([], [])


def test_joining_brings_the_lists_live_tasks_in(app, client, ada, bob):
    cursor = drain(client, bob["auth"])[-1]
    other = make_list(client, ada["auth"], "Later")
    live = create(client, ada["auth"], "Theirs", list_id=other["id"])
    trashed = create(client, ada["auth"], "Trashed", list_id=other["id"])
    client.delete(task_url(trashed["id"]), headers=ada["auth"])
    assert drain(client, bob["auth"], cursor)[:4] == ({}, [], {}, [])  # not a member yet: nothing
    join(app, other["id"], bob["id"], "viewer")
    changes, deleted, lists, gone, _ = drain(client, bob["auth"], cursor)
    assert list(changes) == [live["id"]] and deleted == [] and gone == []
    assert lists[other["id"]]["role"] == "viewer" and lists[other["id"]]["task_count"] == 1


def test_every_members_change_reaches_every_member(client, ada, bob, shared):
    ada_cursor, bob_cursor = drain(client, ada["auth"])[-1], drain(client, bob["auth"])[-1]
    made = create(client, bob["auth"], "By Bob", list_id=shared["id"])
    client.patch(task_url(made["id"]), json={"title": "By Bob, edited"}, headers=bob["auth"])
    for member, cursor in ((ada, ada_cursor), (bob, bob_cursor)):
        changes, deleted, lists, _, _ = drain(client, member["auth"], cursor)
        assert [task["title"] for task in changes.values()] == ["By Bob, edited"] and deleted == []
        assert list(lists) == [shared["id"]]  # its task count changed


def test_removal_takes_the_list_and_its_tasks_out(client, ada, bob, shared):
    changes, _, _, _, cursor = drain(client, bob["auth"])
    assert client.delete(f"{LISTS}/{shared['id']}/members/{bob['id']}", headers=ada["auth"]).status_code == 204
    _, deleted, lists, gone, cursor = drain(client, bob["auth"], cursor)
    assert gone == [shared["id"]] and shared["id"] not in lists
    assert set(deleted) >= set(changes) and set(deleted) & {t["id"] for t in changes.values()}
    assert drain(client, bob["auth"], cursor)[:4] == ({}, [], {}, [])  # said once


def test_leaving_and_deletion_take_the_list_out(client, ada, bob, shared):
    cursor = drain(client, bob["auth"])[-1]
    ada_cursor = drain(client, ada["auth"])[-1]
    assert client.delete(f"{LISTS}/{shared['id']}/members/{bob['id']}", headers=bob["auth"]).status_code == 204
    assert drain(client, bob["auth"], cursor)[3] == [shared["id"]]
    live = client.get(TASKS, query_string={"list_id": shared["id"]}, headers=ada["auth"]).get_json()["items"]
    assert client.delete(f"{LISTS}/{shared['id']}", headers=ada["auth"]).status_code == 204
    _, deleted, _, gone, _ = drain(client, ada["auth"], ada_cursor)
    assert gone == [shared["id"]] and {task["id"] for task in live} <= set(deleted)


def test_a_task_moved_between_two_of_my_lists_is_a_change_not_a_deletion(client, ada, bob, shared):
    task = create(client, bob["auth"], "Moving", list_id=shared["id"])
    cursor = drain(client, bob["auth"])[-1]
    inbox = client.get(LISTS, headers=bob["auth"]).get_json()["items"][0]
    moved = client.patch(task_url(task["id"]), json={"list_id": inbox["id"]}, headers=bob["auth"])
    assert moved.status_code == 200 and moved.get_json()["list_id"] == inbox["id"]
    for limit in (1, 100):  # whichever list's page comes first
        changes, deleted, _, _, _ = drain(client, bob["auth"], cursor, limit)
        assert list(changes) == [task["id"]] and task["id"] not in deleted


def test_a_task_moved_out_of_my_sight_is_deleted(client, ada, bob, shared):
    task = create(client, ada["auth"], "Leaving", list_id=shared["id"])
    cursor = drain(client, bob["auth"])[-1]
    private = make_list(client, ada["auth"], "Private")
    assert client.patch(task_url(task["id"]), json={"list_id": private["id"]}, headers=ada["auth"]).status_code == 200
    changes, deleted, _, _, _ = drain(client, bob["auth"], cursor)
    assert changes == {} and deleted == [task["id"]]


def test_a_role_change_shows_the_list_again_with_the_new_role(client, ada, bob, shared):
    cursor = drain(client, bob["auth"])[-1]
    response = client.patch(f"{LISTS}/{shared['id']}/members/{bob['id']}", json={"role": "viewer"},
                            headers=ada["auth"])
    assert response.status_code == 200, response.get_json()
    _, _, lists, _, _ = drain(client, bob["auth"], cursor)
    assert lists[shared["id"]]["role"] == "viewer" and lists[shared["id"]]["permissions"] == ["tasks.read"]
