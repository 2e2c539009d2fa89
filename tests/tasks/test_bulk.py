"""PATCH /api/v1/tasks: the same changes to up to 100 tasks, all or nothing, answered in the order of ids."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import TASK_FIELDS, TASKS, create, ids, parse_time, read, stored_tasks, tag_rows, trash


def bulk(client, auth, task_ids, changes):
    return client.patch(TASKS, json={"ids": task_ids, "changes": changes}, headers=auth)


@pytest.fixture
def three(client, auth):
    return [create(client, auth, f"Task {n}", priority=("low", "medium", "high")[n]) for n in range(3)]


def test_bulk_changes_every_task_and_answers_them_in_the_order_of_ids(client, auth, three):
    order = [three[2]["id"], three[0]["id"], three[1]["id"]]
    response = bulk(client, auth, order, {"status": "completed", "tags": ["Done"]})
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert set(response.get_json()) == {"items"}
    assert ids(items) == order
    for item in items:
        assert set(item) == TASK_FIELDS
        assert (item["status"], item["tags"], item["version"]) == ("completed", ["done"], 2)
        assert parse_time(item["completed_at"]) == parse_time(item["updated_at"])
        assert read(client, auth, item["id"]).get_json() == item


def test_only_tasks_that_really_change_get_a_new_version(app, client, auth, three):
    before = stored_tasks(app)
    items = bulk(client, auth, [t["id"] for t in three], {"priority": "high"}).get_json()["items"]
    assert [item["version"] for item in items] == [2, 2, 1]
    assert stored_tasks(app)[three[2]["id"]] == before[three[2]["id"]]


def test_empty_changes_change_nothing(app, client, auth, three):
    before = stored_tasks(app)
    assert bulk(client, auth, [three[0]["id"]], {}).get_json()["items"] == [three[0]]
    assert stored_tasks(app) == before


def test_tags_are_written_to_each_task(app, client, auth, three):
    bulk(client, auth, [t["id"] for t in three], {"tags": ["a", "b"]})
    assert sorted(tag_rows(app)) == sorted(
        (t["id"], tag) for t in three for tag in ("a", "b"))
    bulk(client, auth, [three[0]["id"]], {"tags": ["b"]})
    assert [row[1] for row in tag_rows(app, three[0]["id"])] == ["b"]


def test_a_hundred_tasks_at_once(client, auth):
    tasks = [create(client, auth, f"T{n}") for n in range(100)]
    items = bulk(client, auth, [t["id"] for t in tasks], {"due_at": None, "title": "Same"}).get_json()["items"]
    assert len(items) == 100 and {item["title"] for item in items} == {"Same"}


@pytest.mark.parametrize("intruder", ["missing", "theirs", "trashed", "huge"])
def test_one_id_that_is_not_a_live_task_of_yours_is_404_and_nothing_changes(
        app, client, auth, other, three, intruder):
    theirs = create(client, other, "Bob's")
    trash(client, auth, three[1]["id"])
    intruder_id = {"missing": theirs["id"] + 1000, "theirs": theirs["id"], "trashed": three[1]["id"],
                   "huge": 10**12}[intruder]
    before, rows = stored_tasks(app), tag_rows(app)
    response = bulk(client, auth, [three[0]["id"], intruder_id, three[2]["id"]], {"title": "Mine", "tags": ["x"]})
    assert_error(response, 404, "not_found")
    assert (stored_tasks(app), tag_rows(app)) == (before, rows)


@pytest.mark.parametrize("body, field", [
    ({"changes": {"title": "x"}}, "ids"),
    ({"ids": [], "changes": {"title": "x"}}, "ids"),
    ({"ids": list(range(1, 102)), "changes": {"title": "x"}}, "ids"),
    ({"ids": "1", "changes": {"title": "x"}}, "ids"),
    ({"ids": ["1"], "changes": {"title": "x"}}, "ids"),
    ({"ids": [1.5], "changes": {"title": "x"}}, "ids"),
    ({"ids": [0], "changes": {"title": "x"}}, "ids"),
    ({"ids": [-3], "changes": {"title": "x"}}, "ids"),
    ({"ids": [None], "changes": {"title": "x"}}, "ids"),
    ({"ids": "DUPLICATE", "changes": {"title": "x"}}, "ids"),
    ({"ids": "MINE"}, "changes"),
    ({"ids": "MINE", "changes": None}, "changes"),
    ({"ids": "MINE", "changes": []}, "changes"),
    ({"ids": "MINE", "changes": {"colour": "red"}}, "changes"),
    ({"ids": "MINE", "changes": {"version": 3}}, "changes"),
    ({"ids": "MINE", "changes": {"position": "a0"}}, "changes"),
    ({"ids": "MINE", "changes": {"title": ""}}, "changes"),
    ({"ids": "MINE", "changes": {"tags": ["x" * 41]}}, "changes"),
    ({"ids": "MINE", "changes": {"title": "x"}, "extra": 1}, "extra"),
])
def test_bad_body_is_422_naming_where_and_nothing_changes(app, client, auth, three, body, field):
    mine = [t["id"] for t in three]
    named = {"MINE": mine, "DUPLICATE": [mine[0], mine[1], mine[0]]}
    if isinstance(body.get("ids"), str) and body["ids"] in named:
        body = {**body, "ids": named[body["ids"]]}
    before = stored_tasks(app)
    response = client.patch(TASKS, json=body, headers=auth)
    errors = assert_error(response, 422, "validation_error")["errors"]
    assert set(errors) == {"json"} and set(errors["json"]) == {field}, errors
    assert stored_tasks(app) == before


def test_read_only_field_in_changes_is_reported_as_such(client, auth, three):
    response = bulk(client, auth, [three[0]["id"]], {"position": "a0"})
    assert assert_error(response, 422, "validation_error")["errors"]["json"]["changes"] == ["Read-only field."]


def test_missing_body_is_400(app, client, auth, three):
    before = stored_tasks(app)
    assert_error(client.patch(TASKS, headers=auth), 400, "bad_request")
    assert stored_tasks(app) == before


def test_bulk_needs_an_access_token(app, client, three):
    before = stored_tasks(app)
    assert_error(client.patch(TASKS, json={"ids": [three[0]["id"]], "changes": {"title": "x"}}), 401, "token_missing")
    assert stored_tasks(app) == before
