"""A list's members: reading them, changing roles, handing a list over, removing members and leaving."""

import pytest

from taskapi.exceptions import ConflictError
from tests.helpers.api import assert_error
from tests.helpers.lists import (
    ALL_PERMISSIONS,
    add_member,
    create_list,
    get_list,
    list_url,
    member_url,
    members_of,
    person,
    stored_lists,
    stored_state,
)
from tests.helpers.tasks import TASKS, create, stored, task_url
from tests.helpers.tasks import stored_tasks as stored_task_rows

MEMBER_FIELDS = {"user", "role", "joined_at"}


def change_role(client, auth, list_id, user_id, role):
    return client.patch(member_url(list_id, user_id), json={"role": role}, headers=auth)


def remove(client, auth, list_id, user_id):
    return client.delete(member_url(list_id, user_id), headers=auth)


@pytest.fixture
def team(app, client, ada, home):
    """Ada's list with one member of each role below owner: {role: person}."""
    people = {}
    for role in ("viewer", "completer", "editor", "admin"):
        people[role] = person(client, role.capitalize())
        add_member(app, home["id"], people[role].id, role)
    people["owner"] = ada
    return people


# Reading


def test_members_answers_each_member_with_their_user_and_role_by_joining(client, ada, home, team):
    response = client.get(list_url(home["id"], "/members"), headers=team["viewer"].auth)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert set(response.get_json()) == {"items"}
    assert all(set(item) == MEMBER_FIELDS for item in items)
    assert [(item["user"]["id"], item["role"]) for item in items] == [
        (ada.id, "owner"), *((team[role].id, role) for role in ("viewer", "completer", "editor", "admin"))]
    assert items[1]["user"] == {"id": team["viewer"].id, "name": "Viewer", "email": "viewer@example.com"}
    assert items[0]["joined_at"] <= items[1]["joined_at"]


def test_member_count_follows_the_members(client, ada, home, team):
    assert get_list(client, ada.auth, home["id"])["member_count"] == 5
    remove(client, ada.auth, home["id"], team["viewer"].id)
    assert get_list(client, ada.auth, home["id"])["member_count"] == 4


def test_each_member_sees_their_own_role_and_permissions(client, home, team):
    expected = {"viewer": 1, "completer": 2, "editor": 3, "admin": 5, "owner": 6}
    for role, someone in team.items():
        answered = get_list(client, someone.auth, home["id"])
        assert answered["role"] == role
        assert answered["permissions"] == ALL_PERMISSIONS[:expected[role]]


def test_a_full_list_takes_no_more_members(make_app):
    app = make_app(MAX_MEMBERS_PER_LIST=2)
    client = app.test_client()
    ada, ben, cal = (person(client, name) for name in ("Ada", "Ben", "Cal"))
    home = create_list(client, ada.auth, "Home")
    add_member(app, home["id"], ben.id, "viewer")
    before = stored_state(app)
    with pytest.raises(ConflictError):
        add_member(app, home["id"], cal.id, "viewer")
    with pytest.raises(ConflictError):
        add_member(app, home["id"], ben.id, "editor")  # a member already
    assert stored_state(app) == before


# Changing roles


def test_the_owner_changes_a_role_and_the_answer_is_the_member(client, ada, home, team):
    response = change_role(client, ada.auth, home["id"], team["editor"].id, "viewer")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == MEMBER_FIELDS
    assert body["user"] == {"id": team["editor"].id, "name": "Editor", "email": "editor@example.com"}
    assert body["role"] == "viewer"
    assert members_of(client, ada.auth, home["id"])[team["editor"].id] == "viewer"


def test_a_role_change_is_a_change_of_the_list(client, ada, home, team):
    before = get_list(client, ada.auth, home["id"])["version"]
    change_role(client, ada.auth, home["id"], team["editor"].id, "viewer")
    assert get_list(client, ada.auth, home["id"])["version"] > before


@pytest.mark.parametrize(("target", "new"), [("viewer", "editor"), ("editor", "completer"), ("completer", "viewer"),
                                             ("viewer", "viewer")])
def test_an_admin_changes_roles_below_admin(client, home, team, target, new):
    response = change_role(client, team["admin"].auth, home["id"], team[target].id, new)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["role"] == new


@pytest.mark.parametrize(("target", "new"), [("editor", "admin"), ("admin", "editor"), ("admin", "viewer"),
                                             ("owner", "editor"), ("owner", "admin"), ("editor", "owner"),
                                             ("admin", "owner")])
def test_an_admin_does_not_manage_admins_nor_the_owner(app, client, home, team, target, new):
    before = stored_state(app)
    assert_error(change_role(client, team["admin"].auth, home["id"], team[target].id, new), 403, "forbidden")
    assert stored_state(app) == before


