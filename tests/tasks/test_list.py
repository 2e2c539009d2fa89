"""GET /api/v1/tasks: filters, sorts and pages, each compared with an expectation built from the created tasks."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, create, parse_time, read, task_url

# Created in this order, so created_at (and id) follow it. Titles are compared by code point, as the test
# databases (SQLite, PostgreSQL with C.UTF-8 collation) do.
DATA = [
    {"title": "Write report", "description": "Quarterly NUMBERS", "priority": "high",
     "due_at": "2026-12-01T09:00:00+00:00"},
    {"title": "100% done", "status": "completed", "priority": "low"},
    {"title": "100 done", "description": "almost there", "status": "in_progress",
     "due_at": "2026-12-03T00:00:00+00:00"},
    {"title": "a_b", "priority": "low", "due_at": "2026-12-02T00:00:00+00:00"},
    {"title": "axb", "description": "no underscore", "status": "completed", "priority": "high",
     "due_at": "2026-12-02T00:00:00+00:00"},
    {"title": "Plan sprint", "description": "Keep 50% for support", "status": "in_progress", "priority": "low",
     "due_at": "2026-11-30T12:00:00+00:00"},
    {"title": "Plan sprint"},
    {"title": "Book DENTIST", "due_at": "2026-12-05T08:30:00+00:00"},
    {"title": "Renew passport", "description": "The dentist is next door", "status": "completed",
     "due_at": "2026-12-01T00:00:00+00:00"},
    {"title": "Pay bill", "priority": "high"},
    {"title": "back\\slash", "status": "in_progress", "priority": "high", "due_at": "2026-12-04T00:00:00+00:00"},
    {"title": "Call plumber", "priority": "low", "due_at": "2026-12-01T09:00:00+00:00"},
    {"title": "Water plants", "status": "completed", "due_at": "2026-11-29T00:00:00+00:00"},
    {"title": "Update CV", "status": "in_progress", "priority": "high"},
    {"title": "Zebra crossing", "description": "zzz", "priority": "low", "due_at": "2026-12-10T00:00:00+00:00"},
]
RANK = {"low": 1, "medium": 2, "high": 3}
SORTS = ["created_at", "updated_at", "due_at", "priority", "title", "id"]


@pytest.fixture
def tasks(client, auth):
    """The DATA tasks, created one after another; a few touched later so updated_at has its own order."""
    created = [create(client, auth, **fields) for fields in DATA]
    for index in (3, 0, 10):  # toggled twice: same status, later updated_at
        for _ in range(2):
            response = client.patch(task_url(created[index]["id"], "/toggle"), headers=auth)
            assert response.status_code == 200
        created[index] = response.get_json()
    return created


def listing(client, auth, **params):
    response = client.get(TASKS, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(page):
    return [item["id"] for item in page["items"]]


def titles(page):
    return sorted(item["title"] for item in page["items"])


def expected_order(tasks, sort):
    """The contract's order: the key, then id, in the one direction; tasks without due_at last either way."""
    key, descending = sort.lstrip("-"), sort.startswith("-")

    def value(task):
        if key == "priority":
            return RANK[task["priority"]]
        if key.endswith("_at"):
            return parse_time(task[key])
        return task[key]

    dated = [t for t in tasks if key != "due_at" or t["due_at"] is not None]
    undated = [t for t in tasks if key == "due_at" and t["due_at"] is None]
    ordered = sorted(dated, key=lambda t: (value(t), t["id"]), reverse=descending)
    return [t["id"] for t in ordered + sorted(undated, key=lambda t: t["id"], reverse=descending)]


def matching(tasks, predicate):
    """Ids of the tasks matching, newest first (the default sort)."""
    return [t["id"] for t in sorted(tasks, key=lambda t: t["id"], reverse=True) if predicate(t)]


def test_page_shape_and_defaults(client, auth, tasks):
    page = listing(client, auth)
    assert set(page) == {"items", "total", "limit", "offset", "next_cursor"}
    assert (page["total"], page["limit"], page["offset"], page["next_cursor"]) == (15, 20, 0, None)
    assert sorted(page["items"], key=lambda t: t["id"]) == sorted(tasks, key=lambda t: t["id"])


def test_empty_list(client, auth):
    assert listing(client, auth) == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_cursor": None}


def test_default_sort_is_newest_created_first(client, auth, tasks):
    assert ids(listing(client, auth)) == [t["id"] for t in reversed(tasks)]
    assert ids(listing(client, auth)) == expected_order(tasks, "-created_at")


