"""ETag and If-Match: every single-task answer carries the ETag; writers holding a stale one change nothing."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, create, read, stored, task_url


def test_etag_is_the_same_while_the_version_is(client, auth, task):
    first = read(client, auth, task["id"]).headers["ETag"]
    assert read(client, auth, task["id"]).headers["ETag"] == first
    assert client.patch(task_url(task["id"]), json={}, headers=auth).headers["ETag"] == first


def test_every_single_task_answer_carries_the_current_etag(client, auth):
    answers = [client.post(TASKS, json={"title": "Write report"}, headers=auth)]
    task_id = answers[0].get_json()["id"]
    answers.append(client.patch(task_url(task_id), json={"title": "A"}, headers=auth))
    answers.append(client.put(task_url(task_id), json={"title": "B"}, headers=auth))
    answers.append(client.patch(task_url(task_id, "/toggle"), headers=auth))
    etags = [answer.headers["ETag"] for answer in answers]
    assert len(set(etags)) == 4
    assert read(client, auth, task_id).headers["ETag"] == etags[-1]


def test_etags_of_different_tasks_differ(client, auth):
    first, second = create(client, auth, "One"), create(client, auth, "Two")
    assert read(client, auth, first["id"]).headers["ETag"] != read(client, auth, second["id"]).headers["ETag"]


def test_etag_of_another_task_does_not_match(app, client, auth):
    first, second = create(client, auth, "One"), create(client, auth, "Two")
    other_etag = read(client, auth, second["id"]).headers["ETag"]
    response = client.patch(task_url(first["id"]), json={"title": "X"}, headers={**auth, "If-Match": other_etag})
    assert_error(response, 412, "precondition_failed")
    assert stored(app, first["id"])["title"] == "One"


def test_if_match_list_containing_the_current_etag_matches(client, auth, task):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = client.patch(task_url(task["id"]), json={"title": "X"}, headers={**auth, "If-Match": f'"old", {etag}'})
    assert response.status_code == 200


def test_weak_etag_does_not_satisfy_if_match(app, client, auth, task):
    etag = read(client, auth, task["id"]).headers["ETag"]
    response = client.patch(task_url(task["id"]), json={"title": "X"}, headers={**auth, "If-Match": f"W/{etag}"})
    assert_error(response, 412, "precondition_failed")
    assert stored(app, task["id"])["title"] == task["title"]


@pytest.mark.parametrize("value", ['""', "garbage", '"999.1"'])
def test_if_match_that_names_no_current_etag_is_412(client, auth, task, value):
    response = client.patch(task_url(task["id"]), json={"title": "X"}, headers={**auth, "If-Match": value})
    assert_error(response, 412, "precondition_failed")


def test_two_writers_holding_one_etag_cannot_overwrite_each_other(app, client, auth, task):
    held = read(client, auth, task["id"]).headers["ETag"]
    first = client.patch(task_url(task["id"]), json={"title": "Alice's"}, headers={**auth, "If-Match": held})
    second = client.put(task_url(task["id"]), json={"title": "Bob's"}, headers={**auth, "If-Match": held})
    assert first.status_code == 200
    assert_error(second, 412, "precondition_failed")
    assert (stored(app, task["id"])["title"], stored(app, task["id"])["version"]) == ("Alice's", 2)


def test_without_if_match_the_write_is_unconditional(client, auth, task):
    client.patch(task_url(task["id"]), json={"title": "A"}, headers=auth)
    assert client.patch(task_url(task["id"]), json={"title": "B"}, headers=auth).get_json()["version"] == 3