@pytest.mark.parametrize("actor", ["viewer", "completer", "editor"])
@pytest.mark.parametrize(("target", "new"), [("viewer", "completer"), ("editor", "viewer"), ("admin", "viewer"),
                                             ("owner", "viewer"), ("viewer", "owner")])
def test_members_below_admin_change_no_roles(app, client, home, team, actor, target, new):
    before = stored_state(app)
    assert_error(change_role(client, team[actor].auth, home["id"], team[target].id, new), 403, "forbidden")
    assert stored_state(app) == before


@pytest.mark.parametrize("actor", ["viewer", "editor", "admin"])
def test_nobody_below_admin_changes_their_own_role_up(app, client, home, team, actor):
    before = stored_state(app)
    assert_error(change_role(client, team[actor].auth, home["id"], team[actor].id, "admin"), 403, "forbidden")
    assert stored_state(app) == before


def test_the_owner_makes_and_unmakes_admins(client, ada, home, team):
    assert change_role(client, ada.auth, home["id"], team["editor"].id, "admin").get_json()["role"] == "admin"
    assert change_role(client, ada.auth, home["id"], team["admin"].id, "viewer").get_json()["role"] == "viewer"
    roles = members_of(client, ada.auth, home["id"])
    assert (roles[team["editor"].id], roles[team["admin"].id]) == ("admin", "viewer")


def test_the_owner_cannot_change_their_own_role_but_by_handing_over(app, client, ada, home, team):
    before = stored_state(app)
    body = assert_error(change_role(client, ada.auth, home["id"], ada.id, "admin"), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"role"}
    assert stored_state(app) == before


def test_handing_over_makes_the_former_owner_admin(app, client, ada, home, team):
    response = change_role(client, ada.auth, home["id"], team["editor"].id, "owner")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["role"] == "owner"
    roles = members_of(client, ada.auth, home["id"])
    assert (roles[ada.id], roles[team["editor"].id]) == ("admin", "owner")
    assert list(roles.values()).count("owner") == 1
    assert stored_lists(app)[home["id"]]["owner_id"] == team["editor"].id
    assert get_list(client, ada.auth, home["id"])["permissions"] == ALL_PERMISSIONS[:5]
    assert get_list(client, team["editor"].auth, home["id"])["permissions"] == ALL_PERMISSIONS


def test_after_handing_over_the_new_owner_rules(app, client, ada, home, team):
    new_owner = team["editor"]
    change_role(client, ada.auth, home["id"], new_owner.id, "owner")
    assert_error(remove(client, new_owner.auth, home["id"], new_owner.id), 422, "validation_error")
    assert remove(client, ada.auth, home["id"], ada.id).status_code == 204  # a former owner may leave
    assert_error(client.delete(list_url(home["id"]), headers=team["admin"].auth), 403, "forbidden")
    assert client.delete(list_url(home["id"]), headers=new_owner.auth).status_code == 204


def test_handing_over_to_oneself_changes_nothing(app, client, ada, home, team):
    response = change_role(client, ada.auth, home["id"], ada.id, "owner")
    assert response.status_code == 200 and response.get_json()["role"] == "owner"
    assert stored_lists(app)[home["id"]]["owner_id"] == ada.id


def test_handing_over_to_a_non_member_is_404(app, client, ada, ben, home, team):
    before = stored_state(app)
    assert_error(change_role(client, ada.auth, home["id"], ben.id, "owner"), 404, "not_found")
    assert_error(change_role(client, ada.auth, home["id"], ben.id, "viewer"), 404, "not_found")
    assert stored_state(app) == before


@pytest.mark.parametrize("role", ["boss", "", None, 3, "Owner"])
def test_an_unknown_role_is_422(app, client, ada, home, team, role):
    before = stored_state(app)
    body = assert_error(change_role(client, ada.auth, home["id"], team["editor"].id, role), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"role"}
    assert stored_state(app) == before


@pytest.mark.parametrize("user_id", [0, 999_999, 2**31, 2**63])
def test_changing_the_role_of_no_member_is_404(client, ada, home, user_id):
    assert_error(change_role(client, ada.auth, home["id"], user_id, "viewer"), 404, "not_found")
    assert_error(remove(client, ada.auth, home["id"], user_id), 404, "not_found")


# Removing and leaving


def test_the_owner_removes_a_member(client, ada, home, team):
    response = remove(client, ada.auth, home["id"], team["editor"].id)
    assert response.status_code == 204 and response.get_data() == b""
    assert team["editor"].id not in members_of(client, ada.auth, home["id"])
    assert_error(client.get(list_url(home["id"]), headers=team["editor"].auth), 404, "not_found")


