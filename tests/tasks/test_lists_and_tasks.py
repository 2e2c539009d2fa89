"""Tasks in lists: list_id, assignee_id and created_by; filters, manual order, trash and bulk edits per list; tags
over every visible task; what deleting an account does to lists; the export's lists."""

from types import SimpleNamespace

import pytest

from tests.helpers.api import PASSWORD, assert_error
from tests.helpers.lists import (
    add_member,
    create_list,
    get_list,
    inbox_of,
    list_url,
    members_of,
    person,
    stored_lists,
    stored_members,
    stored_state,
)
from tests.helpers.tasks import TAGS, TASKS, TRASH, create, ids, move, page_of, stored, task_url, trash

EXPORT = "/api/v1/auth/me/export"


@pytest.fixture
def world(app, client):
    """Ada with her inbox and a list "Home"; Ben an editor of Home, and Cal, in no list of Ada's."""
    ada, ben, cal = person(client, "Ada"), person(client, "Ben"), person(client, "Cal")
    home = create_list(client, ada.auth, "Home")
    add_member(app, home["id"], ben.id, "editor")
    return SimpleNamespace(ada=ada, ben=ben, cal=cal, home=home, inbox=inbox_of(client, ada.auth))


def refused_field(response, field, location="json"):
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"][location]) == {field}, body
    return body


def manual_order(client, auth, list_id):
    return ids(page_of(client, auth, list_id=list_id, sort="position", limit=100)["items"])


# list_id on create


def test_a_task_goes_to_the_callers_inbox_by_default(client, world):
    task = create(client, world.ada.auth, "Milk")
    assert (task["list_id"], task["assignee_id"], task["created_by"]) == (world.inbox["id"], None, world.ada.id)


def test_a_task_goes_to_the_list_named(client, world):
    task = create(client, world.ben.auth, "Paint", list_id=world.home["id"])
    assert (task["list_id"], task["created_by"]) == (world.home["id"], world.ben.id)
    assert client.get(task_url(task["id"]), headers=world.ada.auth).get_json() == task
    assert get_list(client, world.ada.auth, world.home["id"])["task_count"] == 1


@pytest.mark.parametrize("which", ["someone else's list", "someone else's inbox", "missing"])
def test_a_list_the_caller_is_not_in_is_422_on_list_id(app, client, world, which):
    list_id = {"someone else's list": world.home["id"], "someone else's inbox": world.inbox["id"],
               "missing": 999_999}[which]
    before = stored_state(app)
    refused_field(client.post(TASKS, json={"title": "X", "list_id": list_id}, headers=world.cal.auth), "list_id")
    assert stored_state(app) == before


def test_a_foreign_list_and_a_missing_one_are_refused_alike(client, world):
    foreign = client.post(TASKS, json={"title": "X", "list_id": world.home["id"]}, headers=world.cal.auth)
    missing = client.post(TASKS, json={"title": "X", "list_id": 999_999}, headers=world.cal.auth)
    assert foreign.get_json()["errors"] == missing.get_json()["errors"]


@pytest.mark.parametrize("list_id", [0, -1, "1", 1.5, True, None, 2**31])
def test_a_list_id_that_is_no_id_is_422(app, client, world, list_id):
    before = stored_state(app)
    refused_field(client.post(TASKS, json={"title": "X", "list_id": list_id}, headers=world.ada.auth), "list_id")
    assert stored_state(app) == before


def test_creating_in_a_list_where_the_caller_only_views_is_403(app, client, world):
    add_member(app, world.home["id"], world.cal.id, "viewer")
    before = stored_state(app)
    assert_error(client.post(TASKS, json={"title": "X", "list_id": world.home["id"]}, headers=world.cal.auth), 403,
                 "forbidden")
    assert stored_state(app) == before


# created_by


@pytest.mark.parametrize("method", ["post", "patch"])
def test_created_by_is_read_only(app, client, world, method):
    task = create(client, world.ada.auth, "Mine")
    before = stored_state(app)
    url = TASKS if method == "post" else task_url(task["id"])
    body = refused_field(getattr(client, method)(url, json={"title": "X", "created_by": world.ben.id},
                                                 headers=world.ada.auth), "created_by")
    assert body["errors"]["json"]["created_by"] == ["Read-only field."]
    assert stored_state(app) == before


