"""Another user's task is 404 exactly as a missing one, on every route; lists and totals are the user's own."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, create, read, stored, task_count, task_url, without_request_id

# (method, path suffix, body) of every single-task route.
ROUTES = [
    ("GET", "", None),
    ("PATCH", "", {"title": "Mine now"}),
    ("PUT", "", {"title": "Mine now"}),
    ("PATCH", "/toggle", None),
    ("DELETE", "", None),
]
ROUTE_IDS = ["get", "patch", "put", "toggle", "delete"]


@pytest.fixture
def theirs(client, other):
    """Bob's task."""
    return create(client, other, "Bob's secret", description="Private", due_at="2026-12-01T17:00:00+00:00")


def send(client, auth, method, task_id, suffix, body, **headers):
    return client.open(task_url(task_id, suffix), method=method, json=body, headers={**auth, **headers})


def comparable(response):
    """Everything in an answer a client can see, apart from this request's id."""
    headers = {k: v for k, v in response.headers.items() if k != "X-Request-ID"}
    return response.status_code, headers, without_request_id(response.get_json())


@pytest.mark.parametrize("method, suffix, body", ROUTES, ids=ROUTE_IDS)
def test_another_users_task_answers_exactly_as_a_missing_one(app, client, auth, theirs, method, suffix, body):
    missing_id = theirs["id"] + 1000
    foreign = send(client, auth, method, theirs["id"], suffix, body)
    missing = send(client, auth, method, missing_id, suffix, body)
    assert_error(foreign, 404, "not_found")
    assert comparable(foreign) == comparable(missing)


@pytest.mark.parametrize("method, suffix, body", ROUTES, ids=ROUTE_IDS)
def test_their_etag_in_the_conditional_headers_changes_nothing(client, auth, other, theirs, method, suffix, body):
    etag = read(client, other, theirs["id"]).headers["ETag"]
    response = send(client, auth, method, theirs["id"], suffix, body, **{"If-Match": etag, "If-None-Match": etag})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method, suffix, body", ROUTES, ids=ROUTE_IDS)
def test_another_users_task_is_left_untouched(app, client, auth, other, theirs, method, suffix, body):
    before = stored(app, theirs["id"])
    send(client, auth, method, theirs["id"], suffix, body)
    assert stored(app, theirs["id"]) == before
    assert read(client, other, theirs["id"]).get_json() == theirs


def test_list_shows_only_the_users_own_tasks(client, auth, other, theirs):
    mine = create(client, auth, "My task")
    page = client.get(TASKS, headers=auth).get_json()
    assert [item["id"] for item in page["items"]] == [mine["id"]]
    assert page["total"] == 1


def test_filters_never_reach_other_users_tasks(client, auth, other, theirs):
    create(client, auth, "My task")
    params = {"q": "secret", "status": "pending", "due_after": "2026-01-01T00:00:00+00:00", "sort": "due_at"}
    assert client.get(TASKS, query_string=params, headers=auth).get_json() == {
        "items": [], "total": 0, "limit": 20, "offset": 0, "next_cursor": None,
    }


def test_offset_past_the_end_counts_only_the_users_tasks(client, auth, other, theirs):
    create(client, auth, "My task")
    create(client, other, "Bob's other")
    assert client.get(TASKS, query_string={"offset": 5}, headers=auth).get_json()["total"] == 1


def test_each_user_sees_their_own_list(client, auth, other, theirs):
    create(client, auth, "My task")
    page = client.get(TASKS, headers=other).get_json()
    assert [item["id"] for item in page["items"]] == [theirs["id"]]
    assert page["total"] == 1


@pytest.mark.parametrize("method, suffix, body", ROUTES, ids=ROUTE_IDS)
def test_every_task_route_needs_an_access_token(app, client, task, method, suffix, body):
    before = stored(app, task["id"])
    assert_error(client.open(task_url(task["id"], suffix), method=method, json=body), 401, "token_missing")
    assert stored(app, task["id"]) == before


def test_listing_needs_an_access_token(client):
    assert_error(client.get(TASKS), 401, "token_missing")


def test_creating_needs_an_access_token(app, client):
    assert_error(client.post(TASKS, json={"title": "x"}), 401, "token_missing")
    assert task_count(app) == 0


def test_refresh_token_is_not_an_access_token(client, user):
    response = client.get(TASKS, headers={"Authorization": f"Bearer {user['refresh_token']}"})
    assert_error(response, 401, "wrong_token_type")
