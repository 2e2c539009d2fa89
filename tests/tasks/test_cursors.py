"""GET /api/v1/tasks by cursor: every sort pages as one list would, with its filters; cursors made elsewhere are 422."""

import pytest
from itsdangerous import URLSafeSerializer

from taskapi.tasks.cursors import LIST_SALT
from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, create, ids, page_of, read, signed_cursor, task_url, trash
from tests.tasks.test_list import DATA, SORTS, expected_order

EVERY_SORT = SORTS + ["position"] + [f"-{key}" for key in SORTS + ["position"]]


@pytest.fixture
def tasks(client, auth):
    """test_list's tasks, a few toggled twice (updated_at has its own order) and moved (a manual order)."""
    created = [create(client, auth, **fields) for fields in DATA]
    for index in (3, 0, 10):
        for _ in range(2):
            response = client.patch(task_url(created[index]["id"], "/toggle"), headers=auth)
        created[index] = response.get_json()
    for index, after in ((2, 7), (14, None), (5, 9)):
        response = client.post(task_url(created[index]["id"], "/move"), headers=auth,
                               json={"after": created[after]["id"] if after is not None else None})
        created[index] = response.get_json()
    return [read(client, auth, task["id"]).get_json() for task in created]


def pages(client, auth, **params):
    """Every page of a list, following next_cursor from the first."""
    result = [page_of(client, auth, **params)]
    while result[-1]["next_cursor"] is not None:
        assert len(result) < 50, "the cursors never end"
        result.append(page_of(client, auth, cursor=result[-1]["next_cursor"], limit=params.get("limit", 20)))
    return result


def expected(tasks, sort):
    if sort.lstrip("-") == "position":
        ordered = sorted(tasks, key=lambda t: t["position"].encode(), reverse=sort.startswith("-"))
        return [t["id"] for t in ordered]
    return expected_order(tasks, sort)


@pytest.mark.parametrize("sort", EVERY_SORT)
def test_cursor_pages_follow_every_sort_in_both_directions(client, auth, tasks, sort):
    result = pages(client, auth, sort=sort, limit=4)
    assert [i for page in result for i in ids(page["items"])] == expected(tasks, sort)
    assert [len(page["items"]) for page in result] == [4, 4, 4, 3]
    assert [page["offset"] for page in result] == [0, 4, 8, 12]
    assert all((page["total"], page["limit"]) == (15, 4) for page in result)
    assert [page["next_cursor"] is None for page in result] == [False, False, False, True]


def test_the_manual_order_differs_from_creation(client, auth, tasks):
    # Guards the test above: position really is its own order.
    assert expected(tasks, "position") not in (expected(tasks, "created_at"), expected(tasks, "-created_at"))


def test_a_page_of_exactly_the_rest_has_no_next_cursor(client, auth, tasks):
    assert page_of(client, auth, limit=15)["next_cursor"] is None
    assert page_of(client, auth, limit=14)["next_cursor"] is not None


def test_a_cursor_after_an_offset_page_continues_from_it(client, auth, tasks):
    first = page_of(client, auth, sort="title", limit=5, offset=5)
    second = page_of(client, auth, cursor=first["next_cursor"], limit=5)
    assert ids(first["items"]) + ids(second["items"]) == expected_order(tasks, "title")[5:15]
    assert second["offset"] == 10


def test_the_limit_may_change_from_page_to_page(client, auth, tasks):
    first = page_of(client, auth, sort="id", limit=3)
    second = page_of(client, auth, cursor=first["next_cursor"], limit=10)
    assert ids(first["items"]) + ids(second["items"]) == sorted(t["id"] for t in tasks)[:13]
    assert second["limit"] == 10


@pytest.mark.parametrize("filters", [
    {"status": ["pending", "completed"]}, {"priority": "high"}, {"q": "e"}, {"tag": "work"},
    {"due_after": "2026-12-01T00:00:00+00:00", "due_before": "2026-12-05T00:00:00+00:00"},
])
def test_cursor_pages_keep_the_filters_and_the_total(client, auth, tasks, filters):
    client.patch(task_url(tasks[0]["id"]), json={"tags": ["work"]}, headers=auth)
    client.patch(task_url(tasks[4]["id"]), json={"tags": ["work", "home"]}, headers=auth)
    whole = page_of(client, auth, sort="-due_at", limit=100, **filters)
    result = pages(client, auth, sort="-due_at", limit=2, **filters)
    assert [i for page in result for i in ids(page["items"])] == ids(whole["items"])
    assert all(page["total"] == whole["total"] for page in result)
    assert whole["total"] >= 2


def test_filters_and_sort_beside_a_cursor_are_ignored(client, auth, tasks):
    first = page_of(client, auth, sort="title", status="pending", limit=2)
    alone = page_of(client, auth, cursor=first["next_cursor"], limit=2)
    beside = page_of(client, auth, cursor=first["next_cursor"], limit=2, sort="-id", status="completed",
                     q="zzz", tag="nope")
    assert beside == alone
    assert all(item["status"] == "pending" for item in alone["items"])


def test_offset_beside_a_cursor_is_422(client, auth, tasks):
    cursor = page_of(client, auth, limit=2)["next_cursor"]
    response = client.get(TASKS, query_string={"cursor": cursor, "offset": 0}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["query"]) == {"offset"}


