"""PATCH /api/v1/tasks/{id}/toggle: completed becomes pending, anything else becomes completed."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import create, parse_time, read, stored, task_url


def toggle(client, auth, task_id, **headers):
    return client.patch(task_url(task_id, "/toggle"), headers={**auth, **headers})


@pytest.mark.parametrize("status", ["pending", "in_progress"])
def test_open_task_becomes_completed(client, auth, status):
    task = create(client, auth, status=status)
    response = toggle(client, auth, task["id"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "completed"
    assert parse_time(body["completed_at"]) == parse_time(body["updated_at"])
    assert body["version"] == task["version"] + 1


def test_completed_task_becomes_pending(client, auth):
    task = create(client, auth, status="completed")
    body = toggle(client, auth, task["id"]).get_json()
    assert (body["status"], body["completed_at"], body["version"]) == ("pending", None, 2)


def test_toggling_twice_returns_to_pending(client, auth, task):
    toggle(client, auth, task["id"])
    body = toggle(client, auth, task["id"]).get_json()
    assert (body["status"], body["completed_at"], body["version"]) == ("pending", None, 3)


def test_toggle_keeps_every_other_field(client, auth, task):
    body = toggle(client, auth, task["id"]).get_json()
    others = ("id", "title", "description", "priority", "due_at", "created_at")
    assert {k: body[k] for k in others} == {k: task[k] for k in others}


def test_toggle_answers_the_new_etag(client, auth, task):
    old = read(client, auth, task["id"]).headers["ETag"]
    response = toggle(client, auth, task["id"])
    assert response.headers["ETag"] != old
    assert read(client, auth, task["id"]).headers["ETag"] == response.headers["ETag"]


def test_matching_if_match_is_200(client, auth, task):
    etag = read(client, auth, task["id"]).headers["ETag"]
    assert toggle(client, auth, task["id"], **{"If-Match": etag}).status_code == 200


def test_stale_if_match_is_412_and_nothing_changes(app, client, auth, task):
    stale = read(client, auth, task["id"]).headers["ETag"]
    toggle(client, auth, task["id"])
    before = stored(app, task["id"])
    assert_error(toggle(client, auth, task["id"], **{"If-Match": stale}), 412, "precondition_failed")
    assert stored(app, task["id"]) == before


def test_missing_task_is_404(client, auth, task):
    assert_error(toggle(client, auth, task["id"] + 1000), 404, "not_found")


def test_trailing_slash_toggles_without_redirect(client, auth, task):
    response = client.patch(task_url(task["id"], "/toggle/"), headers=auth)
    assert response.status_code == 200
    assert response.get_json()["status"] == "completed"