@pytest.mark.parametrize("sort", SORTS + [f"-{key}" for key in SORTS])
def test_every_sort_key_in_both_directions(client, auth, tasks, sort):
    assert ids(listing(client, auth, sort=sort, limit=100)) == expected_order(tasks, sort)


def test_updated_at_order_differs_from_created_at(client, auth, tasks):
    # Guards the test above: the data really tells the two keys apart.
    assert expected_order(tasks, "updated_at") != expected_order(tasks, "created_at")


@pytest.mark.parametrize("sort", ["due_at", "-due_at"])
def test_tasks_without_due_at_come_last_either_way(client, auth, tasks, sort):
    items = listing(client, auth, sort=sort, limit=100)["items"]
    undated = sum(1 for t in tasks if t["due_at"] is None)
    assert [t["due_at"] for t in items[-undated:]] == [None] * undated
    assert all(t["due_at"] is not None for t in items[:-undated])


def test_priority_orders_low_medium_high(client, auth, tasks):
    priorities = [t["priority"] for t in listing(client, auth, sort="priority", limit=100)["items"]]
    assert priorities == sorted(priorities, key=RANK.get)
    assert priorities[0] == "low" and priorities[-1] == "high"
    assert [t["priority"] for t in listing(client, auth, sort="-priority", limit=100)["items"]] == priorities[::-1]


@pytest.mark.parametrize("sort, direction", [("title", 1), ("-title", -1)])
def test_ties_are_broken_by_id_in_the_same_direction(client, auth, tasks, sort, direction):
    same_title = [t["id"] for t in listing(client, auth, sort=sort, limit=100)["items"] if t["title"] == "Plan sprint"]
    assert len(same_title) == 2
    assert same_title == sorted(same_title)[::direction]


@pytest.mark.parametrize("statuses", [["pending"], ["in_progress"], ["completed"], ["pending", "in_progress"],
                                      ["pending", "in_progress", "completed"]])
def test_status_filter_is_exact_and_repeatable(client, auth, tasks, statuses):
    page = listing(client, auth, status=statuses, limit=100)
    assert ids(page) == matching(tasks, lambda t: t["status"] in statuses)
    assert page["total"] == len(ids(page))


@pytest.mark.parametrize("priorities", [["low"], ["medium"], ["high"], ["low", "high"]])
def test_priority_filter_is_exact_and_repeatable(client, auth, tasks, priorities):
    page = listing(client, auth, priority=priorities, limit=100)
    assert ids(page) == matching(tasks, lambda t: t["priority"] in priorities)
    assert page["total"] == len(ids(page))


def test_filters_combine(client, auth, tasks):
    page = listing(client, auth, status=["pending", "completed"], priority="high", limit=100)
    assert ids(page) == matching(tasks, lambda t: t["status"] in ("pending", "completed") and t["priority"] == "high")
    assert ids(page)


@pytest.mark.parametrize(
    "q, expected",
    [
        ("report", ["Write report"]),
        ("REPORT", ["Write report"]),
        ("numbers", ["Write report"]),
        ("Dentist", ["Book DENTIST", "Renew passport"]),
        ("done", ["100 done", "100% done"]),
        ("%", ["100% done", "Plan sprint"]),
        ("100%", ["100% done"]),
        ("0% ", ["100% done", "Plan sprint"]),
        ("_", ["a_b"]),
        ("a_b", ["a_b"]),
        ("\\", ["back\\slash"]),
        ("no such thing", []),
    ],
)
def test_q_matches_title_or_description_case_insensitively_and_literally(client, auth, tasks, q, expected):
    page = listing(client, auth, q=q, limit=100)
    assert titles(page) == sorted(expected)
    assert page["total"] == len(expected)


def test_q_as_long_as_a_whole_text_still_finds_it_and_a_longer_one_finds_nothing(client, auth):
    description = "Long " + "d" * 1995  # 2000 characters, the longest description
    create(client, auth, title="T" * 200, description=description)
    assert titles(listing(client, auth, q="t" * 200)) == ["T" * 200]
    assert titles(listing(client, auth, q=description.upper())) == ["T" * 200]
    assert listing(client, auth, q=description + "d")["total"] == 0
    assert listing(client, auth, q="%" * 2200)["total"] == 0


def test_due_after_is_inclusive(client, auth, tasks):
    bound = "2026-12-01T09:00:00+00:00"
    page = listing(client, auth, due_after=bound, limit=100)
    assert ids(page) == matching(tasks, lambda t: t["due_at"] and parse_time(t["due_at"]) >= parse_time(bound))
    assert "Write report" in titles(page) and "Call plumber" in titles(page)