def test_created_by_becomes_null_once_the_creators_account_is_gone(app, client, world):
    made = create(client, world.ben.auth, "Ben's", list_id=world.home["id"])
    assert client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=world.ben.auth).status_code == 204
    answered = client.get(task_url(made["id"]), headers=world.ada.auth).get_json()
    assert (answered["title"], answered["list_id"], answered["created_by"]) == ("Ben's", world.home["id"], None)
    assert answered["version"] > made["version"]


# assignee_id


def test_the_assignee_is_a_member_of_the_tasks_list(client, world):
    task = create(client, world.ada.auth, "Paint", list_id=world.home["id"], assignee_id=world.ben.id)
    assert task["assignee_id"] == world.ben.id
    response = client.patch(task_url(task["id"]), json={"assignee_id": world.ada.id}, headers=world.ben.auth)
    assert response.status_code == 200 and response.get_json()["assignee_id"] == world.ada.id
    response = client.patch(task_url(task["id"]), json={"assignee_id": None}, headers=world.ben.auth)
    assert response.status_code == 200 and response.get_json()["assignee_id"] is None


@pytest.mark.parametrize("who", ["a non-member", "no one", "a member of the inbox only"])
def test_an_assignee_who_is_no_member_is_422(app, client, world, who):
    assignee = {"a non-member": world.cal.id, "no one": 999_999}.get(who)
    list_id = world.home["id"]
    if who == "a member of the inbox only":
        assignee, list_id = world.ben.id, world.inbox["id"]
    task = create(client, world.ada.auth, "Paint", list_id=list_id)
    before = stored_state(app)
    refused_field(client.post(TASKS, json={"title": "X", "list_id": list_id, "assignee_id": assignee},
                              headers=world.ada.auth), "assignee_id")
    refused_field(client.patch(task_url(task["id"]), json={"assignee_id": assignee}, headers=world.ada.auth),
                  "assignee_id")
    refused_field(client.patch(TASKS, json={"ids": [task["id"]], "changes": {"assignee_id": assignee}},
                               headers=world.ada.auth), "assignee_id")
    assert stored_state(app) == before


# Moving between lists


def test_patch_list_id_moves_the_task_first_in_the_other_list(client, world):
    others = [create(client, world.ada.auth, f"Home {n}", list_id=world.home["id"]) for n in range(3)]
    move(client, world.ada.auth, others[2]["id"], others[0]["id"])  # the last made is no longer first
    task = create(client, world.ada.auth, "Milk")
    response = client.patch(task_url(task["id"]), json={"list_id": world.home["id"]}, headers=world.ada.auth)
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert (moved["list_id"], moved["version"]) == (world.home["id"], task["version"] + 1)
    assert manual_order(client, world.ada.auth, world.home["id"])[0] == task["id"]
    assert manual_order(client, world.ada.auth, world.inbox["id"]) == []
    assert get_list(client, world.ada.auth, world.home["id"])["task_count"] == 4
    assert get_list(client, world.ada.auth, world.inbox["id"])["task_count"] == 0
    assert client.get(task_url(task["id"]), headers=world.ben.auth).get_json() == moved


def test_a_task_moved_out_is_gone_from_the_members_who_cannot_see_its_new_list(client, world):
    task = create(client, world.ada.auth, "Private now", list_id=world.home["id"])
    client.patch(task_url(task["id"]), json={"list_id": world.inbox["id"]}, headers=world.ada.auth)
    assert_error(client.get(task_url(task["id"]), headers=world.ben.auth), 404, "not_found")


