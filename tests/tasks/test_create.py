"""POST /api/v1/tasks: 201 with the task, its defaults, Location and ETag; every rejection stores nothing."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import READ_ONLY, TASK_FIELDS, TASKS, create, parse_time, read, stored, task_count


def test_create_is_201_with_the_task_and_its_defaults(client, auth, user):
    response = client.post(TASKS, json={"title": "Write report"}, headers=auth)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == TASK_FIELDS
    assert isinstance(body["id"], int)
    inbox = client.get("/api/v1/lists", headers=auth).get_json()["items"][0]
    assert inbox["inbox"] and body["list_id"] == inbox["id"]
    assert {k: body[k] for k in TASK_FIELDS - {"id", "created_at", "updated_at", "position", "list_id"}} == {
        "title": "Write report",
        "description": None,
        "status": "pending",
        "priority": "medium",
        "due_at": None,
        "completed_at": None,
        "version": 1,
        "tags": [],
        "assignee_id": None,
        "created_by": user["user"]["id"],
    }
    assert parse_time(body["created_at"]) == parse_time(body["updated_at"])
    assert isinstance(body["position"], str) and body["position"]


def test_create_stores_every_given_field(client, auth):
    fields = {"title": "Write report", "description": "Quarterly numbers", "status": "in_progress",
              "priority": "high", "due_at": "2026-12-01T17:00:00+00:00"}
    body = create(client, auth, **fields)
    assert {k: body[k] for k in fields} == fields
    assert read(client, auth, body["id"]).get_json() == body


def test_location_points_at_the_new_task(client, auth):
    response = client.post(TASKS, json={"title": "Write report"}, headers=auth)
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{TASKS}/{body['id']}")
    fetched = client.get(response.headers["Location"], headers=auth)
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_create_answers_the_etag_of_the_task(client, auth):
    response = client.post(TASKS, json={"title": "Write report"}, headers=auth)
    assert response.headers["ETag"]
    assert read(client, auth, response.get_json()["id"]).headers["ETag"] == response.headers["ETag"]


def test_title_is_trimmed(client, auth):
    assert create(client, auth, "  Write report \t\n")["title"] == "Write report"


def test_title_of_200_characters_is_accepted_after_trimming(client, auth):
    assert create(client, auth, "  " + "x" * 200 + "  ")["title"] == "x" * 200


def test_description_of_2000_characters_is_accepted(client, auth):
    assert create(client, auth, description="d" * 2000)["description"] == "d" * 2000


def test_description_null_is_accepted(client, auth):
    assert create(client, auth, description=None)["description"] is None


def test_due_at_null_is_accepted(client, auth):
    assert create(client, auth, due_at=None)["due_at"] is None


def test_due_at_with_an_offset_is_answered_in_utc(client, auth):
    body = create(client, auth, due_at="2026-12-01T19:00:00+02:00")
    assert body["due_at"] == "2026-12-01T17:00:00+00:00"


def test_due_at_with_z_is_accepted(client, auth):
    assert create(client, auth, due_at="2026-12-01T17:00:00Z")["due_at"] == "2026-12-01T17:00:00+00:00"


def test_create_completed_sets_completed_at(client, auth):
    body = create(client, auth, status="completed")
    assert body["status"] == "completed"
    assert parse_time(body["completed_at"]) == parse_time(body["created_at"])


@pytest.mark.parametrize("status", ["pending", "in_progress"])
def test_create_not_completed_has_no_completed_at(client, auth, status):
    assert create(client, auth, status=status)["completed_at"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": 7}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "description": "a\x00b"}, "description"),
        ({"title": "ok", "due_at": "2026-12-01T17:00:00"}, "due_at"),
        ({"title": "ok", "due_at": "next tuesday"}, "due_at"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "status": None}, "status"),
        ({"title": "ok", "priority": "urgent"}, "priority"),
        ({"title": "ok", "colour": "red"}, "colour"),
    ],
)
def test_invalid_field_is_422_naming_it_and_nothing_stored(app, client, auth, body, field):
    response = client.post(TASKS, json=body, headers=auth)
    errors = assert_error(response, 422, "validation_error")["errors"]
    assert set(errors) == {"json"}
    assert set(errors["json"]) == {field}
    assert task_count(app) == 0


@pytest.mark.parametrize(
    "field, value",
    [("id", 99), ("version", 3), ("created_at", "2026-01-01T00:00:00+00:00"),
     ("updated_at", "2026-01-01T00:00:00+00:00"), ("completed_at", "2026-01-01T00:00:00+00:00"),
     ("position", "a0")],
)
def test_read_only_field_is_422_naming_it_and_nothing_stored(app, client, auth, field, value):
    response = client.post(TASKS, json={"title": "ok", field: value}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == {field}
    assert task_count(app) == 0


def test_every_read_only_and_unknown_field_is_named_at_once(app, client, auth):
    fields = {name: None for name in READ_ONLY} | {"owner": 2}
    response = client.post(TASKS, json={"title": "ok", **fields}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == set(fields)
    assert task_count(app) == 0


@pytest.mark.parametrize("data", [b"", b"[]", b'"title"', b"{not json"])
def test_body_that_is_not_a_json_object_is_400_and_nothing_stored(app, client, auth, data):
    response = client.post(TASKS, data=data, content_type="application/json", headers=auth)
    assert_error(response, 400, "bad_request")
    assert task_count(app) == 0


def test_stored_row_matches_the_answer(app, client, auth):
    body = create(client, auth, "Write report", priority="low", due_at="2026-12-01T17:00:00+00:00")
    row = stored(app, body["id"])
    assert (row["title"], row["priority"], row["version"]) == ("Write report", "low", 1)
    assert row["due_at"].replace(tzinfo=None) == parse_time(body["due_at"]).replace(tzinfo=None)