@pytest.mark.parametrize("target", ["viewer", "completer", "editor"])
def test_an_admin_removes_members_below_admin(client, ada, home, team, target):
    assert remove(client, team["admin"].auth, home["id"], team[target].id).status_code == 204
    assert team[target].id not in members_of(client, ada.auth, home["id"])


def test_only_the_owner_removes_admins(app, client, ada, home, team):
    other_admin = person(client, "Second")
    add_member(app, home["id"], other_admin.id, "admin")
    before = stored_state(app)
    assert_error(remove(client, team["admin"].auth, home["id"], other_admin.id), 403, "forbidden")
    assert stored_state(app) == before
    assert remove(client, ada.auth, home["id"], other_admin.id).status_code == 204


@pytest.mark.parametrize("actor", ["viewer", "completer", "editor", "admin"])
def test_nobody_removes_the_owner(app, client, ada, home, team, actor):
    before = stored_state(app)
    assert_error(remove(client, team[actor].auth, home["id"], ada.id), 403, "forbidden")
    assert stored_state(app) == before


@pytest.mark.parametrize("actor", ["viewer", "completer", "editor"])
@pytest.mark.parametrize("target", ["viewer", "completer", "editor", "admin"])
def test_members_below_admin_remove_nobody_else(app, client, home, team, actor, target):
    if actor == target:
        return  # leaving: below
    before = stored_state(app)
    assert_error(remove(client, team[actor].auth, home["id"], team[target].id), 403, "forbidden")
    assert stored_state(app) == before


@pytest.mark.parametrize("role", ["viewer", "completer", "editor", "admin"])
def test_anyone_but_the_owner_leaves(client, ada, home, team, role):
    assert remove(client, team[role].auth, home["id"], team[role].id).status_code == 204
    assert team[role].id not in members_of(client, ada.auth, home["id"])
    assert_error(client.get(list_url(home["id"]), headers=team[role].auth), 404, "not_found")


def test_the_owner_cannot_leave(app, client, ada, home, team):
    before = stored_state(app)
    body = assert_error(remove(client, ada.auth, home["id"], ada.id), 422, "validation_error")
    assert set(body["errors"]["path"]) == {"user_id"}
    assert stored_state(app) == before


def test_removing_a_non_member_is_404(app, client, ada, ben, home, team):
    before = stored_state(app)
    assert_error(remove(client, ada.auth, home["id"], ben.id), 404, "not_found")
    assert stored_state(app) == before


def test_removal_unassigns_the_members_tasks_in_that_list_only(app, client, ada, ben, home, team):
    editor = team["editor"]
    elsewhere = create_list(client, ada.auth, "Elsewhere")
    add_member(app, elsewhere["id"], editor.id, "editor")
    theirs = [create(client, ada.auth, f"Task {n}", list_id=home["id"], assignee_id=editor.id) for n in range(2)]
    someone_elses = create(client, ada.auth, "Admin's", list_id=home["id"], assignee_id=team["admin"].id)
    kept = create(client, ada.auth, "Elsewhere", list_id=elsewhere["id"], assignee_id=editor.id)
    assert remove(client, ada.auth, home["id"], editor.id).status_code == 204
    for task in theirs:
        row = stored(app, task["id"])
        assert (row["assignee_id"], row["version"]) == (None, task["version"] + 1)
        answered = client.get(task_url(task["id"]), headers=ada.auth).get_json()
        assert (answered["assignee_id"], answered["version"]) == (None, task["version"] + 1)
    assert (stored(app, someone_elses["id"])["assignee_id"], stored(app, someone_elses["id"])["version"]) == (
        team["admin"].id, 1)
    assert (stored(app, kept["id"])["assignee_id"], stored(app, kept["id"])["version"]) == (editor.id, 1)


def test_leaving_unassigns_too(app, client, ada, home, team):
    task = create(client, ada.auth, "Mine", list_id=home["id"], assignee_id=team["viewer"].id)
    remove(client, team["viewer"].auth, home["id"], team["viewer"].id)
    assert (stored(app, task["id"])["assignee_id"], stored(app, task["id"])["version"]) == (None, 2)


def test_a_removed_member_is_no_assignee_any_more(app, client, ada, home, team):
    task = create(client, ada.auth, "Mine", list_id=home["id"])
    remove(client, ada.auth, home["id"], team["editor"].id)
    before = stored_task_rows(app)
    response = client.patch(task_url(task["id"]), json={"assignee_id": team["editor"].id}, headers=ada.auth)
    assert set(assert_error(response, 422, "validation_error")["errors"]["json"]) == {"assignee_id"}
    assert stored_task_rows(app) == before