def test_moving_keeps_an_assignee_who_is_a_member_there_and_drops_one_who_is_not(app, client, world):
    kept = create(client, world.ada.auth, "Kept", list_id=world.home["id"], assignee_id=world.ada.id)
    dropped = create(client, world.ada.auth, "Dropped", list_id=world.home["id"], assignee_id=world.ben.id)
    for task in (kept, dropped):
        client.patch(task_url(task["id"]), json={"list_id": world.inbox["id"]}, headers=world.ada.auth)
    assert stored(app, kept["id"])["assignee_id"] == world.ada.id
    assert stored(app, dropped["id"])["assignee_id"] is None


def test_moving_and_assigning_at_once_judges_the_assignee_in_the_new_list(app, client, world):
    task = create(client, world.ada.auth, "Milk")
    before = stored_state(app)
    refused_field(client.patch(task_url(task["id"]), json={"list_id": world.home["id"], "assignee_id": world.cal.id},
                               headers=world.ada.auth), "assignee_id")
    assert stored_state(app) == before
    response = client.patch(task_url(task["id"]), json={"list_id": world.home["id"], "assignee_id": world.ben.id},
                            headers=world.ada.auth)
    assert response.status_code == 200
    assert (response.get_json()["list_id"], response.get_json()["assignee_id"]) == (world.home["id"], world.ben.id)


def test_moving_to_a_list_the_caller_is_not_in_is_422_on_list_id(app, client, world):
    task = create(client, world.cal.auth, "Cal's")
    before = stored_state(app)
    refused_field(client.patch(task_url(task["id"]), json={"list_id": world.home["id"]}, headers=world.cal.auth),
                  "list_id")
    assert stored_state(app) == before


def test_moving_to_the_list_it_is_in_changes_nothing(app, client, world):
    task = create(client, world.ada.auth, "Paint", list_id=world.home["id"])
    response = client.patch(task_url(task["id"]), json={"list_id": world.home["id"]}, headers=world.ada.auth)
    assert response.status_code == 200
    assert (response.get_json()["version"], response.get_json()["position"]) == (task["version"], task["position"])


def test_moving_into_a_full_list_is_409_too_many_tasks(make_app):
    app = make_app(MAX_TASKS_PER_LIST=2)
    client = app.test_client()
    ada = person(client, "Ada")
    home = create_list(client, ada.auth, "Home")
    for n in range(2):
        create(client, ada.auth, f"Home {n}", list_id=home["id"])
    trash(client, ada.auth, create(client, ada.auth, "Trashed", list_id=create_list(client, ada.auth, "Other")["id"])
          ["id"])
    task = create(client, ada.auth, "Milk")
    before = stored_state(app)
    assert_error(client.patch(task_url(task["id"]), json={"list_id": home["id"]}, headers=ada.auth), 409,
                 "too_many_tasks")
    assert_error(client.patch(TASKS, json={"ids": [task["id"]], "changes": {"list_id": home["id"]}},
                              headers=ada.auth), 409, "too_many_tasks")
    assert_error(client.post(TASKS, json={"title": "One more", "list_id": home["id"]}, headers=ada.auth), 409,
                 "too_many_tasks")
    assert stored_state(app) == before


def test_a_list_counts_its_trash_towards_max_tasks_per_list(make_app):
    app = make_app(MAX_TASKS_PER_LIST=2)
    client = app.test_client()
    ada = person(client, "Ada")
    home = create_list(client, ada.auth, "Home")
    trash(client, ada.auth, create(client, ada.auth, "Trashed", list_id=home["id"])["id"])
    create(client, ada.auth, "Live", list_id=home["id"])
    assert_error(client.post(TASKS, json={"title": "Third", "list_id": home["id"]}, headers=ada.auth), 409,
                 "too_many_tasks")
    create(client, ada.auth, "The inbox is another list")
    assert client.delete(TRASH, query_string={"list_id": home["id"]}, headers=ada.auth).status_code == 204
    assert create(client, ada.auth, "Room again", list_id=home["id"])["list_id"] == home["id"]


# Filters


