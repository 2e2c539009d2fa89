"""The contract's permission table, operation by operation: each role may do what its permissions allow (2xx) and
gets 403 for the rest, nothing changing; a non-member is told nothing (404, as for a list that does not exist)."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from tests.helpers.api import assert_error
from tests.helpers.lists import (
    ROLES,
    add_member,
    as_role,
    create_list,
    list_url,
    member_url,
    person,
    stored_state,
)
from tests.helpers.tasks import TASKS, TRASH, create, task_url, trash

# What each role allows: the contract's table.
ALLOWED = {
    "viewer": {"tasks.read"},
    "completer": {"tasks.read", "tasks.complete"},
    "editor": {"tasks.read", "tasks.complete", "tasks.write"},
    "admin": {"tasks.read", "tasks.complete", "tasks.write", "members.manage", "list.update"},
    "owner": {"tasks.read", "tasks.complete", "tasks.write", "members.manage", "list.update", "list.delete"},
}


@pytest.fixture
def world(app, client):
    """Ada's list "Home" (a pending task, a completed one, a trashed one; Vic a viewer in it), and the actor's
    own list "Theirs" with a task, where Ada is an editor: a move between the two needs tasks.write in Home."""
    ada, actor, vic = person(client, "Ada"), person(client, "Actor"), person(client, "Vic")
    home = create_list(client, ada.auth, "Home")
    add_member(app, home["id"], vic.id, "viewer")
    pending = create(client, ada.auth, "Pending", list_id=home["id"], tags=["home"])
    done = create(client, ada.auth, "Done", list_id=home["id"], status="completed")
    trashed = create(client, ada.auth, "Trashed", list_id=home["id"])
    trash(client, ada.auth, trashed["id"])
    theirs = create_list(client, actor.auth, "Theirs")
    add_member(app, theirs["id"], ada.id, "editor")
    their_task = create(client, actor.auth, "Their task", list_id=theirs["id"])
    return SimpleNamespace(ada=ada, actor=actor, vic=vic, home=home, theirs=theirs, pending=pending, done=done,
                           trashed=trashed, their_task=their_task)



@dataclass(frozen=True)
class Operation:
    name: str
    permission: str
    request: object  # (client, auth, world) -> response
    success: int = 200
    writes: bool = True
    # What a non-member gets: 404 (as a missing list or task), the 422 of a list named in a body or query, or
    # (a collection) 200 without what `shows` looks for.
    non_member: tuple = (404, None)
    shows: object = None  # (response, world) -> whether a collection's answer holds the list's items

    def __str__(self):
        return self.name


def _members_read(client, auth, w):
    return client.get(list_url(w.home["id"], "/members"), headers=auth)


def _ids(response):
    return [item["id"] for item in response.get_json()["items"]]


OPERATIONS = [
    Operation("read the list", "tasks.read", lambda c, a, w: c.get(list_url(w.home["id"]), headers=a),
              writes=False),
    Operation("read a task", "tasks.read", lambda c, a, w: c.get(task_url(w.pending["id"]), headers=a),
              writes=False),
    Operation("list the tasks", "tasks.read",
              lambda c, a, w: c.get(TASKS, query_string={"list_id": w.home["id"]}, headers=a), writes=False,
              non_member=(200, None), shows=lambda r, w: set(_ids(r)) == {w.pending["id"], w.done["id"]}),
    Operation("list the trash", "tasks.read", lambda c, a, w: c.get(TRASH, headers=a), writes=False,
              non_member=(200, None), shows=lambda r, w: w.trashed["id"] in _ids(r)),
    Operation("read the members", "tasks.read", _members_read, writes=False),
    Operation("toggle", "tasks.complete", lambda c, a, w: c.patch(task_url(w.pending["id"], "/toggle"), headers=a)),
    Operation("PATCH only status", "tasks.complete",
              lambda c, a, w: c.patch(task_url(w.done["id"]), json={"status": "pending"}, headers=a)),
    Operation("bulk edit only status", "tasks.complete",
              lambda c, a, w: c.patch(TASKS, json={"ids": [w.pending["id"], w.done["id"]],
                                                   "changes": {"status": "completed"}}, headers=a)),
    Operation("PATCH title", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.pending["id"]), json={"title": "Changed"}, headers=a)),
    Operation("PUT title", "tasks.write",
              lambda c, a, w: c.put(task_url(w.pending["id"]), json={"title": "Changed"}, headers=a)),
    Operation("PATCH status and title", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.pending["id"]), json={"status": "completed", "title": "X"},
                                      headers=a)),
    Operation("PATCH tags", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.pending["id"]), json={"tags": ["other"]}, headers=a)),
    Operation("set the assignee", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.pending["id"]), json={"assignee_id": w.vic.id}, headers=a)),
    Operation("create a task in the list", "tasks.write",
              lambda c, a, w: c.post(TASKS, json={"title": "New", "list_id": w.home["id"]}, headers=a),
              success=201, non_member=(422, ("json", "list_id"))),
    Operation("move in the manual order", "tasks.write",
              lambda c, a, w: c.post(task_url(w.pending["id"], "/move"), json={"after": w.done["id"]}, headers=a)),
    Operation("trash", "tasks.write", lambda c, a, w: c.delete(task_url(w.pending["id"]), headers=a), success=204),
    Operation("restore", "tasks.write", lambda c, a, w: c.post(task_url(w.trashed["id"], "/restore"), headers=a)),
    Operation("bulk edit", "tasks.write",
              lambda c, a, w: c.patch(TASKS, json={"ids": [w.pending["id"], w.done["id"]],
                                                   "changes": {"priority": "high"}}, headers=a)),
    Operation("clear completed", "tasks.write",
              lambda c, a, w: c.post(f"{TASKS}/clear-completed", query_string={"list_id": w.home["id"]}, headers=a),
              non_member=(422, ("query", "list_id"))),
    Operation("empty the trash", "tasks.write",
              lambda c, a, w: c.delete(TRASH, query_string={"list_id": w.home["id"]}, headers=a), success=204,
              non_member=(422, ("query", "list_id"))),
    Operation("move a task out to another list", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.pending["id"]), json={"list_id": w.theirs["id"]}, headers=a)),
    Operation("move a task in from another list", "tasks.write",
              lambda c, a, w: c.patch(task_url(w.their_task["id"]), json={"list_id": w.home["id"]}, headers=a),
              non_member=(422, ("json", "list_id"))),
    Operation("bulk move in from another list", "tasks.write",
              lambda c, a, w: c.patch(TASKS, json={"ids": [w.their_task["id"]], "changes": {"list_id": w.home["id"]}},
                                      headers=a),
              non_member=(422, ("json", "list_id"))),
    Operation("rename the list", "list.update",
              lambda c, a, w: c.patch(list_url(w.home["id"]), json={"name": "Renamed"}, headers=a)),
    Operation("change a role", "members.manage",
              lambda c, a, w: c.patch(member_url(w.home["id"], w.vic.id), json={"role": "editor"}, headers=a)),
    Operation("remove a member", "members.manage",
              lambda c, a, w: c.delete(member_url(w.home["id"], w.vic.id), headers=a), success=204),
    Operation("delete the list", "list.delete", lambda c, a, w: c.delete(list_url(w.home["id"]), headers=a),
              success=204),
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_what_its_permissions_allow_and_nothing_more(app, client, world, role, operation):
    auth = as_role(app, world, role)
    before = stored_state(app)
    response = operation.request(client, auth, world)
    if operation.permission in ALLOWED[role]:
        assert response.status_code == operation.success, (role, operation.name, response.get_json())
        assert (stored_state(app) != before) == operation.writes
        assert operation.shows is None or operation.shows(response, world)
    else:
        assert_error(response, 403, "forbidden")
        assert stored_state(app) == before


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_a_non_member_is_told_nothing(app, client, world, operation):
    auth = as_role(app, world, None)
    before = stored_state(app)
    response = operation.request(client, auth, world)
    status, where = operation.non_member
    if status == 200:
        assert response.status_code == 200 and not operation.shows(response, world)
    elif status == 404:
        assert_error(response, 404, "not_found")
    else:
        location, field = where
        assert set(assert_error(response, status, "validation_error")["errors"][location]) == {field}
    assert stored_state(app) == before


def test_every_permission_of_the_table_is_exercised():
    assert {operation.permission for operation in OPERATIONS} == set().union(*ALLOWED.values())


@pytest.mark.parametrize("role", ["viewer", "completer"])
def test_moving_needs_write_in_the_target_list_too(app, client, world, role):
    """Ada writes in Home (owner) but only `role` in the actor's list: she cannot move a task there."""
    client.patch(member_url(world.theirs["id"], world.ada.id), json={"role": role}, headers=world.actor.auth)
    before = stored_state(app)
    response = client.patch(task_url(world.pending["id"]), json={"list_id": world.theirs["id"]}, headers=world.ada.auth)
    assert_error(response, 403, "forbidden")
    bulk = client.patch(TASKS, json={"ids": [world.pending["id"]], "changes": {"list_id": world.theirs["id"]}},
                        headers=world.ada.auth)
    assert_error(bulk, 403, "forbidden")
    assert stored_state(app) == before
