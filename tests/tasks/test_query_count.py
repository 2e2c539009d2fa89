"""Round trips per request: any list in two statements, a single-task read in at most three, a write in four
plus the one INSERT of its activity entry.

These are the usual request's counts: tests/conftest.py keeps the one-in-a-hundred pruning out of them.
"""

from contextlib import contextmanager

import pytest

from tests.helpers.api import bearer, register
from tests.helpers.database import listening
from tests.helpers.tasks import CHANGES, TAGS, TASKS, TRASH, create, move, task_url
from tests.lists.test_feed import join, make_list

LIST_MAX = 2  # token validity (user + revocation in one SELECT), then the page with its total
SINGLE_TASK_MAX = 3  # token validity and the task
# Token validity, the user's change sequence (the lock every task write starts with), the task (or the
# first position, for a create) and its INSERT/UPDATE.
WRITE_MAX = 4


def split_activity(statements):
    """(the INSERTs of activity entries, the other statements)."""
    activity = [statement for statement in statements if statement.lstrip().upper().startswith("INSERT INTO ACTIVITY")]
    return activity, [statement for statement in statements if statement not in activity]


@contextmanager
def executed(app):
    """(statement, parameters) of each SQL statement the app sends while the block runs
    (BEGIN, COMMIT and the pool's ping excluded)."""
    calls = []

    def record(conn, cursor, statement, parameters, context, executemany):
        calls.append((statement, parameters))

    with listening(app, "before_cursor_execute", record):
        yield calls


@contextmanager
def counted_statements(app):
    """The SQL statements the app sends while the block runs."""
    with executed(app) as calls:
        statements = []
        yield statements
    statements.extend(statement for statement, _ in calls)


@pytest.fixture
def task_ids(client, auth):
    return [create(client, auth, title=f"Task {n}", description=f"About {n}")["id"] for n in range(25)]


@pytest.mark.parametrize(
    "query",
    ["", "?limit=20", "?sort=priority&status=pending&status=completed", "?q=task&sort=-due_at&offset=5",
     "?priority=low&sort=title&limit=100", "?offset=100", "?tag=work&tag=home&sort=position", "?sort=-updated_at"],
)
def test_list_takes_two_statements_however_filtered(app, client, auth, task_ids, query):
    with counted_statements(app) as statements:
        response = client.get(TASKS + query, headers=auth)
    assert response.status_code == 200
    assert len(statements) <= LIST_MAX, statements


def test_list_does_not_grow_with_the_page(app, client, auth, task_ids):
    with counted_statements(app) as small:
        assert len(client.get(TASKS + "?limit=1", headers=auth).get_json()["items"]) == 1
    with counted_statements(app) as large:
        assert len(client.get(TASKS + "?limit=100", headers=auth).get_json()["items"]) == len(task_ids)
    assert len(small) == len(large) <= LIST_MAX


def test_read_one_takes_at_most_three_statements(app, client, auth, task_ids):
    with counted_statements(app) as statements:
        response = client.get(task_url(task_ids[0]), headers=auth)
    assert response.status_code == 200
    assert len(statements) <= SINGLE_TASK_MAX, statements


def test_create_takes_at_most_four_statements_and_one_for_its_activity(app, client, auth):
    with counted_statements(app) as statements:
        response = client.post(TASKS, json={"title": "New", "status": "completed"}, headers=auth)
    assert response.status_code == 201
    activity, others = split_activity(statements)
    assert len(activity) == 1 and len(others) <= WRITE_MAX, statements


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status"),
    [
        ("patch", "", {"title": "Changed", "status": "completed"}, 200),
        ("put", "", {"priority": "high"}, 200),
        ("patch", "/toggle", None, 200),
        ("delete", "", None, 204),
    ],
)
def test_writes_take_at_most_four_statements_and_one_for_their_activity(app, client, auth, task_ids, method,
                                                                       suffix, body, status):
    etag = client.get(task_url(task_ids[0]), headers=auth).headers["ETag"]
    with counted_statements(app) as statements:
        response = getattr(client, method)(task_url(task_ids[0], suffix), json=body,
                                           headers={**auth, "If-Match": etag})
    assert response.status_code == status, response.get_json()
    activity, others = split_activity(statements)
    assert len(activity) == 1 and len(others) <= WRITE_MAX, statements


def test_a_bulk_edit_records_its_entries_in_one_insert(app, client, auth, task_ids):
    with counted_statements(app) as statements:
        response = client.patch(TASKS, json={"ids": task_ids[:20], "changes": {"priority": "high"}}, headers=auth)
    assert response.status_code == 200, response.get_json()
    activity, _ = split_activity(statements)
    assert len(activity) == 1, statements