def test_list_id_filters_and_repeats(client, world):
    other = create_list(client, world.ada.auth, "Other")
    in_inbox = create(client, world.ada.auth, "Inbox")
    in_home = create(client, world.ben.auth, "Home", list_id=world.home["id"])
    in_other = create(client, world.ada.auth, "Other", list_id=other["id"])
    every = page_of(client, world.ada.auth)
    assert set(ids(every["items"])) == {in_inbox["id"], in_home["id"], in_other["id"]} and every["total"] == 3
    one = page_of(client, world.ada.auth, list_id=world.home["id"])
    assert (ids(one["items"]), one["total"]) == ([in_home["id"]], 1)
    two = page_of(client, world.ada.auth, list_id=[world.home["id"], other["id"]])
    assert (set(ids(two["items"])), two["total"]) == ({in_home["id"], in_other["id"]}, 2)
    assert page_of(client, world.ben.auth, list_id=[world.inbox["id"], other["id"]])["total"] == 0


def test_assignee_filters_me_none_or_an_id(client, world):
    mine = create(client, world.ada.auth, "Mine", list_id=world.home["id"], assignee_id=world.ada.id)
    bens = create(client, world.ada.auth, "Ben's", list_id=world.home["id"], assignee_id=world.ben.id)
    nobodys = create(client, world.ada.auth, "Nobody's", list_id=world.home["id"])
    inbox_mine = create(client, world.ada.auth, "Inbox, mine", assignee_id=world.ada.id)
    assert set(ids(page_of(client, world.ada.auth, assignee="me")["items"])) == {mine["id"], inbox_mine["id"]}
    assert ids(page_of(client, world.ben.auth, assignee="me")["items"]) == [bens["id"]]
    assert ids(page_of(client, world.ada.auth, assignee="none")["items"]) == [nobodys["id"]]
    assert ids(page_of(client, world.ada.auth, assignee=str(world.ben.id))["items"]) == [bens["id"]]
    assert ids(page_of(client, world.ben.auth, assignee=str(world.ada.id))["items"]) == [mine["id"]]
    combined = page_of(client, world.ada.auth, assignee="me", list_id=world.inbox["id"])
    assert (ids(combined["items"]), combined["total"]) == ([inbox_mine["id"]], 1)


@pytest.mark.parametrize("value", ["you", "", "0", "-1", "1.5", "12345678901"])
def test_a_bad_assignee_filter_is_422(client, world, value):
    refused_field(client.get(TASKS, query_string={"assignee": value}, headers=world.ada.auth), "assignee", "query")


def test_a_bad_list_id_filter_is_422(client, world):
    refused_field(client.get(TASKS, query_string={"list_id": "x"}, headers=world.ada.auth), "list_id", "query")


def test_the_filters_hold_across_cursor_pages(client, world):
    made = [create(client, world.ada.auth, f"Home {n}", list_id=world.home["id"]) for n in range(3)]
    create(client, world.ada.auth, "Inbox")
    first = page_of(client, world.ada.auth, list_id=world.home["id"], limit=2)
    second = page_of(client, world.ada.auth, cursor=first["next_cursor"], limit=2)
    assert ids(first["items"]) + ids(second["items"]) == [task["id"] for task in reversed(made)]
    assert second["next_cursor"] is None and first["total"] == second["total"] == 3


# Manual order, per list


def test_manual_order_is_per_list(client, world):
    home = [create(client, world.ada.auth, f"Home {n}", list_id=world.home["id"]) for n in range(3)]
    inbox = [create(client, world.ada.auth, f"Inbox {n}") for n in range(2)]
    assert move(client, world.ben.auth, home[2]["id"], home[0]["id"]).status_code == 200
    assert manual_order(client, world.ada.auth, world.home["id"]) == [home[1]["id"], home[0]["id"], home[2]["id"]]
    assert manual_order(client, world.ada.auth, world.inbox["id"]) == [inbox[1]["id"], inbox[0]["id"]]


def test_move_after_a_task_of_another_list_is_422_on_after(app, client, world):
    in_home = create(client, world.ada.auth, "Home", list_id=world.home["id"])
    in_inbox = create(client, world.ada.auth, "Inbox")
    before = stored_state(app)
    refused_field(move(client, world.ada.auth, in_home["id"], in_inbox["id"]), "after")
    refused_field(move(client, world.ben.auth, in_home["id"], in_inbox["id"]), "after")
    assert stored_state(app) == before


