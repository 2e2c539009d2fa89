"""List helpers: lists made through the API, members added straight through the service, rows as stored."""

from types import SimpleNamespace

from sqlalchemy import select

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists import commands
from taskapi.lists.models import Membership, TaskList
from taskapi.tasks.models import Task
from tests.helpers.api import bearer, register

LISTS = "/api/v1/lists"
ROLES = ("viewer", "completer", "editor", "admin", "owner")
ALL_PERMISSIONS = ["tasks.read", "tasks.complete", "tasks.write", "members.manage", "list.update", "list.delete"]
LIST_FIELDS = {"id", "name", "inbox", "role", "permissions", "member_count", "task_count", "created_at",
               "updated_at", "version"}


def person(client, name):
    """Register `name` (name@example.com): their id and Authorization headers."""
    pair = register(client, email=f"{name.lower()}@example.com", name=name)
    return SimpleNamespace(id=pair["user"]["id"], auth=bearer(pair["access_token"]), name=name,
                           email=f"{name.lower()}@example.com", tokens=pair)


def list_url(list_id, suffix=""):
    return f"{LISTS}/{list_id}{suffix}"


def member_url(list_id, user_id):
    return f"{LISTS}/{list_id}/members/{user_id}"


def create_list(client, auth, name="Home"):
    """Make a list through the API (the caller is its owner); returns its body."""
    response = client.post(LISTS, json={"name": name}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def get_list(client, auth, list_id):
    """GET one list; asserts 200 and returns the body."""
    response = client.get(list_url(list_id), headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def lists_of(client, auth, **params):
    """GET the caller's lists; asserts 200 and returns the page."""
    response = client.get(LISTS, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def inbox_of(client, auth):
    """The caller's inbox, as answered (the first of their lists)."""
    inbox = lists_of(client, auth)["items"][0]
    assert inbox["inbox"] is True, inbox
    return inbox


def members_of(client, auth, list_id):
    """{user id: role} of a list's members, as answered."""
    response = client.get(list_url(list_id, "/members"), headers=auth)
    assert response.status_code == 200, response.get_json()
    return {item["user"]["id"]: item["role"] for item in response.get_json()["items"]}


def add_member(app, list_id, user_id, role):
    """Make a user a member of a list with `role`, as accepting an invitation does (the service's join)."""
    with app.app_context():
        user = db.session.get(User, user_id)
        commands.join(user, list_id, role)
        db.session.commit()


def stored_lists(app):
    """Every list row, by id."""
    with app.app_context():
        rows = db.session.execute(select(TaskList.__table__).order_by(TaskList.id)).mappings().all()
        return {row["id"]: dict(row) for row in rows}


def stored_members(app):
    """{(list id, user id): role} of every membership."""
    with app.app_context():
        rows = db.session.execute(select(Membership.list_id, Membership.user_id, Membership.role)).all()
        return {(list_id, user_id): str(role) for list_id, user_id, role in rows}


def stored_state(app):
    """Lists, memberships and tasks as stored: what a refused request must leave exactly as it was."""
    with app.app_context():
        tasks = db.session.execute(select(Task.__table__).order_by(Task.id)).mappings().all()
    return {"lists": stored_lists(app), "members": stored_members(app),
            "tasks": {row["id"]: dict(row) for row in tasks}}


def as_role(app, world, role):
    """The Authorization headers of `world.actor` as a member of `world.home` with `role`: Ada's own for
    "owner", the actor's, not a member, for None. For the role matrices of lists and webhooks."""
    if role == "owner":
        return world.ada.auth
    if role is not None:
        add_member(app, world.home["id"], world.actor.id, role)
    return world.actor.auth
