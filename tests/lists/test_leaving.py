"""Leaving a list unassigns the member's tasks there; a deleted account's tasks in others' lists lose their creator."""

from taskapi.extensions import db
from taskapi.lists.models import Membership, Role
from tests.helpers.api import PASSWORD, bearer, register
from tests.helpers.tasks import TASKS, create, read

LISTS = "/api/v1/lists"


def make_list(client, auth, name="Home"):
    response = client.post(LISTS, json={"name": name}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def join(app, client, list_id, member, role):
    """Make `member` a member of the list, as accepting an invitation does (the invitations have tests of their own)."""
    user_id = client.get("/api/v1/auth/me", headers=member).get_json()["id"]
    with app.app_context():
        db.session.add(Membership(list_id=list_id, user_id=user_id, role=Role(role)))
        db.session.commit()
    return user_id


def test_leaving_unassigns_the_members_tasks_in_that_list(app, client, user, bob):
    ada, bob_auth = bearer(user["access_token"]), bearer(bob["access_token"])
    home = make_list(client, ada)
    bob_id = join(app, client, home, bob_auth, "editor")
    task = create(client, ada, "Shared", list_id=home, assignee_id=bob_id)
    assert task["assignee_id"] == bob_id
    assert client.delete(f"{LISTS}/{home}/members/{bob_id}", headers=bob_auth).status_code == 204
    after = read(client, ada, task["id"]).get_json()
    assert after["assignee_id"] is None and after["version"] == task["version"] + 1


def test_a_deleted_accounts_tasks_in_others_lists_stay_without_a_creator(app, client, user):
    ada = bearer(user["access_token"])
    bob_auth = bearer(register(client, email="bob@example.com", name="Bob")["access_token"])
    home = make_list(client, ada)
    join(app, client, home, bob_auth, "editor")
    task = create(client, bob_auth, "Bob's", list_id=home)
    assert task["created_by"] is not None
    assert client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=bob_auth).status_code == 204
    after = read(client, ada, task["id"]).get_json()
    assert after["created_by"] is None and after["title"] == "Bob's"
    assert client.get(TASKS, headers=ada).get_json()["total"] == 1
