"""PATCH and PUT /api/v1/tasks/{id}: only the given fields change; version, ETag and If-Match."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import create, parse_time, read, stored, task_url


@pytest.fixture(params=["PATCH", "PUT"])
def write(request, client, auth):
    """Send a PATCH or a PUT (the contract gives them the same meaning) to a task."""

    def send(task_id, body, **headers):
        return client.open(task_url(task_id), method=request.param, json=body, headers={**auth, **headers})

    return send


def test_only_the_given_field_changes(client, auth, task, write):
    response = write(task["id"], {"priority": "high"})
    assert response.status_code == 200
    body = response.get_json()
    unchanged = {k: v for k, v in body.items() if k not in ("priority", "version", "updated_at")}
    assert body["priority"] == "high"
    assert unchanged == {k: v for k, v in task.items() if k not in ("priority", "version", "updated_at")}
    assert read(client, auth, task["id"]).get_json() == body


def test_every_writable_field_can_be_set(client, auth, task, write):
    changes = {"title": "New", "description": "Other", "status": "in_progress", "priority": "low",
               "due_at": "2026-12-24T18:00:00+00:00"}
    body = write(task["id"], changes).get_json()
    assert {k: body[k] for k in changes} == changes


def test_empty_body_changes_nothing_and_keeps_the_version(app, client, auth, task, write):
    before = stored(app, task["id"])
    response = write(task["id"], {})
    assert response.status_code == 200
    assert response.get_json() == task
    assert stored(app, task["id"]) == before


def test_setting_current_values_changes_nothing(app, client, auth, task, write):
    before = stored(app, task["id"])
    response = write(task["id"], {"title": task["title"], "status": task["status"]})
    assert response.get_json() == task
    assert stored(app, task["id"]) == before


def test_change_bumps_version_by_one_and_changes_etag_and_updated_at(client, auth, task, write):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = write(task["id"], {"title": "Changed"})
    body = response.get_json()
    assert body["version"] == task["version"] + 1
    assert response.headers["ETag"] != etag
    assert parse_time(body["updated_at"]) > parse_time(task["updated_at"])
    assert body["created_at"] == task["created_at"]
    assert read(client, auth, task["id"]).headers["ETag"] == response.headers["ETag"]


def test_each_change_bumps_version_once(client, auth, task, write):
    for expected, title in enumerate(["One", "Two", "Three"], start=2):
        assert write(task["id"], {"title": title}).get_json()["version"] == expected


def test_several_fields_in_one_request_bump_version_once(client, auth, task, write):
    assert write(task["id"], {"title": "New", "priority": "low", "status": "completed"}).get_json()["version"] == 2


def test_title_is_trimmed(client, auth, task, write):
    assert write(task["id"], {"title": "  Trimmed  "}).get_json()["title"] == "Trimmed"


def test_description_and_due_at_can_be_cleared(client, auth, write):
    task = create(client, auth, description="Something", due_at="2026-12-01T17:00:00+00:00")
    body = write(task["id"], {"description": None, "due_at": None}).get_json()
    assert (body["description"], body["due_at"]) == (None, None)


def test_status_completed_sets_completed_at(client, auth, task, write):
    body = write(task["id"], {"status": "completed"}).get_json()
    assert body["completed_at"] is not None
    assert parse_time(body["completed_at"]) == parse_time(body["updated_at"])


@pytest.mark.parametrize("status", ["pending", "in_progress"])
def test_leaving_completed_clears_completed_at(client, auth, write, status):
    task = create(client, auth, status="completed")
    body = write(task["id"], {"status": status}).get_json()
    assert (body["status"], body["completed_at"]) == (status, None)


def test_changing_other_fields_of_a_completed_task_keeps_completed_at(client, auth, write):
    task = create(client, auth, status="completed")
    body = write(task["id"], {"title": "Renamed", "status": "completed"}).get_json()
    assert body["completed_at"] == task["completed_at"]


def test_between_open_statuses_completed_at_stays_null(client, auth, task, write):
    assert write(task["id"], {"status": "in_progress"}).get_json()["completed_at"] is None


def test_matching_if_match_is_200(client, auth, task, write):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = write(task["id"], {"title": "Changed"}, **{"If-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Changed"


def test_stale_if_match_is_412_and_nothing_changes(app, client, auth, task, write):
    stale = read(client, auth, task["id"]).headers["ETag"]
    write(task["id"], {"title": "First"})
    before = stored(app, task["id"])
    assert_error(write(task["id"], {"title": "Second"}, **{"If-Match": stale}), 412, "precondition_failed")
    assert stored(app, task["id"]) == before


def test_if_match_star_is_200(client, auth, task, write):
    response = write(task["id"], {"title": "Changed"}, **{"If-Match": "*"})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Changed"


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "   "}, {"title": None}, {"title": "x" * 201}, {"description": "d" * 2001},
     {"status": "done"}, {"priority": "urgent"}, {"due_at": "2026-12-01T17:00:00"}, {"colour": "red"},
     {"version": 9}, {"id": 1}, {"completed_at": "2026-01-01T00:00:00+00:00"}, {"title": "a\x00b"},
     {"title": "Valid", "status": "done"}],
)
def test_invalid_body_is_422_and_nothing_changes(app, client, auth, task, write, body):
    before = stored(app, task["id"])
    assert_error(write(task["id"], body), 422, "validation_error")
    assert stored(app, task["id"]) == before


def test_missing_task_is_404(client, auth, task, write):
    assert_error(write(task["id"] + 1000, {"title": "x"}), 404, "not_found")


def test_huge_id_is_404(client, auth, write):
    assert_error(write("99999999999999999999", {"title": "x"}), 404, "not_found")
