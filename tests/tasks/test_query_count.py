"""Round trips per request: any list in two statements, a single-task read in at most three, a write in four."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from taskapi.extensions import db
from tests.tasks.conftest import TASKS, create, task_url

LIST_MAX = 2  # token validity (user + revocation in one SELECT), then the page with its total
SINGLE_TASK_MAX = 3  # token validity and the task
# Token validity, the user's change sequence (the lock every task write starts with), the task (or the
# first position, for a create) and its INSERT/UPDATE.
WRITE_MAX = 4


@contextmanager
def counted_statements(app):
    """The SQL statements the app sends while the block runs (BEGIN, COMMIT and the pool's ping excluded)."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def task_ids(client, auth):
    return [create(client, auth, title=f"Task {n}", description=f"About {n}")["id"] for n in range(25)]


@pytest.mark.parametrize(
    "query",
    ["", "?limit=20", "?sort=priority&status=pending&status=completed", "?q=task&sort=-due_at&offset=5",
     "?priority=low&sort=title&limit=100"],
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


def test_create_takes_at_most_four_statements(app, client, auth):
    with counted_statements(app) as statements:
        response = client.post(TASKS, json={"title": "New", "status": "completed"}, headers=auth)
    assert response.status_code == 201
    assert len(statements) <= WRITE_MAX, statements


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status"),
    [
        ("patch", "", {"title": "Changed", "status": "completed"}, 200),
        ("put", "", {"priority": "high"}, 200),
        ("patch", "/toggle", None, 200),
        ("delete", "", None, 204),
    ],
)
def test_writes_take_at_most_four_statements(app, client, auth, task_ids, method, suffix, body, status):
    etag = client.get(task_url(task_ids[0]), headers=auth).headers["ETag"]
    with counted_statements(app) as statements:
        response = getattr(client, method)(task_url(task_ids[0], suffix), json=body,
                                           headers={**auth, "If-Match": etag})
    assert response.status_code == status, response.get_json()
    assert len(statements) <= WRITE_MAX, statements


def test_answer_after_a_write_is_not_reloaded(app, client, auth, task_ids):
    """The PATCH answer comes from the object just written, not from a SELECT after the COMMIT."""
    with counted_statements(app) as statements:
        body = client.patch(task_url(task_ids[0]), json={"title": "Renamed"}, headers=auth).get_json()
    assert body["title"] == "Renamed" and body["version"] == 2
    assert sum(statement.lstrip().upper().startswith("SELECT") for statement in statements) == 2, statements