def test_the_tasks_a_removed_member_made_stay(app, client, ada, home, team):
    made = create(client, team["editor"].auth, "Editor's", list_id=home["id"])
    remove(client, ada.auth, home["id"], team["editor"].id)
    row = stored(app, made["id"])
    assert (row["list_id"], row["created_by"]) == (home["id"], team["editor"].id)
    assert client.get(task_url(made["id"]), headers=ada.auth).status_code == 200
    assert_error(client.get(task_url(made["id"]), headers=team["editor"].auth), 404, "not_found")


# At once


def test_a_role_change_holds_at_the_next_request(client, ada, home, team):
    editor = team["editor"]
    task = create(client, ada.auth, "Shared", list_id=home["id"])
    assert client.patch(task_url(task["id"]), json={"title": "One"}, headers=editor.auth).status_code == 200
    change_role(client, ada.auth, home["id"], editor.id, "completer")
    assert_error(client.patch(task_url(task["id"]), json={"title": "Two"}, headers=editor.auth), 403, "forbidden")
    assert client.patch(task_url(task["id"], "/toggle"), headers=editor.auth).status_code == 200
    change_role(client, ada.auth, home["id"], editor.id, "viewer")
    assert_error(client.patch(task_url(task["id"], "/toggle"), headers=editor.auth), 403, "forbidden")
    assert client.get(task_url(task["id"]), headers=editor.auth).status_code == 200
    change_role(client, ada.auth, home["id"], editor.id, "editor")
    assert client.patch(task_url(task["id"]), json={"title": "Three"}, headers=editor.auth).status_code == 200


def test_a_removal_holds_at_the_next_request(client, ada, home, team):
    editor = team["editor"]
    task = create(client, ada.auth, "Shared", list_id=home["id"])
    remove(client, ada.auth, home["id"], editor.id)
    assert_error(client.patch(task_url(task["id"]), json={"title": "Mine"}, headers=editor.auth), 404, "not_found")
    assert_error(client.get(task_url(task["id"]), headers=editor.auth), 404, "not_found")
    assert task["id"] not in [item["id"] for item in client.get(TASKS, headers=editor.auth).get_json()["items"]]
    refused = client.post(TASKS, json={"title": "Sneaked in", "list_id": home["id"]}, headers=editor.auth)
    assert set(assert_error(refused, 422, "validation_error")["errors"]["json"]) == {"list_id"}


def test_a_change_on_one_instance_holds_on_another_at_once(make_app):
    first, second = make_app(), make_app()
    one, other = first.test_client(), second.test_client()
    ada, ben = person(one, "Ada"), person(one, "Ben")
    home = create_list(one, ada.auth, "Home")
    add_member(first, home["id"], ben.id, "admin")
    task = create(one, ada.auth, "Shared", list_id=home["id"])
    assert other.patch(task_url(task["id"]), json={"title": "Ben's"}, headers=ben.auth).status_code == 200
    assert change_role(one, ada.auth, home["id"], ben.id, "viewer").status_code == 200
    assert_error(other.patch(task_url(task["id"]), json={"title": "No"}, headers=ben.auth), 403, "forbidden")
    assert get_list(other, ben.auth, home["id"])["role"] == "viewer"
    assert remove(one, ada.auth, home["id"], ben.id).status_code == 204
    assert_error(other.get(list_url(home["id"]), headers=ben.auth), 404, "not_found")
    assert stored(first, task["id"])["title"] == "Ben's"


def test_a_removed_member_is_told_through_the_feed(app, client, ada, home, team):
    editor = team["editor"]
    tasks = [create(client, ada.auth, f"Task {n}", list_id=home["id"]) for n in range(2)]
    cursor = client.get(f"{TASKS}/changes", headers=editor.auth).get_json()["cursor"]
    remove(client, ada.auth, home["id"], editor.id)
    feed = client.get(f"{TASKS}/changes", query_string={"since": cursor}, headers=editor.auth).get_json()
    assert feed["deleted_lists"] == [home["id"]]
    assert sorted(feed["deleted"]) == sorted(task["id"] for task in tasks)


def test_the_owner_sees_unassigned_tasks_through_the_feed(client, ada, home, team):
    task = create(client, ada.auth, "Mine", list_id=home["id"], assignee_id=team["editor"].id)
    cursor = client.get(f"{TASKS}/changes", headers=ada.auth).get_json()["cursor"]
    remove(client, ada.auth, home["id"], team["editor"].id)
    feed = client.get(f"{TASKS}/changes", query_string={"since": cursor}, headers=ada.auth).get_json()
    assert [(item["id"], item["assignee_id"]) for item in feed["changes"]] == [(task["id"], None)]
    assert [item["member_count"] for item in feed["lists"]] == [4]