def test_answer_after_a_write_is_not_reloaded(app, client, auth, task_ids):
    """The PATCH answer comes from the object just written, not from a SELECT after the COMMIT."""
    with counted_statements(app) as statements:
        body = client.patch(task_url(task_ids[0]), json={"title": "Renamed"}, headers=auth).get_json()
    assert body["title"] == "Renamed" and body["version"] == 2
    assert sum(statement.lstrip().upper().startswith("SELECT") for statement in statements) == 2, statements


@pytest.mark.parametrize("sort", ["-created_at", "due_at", "-priority", "title", "position"])
def test_a_cursor_page_takes_two_statements_and_skips_no_rows_however_deep(app, client, auth, task_ids, sort):
    cursor = client.get(TASKS, query_string={"sort": sort, "limit": 20}, headers=auth).get_json()["next_cursor"]
    with executed(app) as calls:
        response = client.get(TASKS, query_string={"cursor": cursor, "limit": 2}, headers=auth)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 2
    assert response.get_json()["offset"] == 20
    assert len(calls) <= LIST_MAX, calls
    page, parameters = calls[-1]
    # The page starts at the cursor's row through the index: it skips no rows (the statement, built once for
    # every page, carries its OFFSET as a parameter: 0 here).
    if "OFFSET" in page.upper():
        offset = parameters["offset"] if isinstance(parameters, dict) else parameters[-1]
        assert offset == 0, (page, parameters)


def test_the_trash_takes_two_statements(app, client, auth, task_ids):
    for task_id in task_ids[:5]:
        client.delete(task_url(task_id), headers=auth)
    for query in ("", "?limit=2&offset=4", "?offset=50"):
        with counted_statements(app) as statements:
            assert client.get(TRASH + query, headers=auth).status_code == 200
        assert len(statements) <= LIST_MAX, (query, statements)


# The feed: the user, their lists' sequence heads, the changes with their tasks, the lists they changed.
FEED_MAX = 4


def test_the_feed_takes_four_statements(app, client, auth, task_ids):
    client.delete(task_url(task_ids[0]), headers=auth)
    client.delete(TRASH, headers=auth)
    first = client.get(CHANGES, query_string={"limit": 10}, headers=auth).get_json()
    client.patch(task_url(task_ids[1]), json={"title": "Changed"}, headers=auth)
    for params in ({}, {"limit": 3}, {"since": first["cursor"]}, {"since": first["cursor"], "limit": 1000}):
        with counted_statements(app) as statements:
            assert client.get(CHANGES, query_string=params, headers=auth).status_code == 200
        assert len(statements) <= FEED_MAX, (params, statements)


def test_a_feed_with_nothing_new_takes_two_statements(app, client, auth, task_ids):
    cursor = client.get(CHANGES, query_string={"limit": 1000}, headers=auth).get_json()["cursor"]
    with counted_statements(app) as statements:
        body = client.get(CHANGES, query_string={"since": cursor}, headers=auth).get_json()
    assert (body["changes"], body["deleted"], body["lists"]) == ([], [], [])
    assert len(statements) <= LIST_MAX, statements


def test_the_tags_take_two_statements(app, client, auth, task_ids):
    client.patch(task_url(task_ids[0]), json={"tags": ["a", "b"]}, headers=auth)
    with counted_statements(app) as statements:
        assert client.get(TAGS, headers=auth).status_code == 200
    assert len(statements) <= LIST_MAX, statements


def _task_updates(statements):
    return [statement for statement in statements if statement.lstrip().upper().startswith("UPDATE TASKS")]


@pytest.mark.parametrize("after", ["first", "middle", "last"])
def test_a_move_writes_one_task_row(app, client, auth, task_ids, after):
    after_id = {"first": None, "middle": task_ids[10], "last": task_ids[0]}[after]
    with counted_statements(app) as statements:
        assert move(client, auth, task_ids[5], after_id).status_code == 200
    assert len(_task_updates(statements)) == 1, statements


def test_reads_across_shared_lists_take_as_many_statements_as_one_inbox(app, client, auth, user, task_ids):
    """The membership the door joins costs no statement of its own: a member of several lists lists and reads
    their tasks in the counts above."""
    other = register(client, "other@example.com")
    for n in range(3):
        shared = make_list(client, bearer(other["access_token"]), f"Shared {n}")
        create(client, bearer(other["access_token"]), title=f"Theirs {n}", list_id=shared["id"])
        join(app, shared["id"], user["user"]["id"], "viewer")
    theirs = client.get(TASKS, query_string={"q": "Theirs"}, headers=auth).get_json()
    assert theirs["total"] == 3
    for query in ("", "?sort=position", f"?list_id={theirs['items'][0]['list_id']}", "?assignee=none&q=task"):
        with counted_statements(app) as statements:
            assert client.get(TASKS + query, headers=auth).status_code == 200
        assert len(statements) <= LIST_MAX, (query, statements)
    with counted_statements(app) as statements:
        assert client.get(task_url(theirs["items"][0]["id"]), headers=auth).status_code == 200
    assert len(statements) <= SINGLE_TASK_MAX, statements
