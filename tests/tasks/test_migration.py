"""Migration 0004 upgrades a v1 database in place (every task kept, ordered, numbered) and downgrades again."""

from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import JSON, inspect, text

from taskapi.auth.passwords import hash_password
from taskapi.extensions import db
from tests.helpers.api import PASSWORD, bearer
from tests.helpers.tasks import CHANGES, TASKS, TRASH, ids, page_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# (user, title, created_at offset in hours): two tasks of Ada share a created_at (ids break the tie).
V1_TASKS = [("ada", "Oldest", 0), ("ada", "Tie low id", 5), ("ada", "Tie high id", 5), ("bob", "Bob's", 1),
            ("ada", "Newest", 9), ("ada", "Middle", 3)]


def _v1_rows(connection):
    """Users Ada, Bob and Cy (no tasks) and V1_TASKS, written as v1 wrote them; returns {title: id}."""
    users = {}
    for name in ("ada", "bob", "cy"):
        users[name] = connection.execute(text(
            "INSERT INTO users (email, name, password_hash, created_at, token_generation) "
            "VALUES (:email, :name, :hash, :now, 0) RETURNING id"),
            {"email": f"{name}@example.com", "name": name.title(), "hash": hash_password(PASSWORD), "now": T0},
        ).scalar_one()
    task_ids = {}
    for owner, title, hours in V1_TASKS:
        created = T0 + timedelta(hours=hours)
        task_ids[title] = connection.execute(text(
            "INSERT INTO tasks (user_id, title, description, status, priority, due_at, completed_at, created_at, "
            "updated_at, version) VALUES (:user_id, :title, :description, 'pending', 'high', NULL, NULL, :created, "
            ":created, 3) RETURNING id"),
            {"user_id": users[owner], "title": title, "description": f"About {title}", "created": created},
        ).scalar_one()
    return users, task_ids


def _row_dicts(connection, sql):
    return [dict(row) for row in connection.execute(text(sql).columns(tags=JSON)).mappings()]


def test_a_v1_database_upgrades_with_every_task_ordered_and_numbered(blank_app):
    with blank_app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            users, task_ids = _v1_rows(connection)
            before = _row_dicts(connection, "SELECT * FROM tasks ORDER BY id")
        upgrade()
        with db.engine.connect() as connection:
            # Each task is its owner's inbox's now (migration 0011): read with the list's owner as user_id.
            after = _row_dicts(connection, "SELECT tasks.*, lists.owner_id AS user_id FROM tasks "
                                           "JOIN lists ON lists.id = tasks.list_id ORDER BY tasks.id")
            seqs = dict(connection.execute(text(
                "SELECT users.email, lists.task_seq FROM users JOIN lists ON lists.owner_id = users.id")).all())
            extra_rows = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                          for table in ("task_tags", "task_tombstones")]
    new_columns = {"tags", "position", "deleted_at", "change_seq", "list_id", "assignee_id", "created_by"}
    assert [{k: v for k, v in row.items() if k not in new_columns} for row in after] == before
    by_id = {row["id"]: row for row in after}
    for row in after:
        assert (row["tags"], row["deleted_at"], row["assignee_id"]) == ([], None, None)
        assert row["created_by"] == row["user_id"]
    ada_newest_first = [task_ids[t] for t in ("Newest", "Tie high id", "Tie low id", "Middle", "Oldest")]
    assert [by_id[i]["position"] for i in ada_newest_first] == ["a0", "a1", "a2", "a3", "a4"]
    assert [by_id[i]["change_seq"] for i in ada_newest_first] == [5, 4, 3, 2, 1]
    assert (by_id[task_ids["Bob's"]]["position"], by_id[task_ids["Bob's"]]["change_seq"]) == ("a0", 1)
    assert seqs == {"ada@example.com": 5, "bob@example.com": 1, "cy@example.com": 0}
    assert extra_rows == [0, 0]

    # The service works on it: the manual order, the feed, a new task first, the trash.
    client = blank_app.test_client()
    login = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    auth = bearer(login.get_json()["access_token"])
    assert ids(page_of(client, auth, sort="position")["items"]) == ada_newest_first
    feed = page_of(client, auth, CHANGES)
    assert ids(feed["changes"]) == ada_newest_first[::-1]
    newest = client.post(TASKS, json={"title": "After the upgrade"}, headers=auth).get_json()
    assert newest["id"] > max(task_ids.values())
    assert ids(page_of(client, auth, sort="position")["items"]) == [newest["id"], *ada_newest_first]
    assert page_of(client, auth, CHANGES, since=feed["cursor"])["changes"] == [newest]
    # Ids are never handed out again (a tombstone is keyed by one), on SQLite too.
    assert client.delete(f"{TASKS}/{newest['id']}", headers=auth).status_code == 204
    assert client.delete(TRASH, headers=auth).status_code == 204
    assert client.post(TASKS, json={"title": "Later"}, headers=auth).get_json()["id"] > newest["id"]


def test_the_upgraded_tasks_table_keeps_its_rules(blank_app):
    with blank_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            inspector = inspect(connection)
            columns = {column["name"]: column for column in inspector.get_columns("tasks")}
            checks = {check["name"] for check in inspector.get_check_constraints("tasks")}
            dialect = connection.dialect.name
            if dialect == "sqlite":
                ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'tasks'")).scalar_one()
    assert {"ck_tasks_title_length", "ck_tasks_description_length"} <= checks
    assert not any(columns[name]["nullable"] for name in ("tags", "position", "change_seq"))
    if dialect == "postgresql":
        assert columns["position"]["type"].collation == "C"  # byte order, whatever the database's collation
    else:
        assert "AUTOINCREMENT" in ddl