def _forgeries(app, cursor):
    other_key = URLSafeSerializer("another-secret-" + "x" * 32, salt="taskapi.tasks.list-cursor")
    with app.app_context():
        same_key_other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something else")
        payload = URLSafeSerializer(app.config["SECRET_KEY"], salt="taskapi.tasks.list-cursor").loads(cursor)
    return {
        "garbage": "not-a-cursor",
        "truncated": cursor[:-3],
        "tampered": cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:],
        "another key": other_key.dumps(payload),
        "another salt": same_key_other_salt.dumps(payload),
        "unsigned": cursor.split(".")[0],
    }


@pytest.mark.parametrize("kind", ["garbage", "truncated", "tampered", "another key", "another salt", "unsigned"])
def test_a_cursor_not_made_by_the_service_is_422(app, client, auth, tasks, kind):
    cursor = page_of(client, auth, limit=2)["next_cursor"]
    response = client.get(TASKS, query_string={"cursor": _forgeries(app, cursor)[kind]}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert body["errors"] == {"query": {"cursor": body["errors"]["query"]["cursor"]}}


def test_a_feed_cursor_is_not_a_list_cursor(client, auth, tasks):
    feed_cursor = page_of(client, auth, f"{TASKS}/changes", limit=1)["cursor"]
    body = assert_error(client.get(TASKS, query_string={"cursor": feed_cursor}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"cursor"}


def test_another_users_cursor_is_422(client, auth, other, tasks):
    for n in range(3):
        create(client, other, f"Bob {n}")
    theirs = page_of(client, other, limit=1)["next_cursor"]
    body = assert_error(client.get(TASKS, query_string={"cursor": theirs}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"cursor"}


def test_an_overlong_cursor_is_422(client, auth):
    body = assert_error(client.get(TASKS, query_string={"cursor": "x" * 5000}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"cursor"}


@pytest.mark.parametrize("sort", ["-created_at", "title", "due_at", "-priority", "position"])
def test_tasks_created_between_pages_never_repeat_or_skip_the_others(client, auth, tasks, sort):
    seen = []
    page = page_of(client, auth, sort=sort, limit=4)
    for round_ in range(10):
        seen += ids(page["items"])
        if page["next_cursor"] is None:
            break
        for n in range(2):  # titles, due dates and priorities that land before, among and after the rest
            create(client, auth, f"{'AMZ'[n]} new {round_}", priority=("low", "high")[n],
                   due_at=f"2026-12-0{1 + (round_ + n) % 9}T00:00:00+00:00")
        page = page_of(client, auth, cursor=page["next_cursor"], limit=4)
    originals = {t["id"] for t in tasks}
    assert [i for i in seen if i in originals] == expected(tasks, sort)
    assert len(seen) == len(set(seen))


def test_the_last_row_of_a_page_deleted_meanwhile_skips_nothing(client, auth, tasks):
    first = page_of(client, auth, sort="title", limit=5)
    trash(client, auth, first["items"][-1]["id"])
    rest = pages(client, auth, sort="title", limit=5)  # a fresh start, to compare with
    second = page_of(client, auth, cursor=first["next_cursor"], limit=5)
    order = [i for page in rest for i in ids(page["items"])]
    assert ids(second["items"]) == order[4:9]


# A cursor signed with the service's key holds what the service wrote: anything else is refused all the same.
MADE = {"filters": {"sort": "title"}, "offset": 2, "id": 1, "value": "Write report"}
IMPOSSIBLE = {
    "a column that is no sort": {**MADE, "filters": {"sort": "password_hash"}},
    "no filters": {key: value for key, value in MADE.items() if key != "filters"},
    "filters not an object": {**MADE, "filters": ["title"]},
    "a filter of no kind": {**MADE, "filters": {"sort": "title", "status": ["lost"]}},
    "an object as the value": {**MADE, "value": {"$gt": ""}},
    "a list as the value": {**MADE, "value": ["a"]},
    "no value": {key: value for key, value in MADE.items() if key != "value"},
    "a null value outside due_at": {**MADE, "value": None},
    "a number for a text sort": {**MADE, "value": 5},
    "a text for the priority": {**MADE, "filters": {"sort": "-priority"}, "value": "high"},
    "a priority out of range": {**MADE, "filters": {"sort": "priority"}, "value": 10**20},
    "an id sort value past the column": {**MADE, "filters": {"sort": "id"}, "value": 10**20},
    "a time that is no time": {**MADE, "filters": {"sort": "created_at"}, "value": "yesterday"},
    "a time without an offset": {**MADE, "filters": {"sort": "due_at"}, "value": "2030-01-01T00:00:00"},
    "a NUL in the value": {**MADE, "value": "a\x00"},
    "an id as text": {**MADE, "id": "1"},
    "an id past the column": {**MADE, "id": 2**63},
    "no id": {key: value for key, value in MADE.items() if key != "id"},
    "a negative offset": {**MADE, "offset": -1},
    "an offset as a boolean": {**MADE, "offset": True},
}


def test_a_signed_cursor_as_the_service_makes_them_is_answered(app, client, user, auth, tasks):
    cursor = signed_cursor(app, LIST_SALT, user["user"]["id"], MADE)
    assert page_of(client, auth, cursor=cursor)["offset"] == 2


@pytest.mark.parametrize("kind", IMPOSSIBLE)
def test_a_signed_cursor_with_impossible_contents_is_422(app, client, user, auth, tasks, kind):
    cursor = signed_cursor(app, LIST_SALT, user["user"]["id"], IMPOSSIBLE[kind])
    response = client.get(TASKS, query_string={"cursor": cursor}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert body["errors"] == {"query": {"cursor": body["errors"]["query"]["cursor"]}}