def test_move_after_a_trashed_or_unseen_task_is_422_on_after(app, client, world):
    task = create(client, world.ada.auth, "Home", list_id=world.home["id"])
    trashed = create(client, world.ada.auth, "Trashed", list_id=world.home["id"])
    trash(client, world.ada.auth, trashed["id"])
    cals = create(client, world.cal.auth, "Cal's")
    before = stored_state(app)
    for after in (trashed["id"], cals["id"], 999_999, task["id"]):
        refused_field(move(client, world.ada.auth, task["id"], after), "after")
    assert stored_state(app) == before


# The trash, per list


def test_the_trash_shows_the_trashed_tasks_of_every_list_of_the_caller(client, world):
    bens = create(client, world.ben.auth, "Ben's", list_id=world.home["id"])
    adas = create(client, world.ada.auth, "Ada's inbox")
    cals = create(client, world.cal.auth, "Cal's")
    for someone, task in ((world.ben, bens), (world.ada, adas), (world.cal, cals)):
        trash(client, someone.auth, task["id"])
    assert set(ids(page_of(client, world.ada.auth, TRASH)["items"])) == {bens["id"], adas["id"]}
    assert ids(page_of(client, world.ben.auth, TRASH)["items"]) == [bens["id"]]
    restored = client.post(task_url(bens["id"], "/restore"), headers=world.ada.auth)
    assert restored.status_code == 200 and restored.get_json()["list_id"] == world.home["id"]


def test_clear_completed_and_empty_trash_act_on_the_inbox_unless_list_id_is_given(app, client, world):
    done_inbox = create(client, world.ada.auth, "Inbox done", status="completed")
    done_home = create(client, world.ada.auth, "Home done", list_id=world.home["id"], status="completed")
    assert client.post(f"{TASKS}/clear-completed", headers=world.ada.auth).get_json() == {"deleted": 1}
    assert stored(app, done_inbox["id"])["deleted_at"] is not None
    assert stored(app, done_home["id"])["deleted_at"] is None
    assert client.delete(TRASH, headers=world.ada.auth).status_code == 204
    assert stored(app, done_inbox["id"]) is None
    response = client.post(f"{TASKS}/clear-completed", query_string={"list_id": world.home["id"]},
                           headers=world.ben.auth)
    assert response.get_json() == {"deleted": 1} and stored(app, done_home["id"])["deleted_at"] is not None
    assert client.delete(TRASH, query_string={"list_id": world.home["id"]}, headers=world.ben.auth).status_code == 204
    assert stored(app, done_home["id"]) is None


def test_the_default_of_clear_completed_is_the_callers_own_inbox(app, client, world):
    done_home = create(client, world.ada.auth, "Home done", list_id=world.home["id"], status="completed")
    assert client.post(f"{TASKS}/clear-completed", headers=world.ben.auth).get_json() == {"deleted": 0}
    trash(client, world.ada.auth, done_home["id"])
    assert client.delete(TRASH, headers=world.ben.auth).status_code == 204
    assert stored(app, done_home["id"]) is not None


# Bulk edits across lists


def test_a_bulk_edit_across_lists(client, world):
    in_home = create(client, world.ben.auth, "Home", list_id=world.home["id"])
    in_inbox = create(client, world.ada.auth, "Inbox")
    response = client.patch(TASKS, json={"ids": [in_home["id"], in_inbox["id"]], "changes": {"priority": "high"}},
                            headers=world.ada.auth)
    assert response.status_code == 200, response.get_json()
    assert [(item["id"], item["priority"], item["version"]) for item in response.get_json()["items"]] == [
        (in_home["id"], "high", 2), (in_inbox["id"], "high", 2)]