def test_due_before_is_exclusive(client, auth, tasks):
    bound = "2026-12-01T09:00:00+00:00"
    page = listing(client, auth, due_before=bound, limit=100)
    assert ids(page) == matching(tasks, lambda t: t["due_at"] and parse_time(t["due_at"]) < parse_time(bound))
    assert titles(page) == ["Plan sprint", "Renew passport", "Water plants"]


def test_due_window_combines_both_bounds(client, auth, tasks):
    after, before = "2026-12-01T00:00:00+00:00", "2026-12-03T00:00:00+00:00"
    page = listing(client, auth, due_after=after, due_before=before, limit=100)
    assert titles(page) == ["Call plumber", "Renew passport", "Write report", "a_b", "axb"]
    assert page["total"] == 5


def test_due_bounds_take_any_offset(client, auth, tasks):
    page = listing(client, auth, due_before="2026-12-01T11:00:00+02:00", limit=100)
    assert ids(page) == ids(listing(client, auth, due_before="2026-12-01T09:00:00Z", limit=100))


def test_tasks_without_due_at_match_no_due_bound(client, auth, tasks):
    far = {"due_after": "1970-01-01T00:00:00+00:00", "due_before": "9999-01-01T00:00:00+00:00"}
    for params in ({"due_after": far["due_after"]}, {"due_before": far["due_before"]}):
        page = listing(client, auth, limit=100, **params)
        assert ids(page) == matching(tasks, lambda t: t["due_at"] is not None)


def test_limit_and_offset_page_through_the_sorted_list(client, auth, tasks):
    pages = [listing(client, auth, sort="title", limit=4, offset=offset) for offset in (0, 4, 8, 12)]
    assert [len(p["items"]) for p in pages] == [4, 4, 4, 3]
    assert all((p["total"], p["limit"]) == (15, 4) for p in pages)
    assert [p["offset"] for p in pages] == [0, 4, 8, 12]
    assert [i for p in pages for i in ids(p)] == expected_order(tasks, "title")


def test_total_counts_every_match_not_just_the_page(client, auth, tasks):
    page = listing(client, auth, status="pending", limit=2)
    assert len(page["items"]) == 2
    assert page["total"] == sum(1 for t in tasks if t["status"] == "pending")


@pytest.mark.parametrize("offset", [15, 100])
def test_offset_past_the_end_is_empty_with_the_right_total(client, auth, tasks, offset):
    assert listing(client, auth, offset=offset) == {"items": [], "total": 15, "limit": 20, "offset": offset,
                                                    "next_cursor": None}


def test_offset_past_the_end_of_a_filter_keeps_its_total(client, auth, tasks):
    page = listing(client, auth, priority="high", offset=50)
    assert (page["items"], page["total"]) == ([], sum(1 for t in tasks if t["priority"] == "high"))


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(client, auth, tasks, limit):
    page = listing(client, auth, limit=limit)
    assert (len(page["items"]), page["limit"]) == (min(limit, 15), limit)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "abc"}, "offset"),
        ({"sort": "bogus"}, "sort"),
        ({"sort": "--id"}, "sort"),
        ({"sort": "Title"}, "sort"),
        ({"due_before": "2026-12-01T09:00:00"}, "due_before"),
        ({"due_after": "2026-12-01T09:00:00"}, "due_after"),
        ({"due_after": "tomorrow"}, "due_after"),
        ({"status": "bogus"}, "status"),
        ({"status": ["pending", "bogus"]}, "status"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_query_value_is_422_naming_it(client, auth, params, name):
    body = assert_error(client.get(TASKS, query_string=params, headers=auth), 422, "validation_error")
    assert set(body["errors"]) == {"query"}
    assert set(body["errors"]["query"]) == {name}


def test_unknown_query_parameters_are_ignored(client, auth, tasks):
    assert listing(client, auth, colour="red", page="2", sort="title") == listing(client, auth, sort="title")


def test_trailing_slash_lists_without_redirect(client, auth, tasks):
    response = client.get(f"{TASKS}/", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == listing(client, auth)


def test_trailing_slash_creates_without_redirect(client, auth):
    response = client.post(f"{TASKS}/", json={"title": "Slash"}, headers=auth)
    assert response.status_code == 201
    assert read(client, auth, response.get_json()["id"]).get_json()["title"] == "Slash"
