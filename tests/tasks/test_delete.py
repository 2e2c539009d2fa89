"""DELETE /api/v1/tasks/{id}: 204, and the task leaves every live route for the trash; a stale If-Match keeps it."""

from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, read, stored, task_url


def test_delete_is_204_with_empty_body(client, auth, task):
    response = client.delete(task_url(task["id"]), headers=auth)
    assert response.status_code == 204
    assert response.data == b""


def test_deleted_task_is_404_and_kept_in_the_trash_as_it_was(app, client, auth, task):
    before = stored(app, task["id"])
    client.delete(task_url(task["id"]), headers=auth)
    assert_error(read(client, auth, task["id"]), 404, "not_found")
    row = stored(app, task["id"])
    assert row["deleted_at"] is not None
    assert row["change_seq"] > before["change_seq"]
    assert {k: v for k, v in row.items() if k not in ("deleted_at", "change_seq")} == {
        k: v for k, v in before.items() if k not in ("deleted_at", "change_seq")}  # the version too


def test_deleting_twice_is_404(client, auth, task):
    client.delete(task_url(task["id"]), headers=auth)
    assert_error(client.delete(task_url(task["id"]), headers=auth), 404, "not_found")


def test_delete_removes_only_that_task(app, client, auth, task):
    kept = client.post(TASKS, json={"title": "Keep me"}, headers=auth).get_json()
    client.delete(task_url(task["id"]), headers=auth)
    page = client.get(TASKS, headers=auth).get_json()
    assert ([item["id"] for item in page["items"]], page["total"]) == ([kept["id"]], 1)
    assert read(client, auth, kept["id"]).get_json() == kept


def test_matching_if_match_is_204(app, client, auth, task):
    etag = read(client, auth, task["id"]).headers["ETag"]
    assert client.delete(task_url(task["id"]), headers={**auth, "If-Match": etag}).status_code == 204
    assert stored(app, task["id"])["deleted_at"] is not None


def test_stale_if_match_is_412_and_the_task_stays(app, client, auth, task):
    stale = read(client, auth, task["id"]).headers["ETag"]
    client.patch(task_url(task["id"]), json={"title": "Changed"}, headers=auth)
    before = stored(app, task["id"])
    response = client.delete(task_url(task["id"]), headers={**auth, "If-Match": stale})
    assert_error(response, 412, "precondition_failed")
    assert stored(app, task["id"]) == before
    assert read(client, auth, task["id"]).status_code == 200


def test_missing_task_is_404(client, auth, task):
    assert_error(client.delete(task_url(task["id"] + 1000), headers=auth), 404, "not_found")


def test_huge_id_is_404(client, auth):
    assert_error(client.delete(task_url("99999999999999999999"), headers=auth), 404, "not_found")