def test_a_bulk_move_to_one_list(client, world):
    other = create_list(client, world.ada.auth, "Other")
    tasks = [create(client, world.ada.auth, "Inbox"), create(client, world.ada.auth, "Home", list_id=world.home["id"])]
    response = client.patch(TASKS, json={"ids": [task["id"] for task in tasks], "changes": {"list_id": other["id"]}},
                            headers=world.ada.auth)
    assert response.status_code == 200, response.get_json()
    assert {item["list_id"] for item in response.get_json()["items"]} == {other["id"]}
    assert sorted(manual_order(client, world.ada.auth, other["id"])) == sorted(task["id"] for task in tasks)
    positions = [item["position"] for item in response.get_json()["items"]]
    assert len(set(positions)) == 2


@pytest.mark.parametrize("changes", [{"priority": "high"}, {"status": "completed"}, {"list_id": None}])
def test_a_bulk_edit_with_an_unseen_id_is_404_and_changes_nothing(app, client, world, changes):
    if "list_id" in changes:
        changes = {"list_id": world.home["id"]}
    in_home = create(client, world.ada.auth, "Home", list_id=world.home["id"])
    in_inbox = create(client, world.ada.auth, "Inbox")
    cals = create(client, world.cal.auth, "Cal's")
    before = stored_state(app)
    for unseen in (cals["id"], 999_999):
        response = client.patch(TASKS, json={"ids": [in_home["id"], in_inbox["id"], unseen], "changes": changes},
                                headers=world.ada.auth)
        assert_error(response, 404, "not_found")
    assert stored_state(app) == before


def test_a_bulk_edit_with_an_unpermitted_id_is_403_and_changes_nothing(app, client, world):
    viewed = create_list(client, world.cal.auth, "Cal's")
    add_member(app, viewed["id"], world.ada.id, "viewer")
    cals = create(client, world.cal.auth, "Cal's", list_id=viewed["id"])
    mine = create(client, world.ada.auth, "Mine")
    before = stored_state(app)
    for changes in ({"priority": "high"}, {"status": "completed"}, {"list_id": world.home["id"]}):
        response = client.patch(TASKS, json={"ids": [mine["id"], cals["id"]], "changes": changes},
                                headers=world.ada.auth)
        assert_error(response, 403, "forbidden")
    assert stored_state(app) == before


def test_a_bulk_edit_of_only_status_needs_only_tasks_complete(app, client, world):
    viewed = create_list(client, world.cal.auth, "Cal's")
    add_member(app, viewed["id"], world.ada.id, "completer")
    cals = create(client, world.cal.auth, "Cal's", list_id=viewed["id"])
    mine = create(client, world.ada.auth, "Mine")
    response = client.patch(TASKS, json={"ids": [mine["id"], cals["id"]], "changes": {"status": "completed"}},
                            headers=world.ada.auth)
    assert response.status_code == 200
    assert {item["status"] for item in response.get_json()["items"]} == {"completed"}


# Tags


def test_tags_count_every_live_task_the_caller_can_see(client, world):
    create(client, world.ada.auth, "Inbox", tags=["home", "urgent"])
    create(client, world.ben.auth, "Home", list_id=world.home["id"], tags=["home"])
    trash(client, world.ada.auth, create(client, world.ada.auth, "Trashed", list_id=world.home["id"], tags=["old"])
          ["id"])
    create(client, world.ben.auth, "Ben's inbox", tags=["ben"])
    create(client, world.cal.auth, "Cal's", tags=["home"])
    assert page_of(client, world.ada.auth, TAGS) == {"items": [{"name": "home", "count": 2},
                                                               {"name": "urgent", "count": 1}]}
    assert page_of(client, world.ben.auth, TAGS) == {"items": [{"name": "ben", "count": 1},
                                                               {"name": "home", "count": 1}]}
    assert page_of(client, world.cal.auth, TAGS) == {"items": [{"name": "home", "count": 1}]}


# Deleting an account


def delete_account(client, someone):
    response = client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=someone.auth)
    assert response.status_code == 204, response.get_json()


