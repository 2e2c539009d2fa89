"""GET /api/v1/tasks/{id}: 200 with ETag, 304 on a matching If-None-Match, 404 for no such task."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import read, task_url


def test_read_is_200_with_the_task_and_etag(client, auth, task):
    response = read(client, auth, task["id"])
    assert response.status_code == 200
    assert response.get_json() == task
    assert response.headers["ETag"]


def test_matching_if_none_match_is_304_with_empty_body_and_etag(client, auth, task):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = client.get(task_url(task["id"]), headers={**auth, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag


@pytest.mark.parametrize("form", ['W/{etag}', '"nope", {etag}', "*"])
def test_if_none_match_compares_weakly_and_takes_lists(client, auth, task, form):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = client.get(task_url(task["id"]), headers={**auth, "If-None-Match": form.format(etag=etag)})
    assert response.status_code == 304


def test_non_matching_if_none_match_is_200(client, auth, task):
    response = client.get(task_url(task["id"]), headers={**auth, "If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.get_json() == task


def test_if_none_match_of_an_old_version_is_200(client, auth, task):
    old = read(client, auth, task["id"]).headers["ETag"]
    client.patch(task_url(task["id"]), json={"title": "Changed"}, headers=auth)
    response = client.get(task_url(task["id"]), headers={**auth, "If-None-Match": old})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Changed"
    assert response.headers["ETag"] != old


def test_missing_task_is_404(client, auth, task):
    assert_error(read(client, auth, task["id"] + 1000), 404, "not_found")


@pytest.mark.parametrize("task_id", ["0", "2147483648", "99999999999999999999"])
def test_out_of_range_id_is_404(client, auth, task_id):
    assert_error(client.get(task_url(task_id), headers=auth), 404, "not_found")


def test_non_integer_id_is_404(client, auth):
    assert_error(client.get(task_url("abc"), headers=auth), 404, "not_found")


def test_trailing_slash_reads_without_redirect(client, auth, task):
    response = client.get(task_url(task["id"], "/"), headers=auth)
    assert response.status_code == 200
    assert response.get_json() == task