def test_deleting_an_account_deletes_the_lists_it_owns_with_their_tasks(app, client, world):
    bens_there = create(client, world.ben.auth, "Ben's, in Ada's list", list_id=world.home["id"])
    delete_account(client, world.ada)
    assert world.home["id"] not in stored_lists(app) and world.inbox["id"] not in stored_lists(app)
    assert stored(app, bens_there["id"]) is None
    assert_error(client.get(list_url(world.home["id"]), headers=world.ben.auth), 404, "not_found")
    assert [item["inbox"] for item in client.get("/api/v1/lists", headers=world.ben.auth).get_json()["items"]] == [
        True]


def test_deleting_an_account_removes_it_from_the_others_lists_its_tasks_staying(app, client, world):
    bens = create_list(client, world.ben.auth, "Ben's")
    add_member(app, bens["id"], world.ada.id, "editor")
    made = create(client, world.ada.auth, "Made by Ada", list_id=bens["id"], assignee_id=world.ada.id)
    assigned = create(client, world.ben.auth, "For Ada", list_id=bens["id"], assignee_id=world.ada.id)
    delete_account(client, world.ada)
    assert members_of(client, world.ben.auth, bens["id"]) == {world.ben.id: "owner"}
    assert not any(user_id == world.ada.id for _, user_id in stored_members(app))
    for task in (made, assigned):
        answered = client.get(task_url(task["id"]), headers=world.ben.auth).get_json()
        assert (answered["list_id"], answered["assignee_id"]) == (bens["id"], None)
        assert answered["version"] > task["version"]
    assert client.get(task_url(made["id"]), headers=world.ben.auth).get_json()["created_by"] is None
    assert client.get(task_url(assigned["id"]), headers=world.ben.auth).get_json()["created_by"] == world.ben.id
    assert get_list(client, world.ben.auth, bens["id"])["member_count"] == 1


# The export


def test_the_export_has_the_lists_owned_the_memberships_and_the_tasks_of_the_lists_owned(app, client, world):
    bens = create_list(client, world.ben.auth, "Ben's")
    add_member(app, bens["id"], world.ada.id, "completer")
    in_inbox = create(client, world.ada.auth, "Inbox")
    in_home = create(client, world.ben.auth, "Home", list_id=world.home["id"])
    trashed = create(client, world.ada.auth, "Trashed", list_id=world.home["id"])
    trash(client, world.ada.auth, trashed["id"])
    create(client, world.ben.auth, "In Ben's list", list_id=bens["id"])
    response = client.get(EXPORT, headers=world.ada.auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {"lists", "memberships", "tasks"} <= set(body)
    assert [(item["id"], item["name"], item["inbox"]) for item in body["lists"]] == [
        (world.inbox["id"], "Inbox", True), (world.home["id"], "Home", False)]
    assert body["memberships"] == [
        {"list": {"id": world.inbox["id"], "name": "Inbox"}, "role": "owner"},
        {"list": {"id": world.home["id"], "name": "Home"}, "role": "owner"},
        {"list": {"id": bens["id"], "name": "Ben's"}, "role": "completer"},
    ]
    assert [(task["id"], task["list_id"]) for task in body["tasks"]] == [
        (in_inbox["id"], world.inbox["id"]), (in_home["id"], world.home["id"]), (trashed["id"], world.home["id"])]
    assert [task["deleted_at"] is None for task in body["tasks"]] == [True, True, False]
    assert body["tasks"][1]["created_by"] == world.ben.id


def test_a_task_moved_out_makes_room_in_the_list_it_left(make_app):
    app = make_app(MAX_TASKS_PER_LIST=2)
    client = app.test_client()
    ada = person(client, "Ada")
    home = create_list(client, ada.auth, "Home")
    tasks = [create(client, ada.auth, f"Home {n}", list_id=home["id"]) for n in range(2)]
    response = client.patch(task_url(tasks[0]["id"]), json={"list_id": inbox_of(client, ada.auth)["id"]},
                            headers=ada.auth)
    assert response.status_code == 200, response.get_json()
    assert create(client, ada.auth, "Room again", list_id=home["id"])["list_id"] == home["id"]
    assert_error(client.post(TASKS, json={"title": "Full again", "list_id": home["id"]}, headers=ada.auth), 409,
                 "too_many_tasks")
