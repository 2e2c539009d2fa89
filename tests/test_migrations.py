"""The migrations build exactly the schema the models describe, and upgrade the previous release in place."""

import json
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_jwt_extended import create_access_token
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from taskapi.auth.passwords import hash_password
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks import idempotency
from taskapi.tasks.models import TRIGRAM_INDEXES, declared_in_models
from tests.helpers.api import PASSWORD, assert_error, bearer
from tests.helpers.schema import described


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": declared_in_models})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_the_migrations_build_the_schema_the_models_create_to_every_name(blank_app):
    """compare_metadata() looks neither at primary keys' names nor at SQLite's AUTOINCREMENT: the schema the
    migrations build, reflected whole, is the one the models create (the trigram indexes aside)."""
    with blank_app.app_context():
        with db.engine.begin() as connection:
            db.metadata.create_all(connection)
            declared = described(connection)
            db.metadata.drop_all(connection)
        upgrade()
        with db.engine.connect() as connection:
            migrated = described(connection)
    migrated["tasks"]["indexes"] = [index for index in migrated["tasks"]["indexes"]
                                    if index[0] not in TRIGRAM_INDEXES]
    assert migrated == declared


# Upgrading a database of the previous release (head 0001) in place.

V1_TABLES = {"users", "tasks", "revoked_tokens", "idempotency_keys"}
V1_TASK_COLUMNS = {"id", "user_id", "title", "description", "status", "priority", "due_at", "completed_at",
                   "created_at", "updated_at", "version"}
V1_USER_COLUMNS = {"id", "email", "name", "password_hash", "created_at", "token_generation"}
# The first answer of an idempotent create, as v1 stored it (no tags or position then).
V1_ANSWER = {"id": 1, "title": "Task 0", "description": None, "status": "pending", "priority": "medium",
             "due_at": None, "completed_at": None, "created_at": "2026-11-01T00:00:00+00:00",
             "updated_at": "2026-11-01T00:00:00+00:00", "version": 1}


def _v1_data(connection, when):
    """What a v1 service stored: two users, their tasks, a revocation and an idempotent create's answer."""
    users = [connection.execute(text(
        "INSERT INTO users (email, name, password_hash, created_at, token_generation) "
        "VALUES (:email, :name, :hash, :when, :gen) RETURNING id"),
        {"email": email, "name": name, "hash": hash_password(PASSWORD), "when": when, "gen": gen}).scalar_one()
        for email, name, gen in (("ada@example.com", "Ada", 2), ("bob@example.com", "Bob", 0))]
    for i in range(3):
        connection.execute(text(
            "INSERT INTO tasks (user_id, title, description, status, priority, due_at, completed_at, created_at, "
            "updated_at, version) VALUES (:user, :title, NULL, 'completed', 'low', :when, :when, :when, :when, 2)"),
            {"user": users[i % 2], "title": f"Task {i}", "when": when + timedelta(minutes=i)})
    connection.execute(text("INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ('old-jti', :user, :exp)"),
                       {"user": users[0], "exp": when + timedelta(days=365 * 20)})
    answer = json.dumps(V1_ANSWER)
    connection.execute(text(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, status_code, response_body, created_at) "
        "VALUES (:user, 'key-1', :fingerprint, 201, :answer, :when)"),
        {"user": users[0], "fingerprint": idempotency.fingerprint({"title": "Task 0"}), "answer": answer,
         "when": utcnow()})
    return users


def _rows(connection, table, columns):
    listed = ", ".join(sorted(columns))
    return [tuple(row) for row in connection.execute(text(f"SELECT {listed} FROM {table} ORDER BY 1, 2"))]


V1_ROWS = (("users", V1_USER_COLUMNS), ("tasks", V1_TASK_COLUMNS),
           ("revoked_tokens", {"jti", "user_id", "expires_at"}),
           ("idempotency_keys", {"user_id", "key", "fingerprint", "status_code", "response_body"}))
# v3's tasks are their list's: read with the list's owner as user_id, they are v1's rows.
TASKS_WITH_OWNER = "(SELECT tasks.*, lists.owner_id AS user_id FROM tasks JOIN lists ON lists.id = tasks.list_id) owned"


def test_a_database_of_the_previous_release_upgrades_with_every_row(blank_app):
    when = datetime(2026, 11, 1, tzinfo=UTC)
    with blank_app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            users = _v1_data(connection, when)
            before = {table: _rows(connection, table, columns) for table, columns in V1_ROWS}
        old_token = create_access_token(str(users[0]), additional_claims={"gen": 2})  # as v1 issued it: no sid
        upgrade()
        with db.engine.connect() as connection:
            after = {table: _rows(connection, TASKS_WITH_OWNER if table == "tasks" else table, columns)
                     for table, columns in V1_ROWS}
            made_by_others = connection.execute(text(
                "SELECT tasks.id FROM tasks JOIN lists ON lists.id = tasks.list_id "
                "WHERE tasks.created_by IS NULL OR tasks.created_by <> lists.owner_id OR tasks.assignee_id IS NOT NULL"
            )).all()
            # The change sequence and task count are the inbox's now, each user's one list.
            v3_users = connection.execute(text(
                "SELECT users.role, users.disabled, users.last_login_at, lists.name, lists.task_seq, lists.task_count "
                "FROM users JOIN lists ON lists.owner_id = users.id ORDER BY users.id")).all()
    assert after == before
    assert made_by_others == []
    assert [tuple(row) for row in v3_users] == [("user", False, None, "Inbox", 2, 2),
                                                ("user", False, None, "Inbox", 1, 1)]

    client = blank_app.test_client()
    assert_error(client.get("/api/v1/auth/me", headers=bearer(old_token)), 401, "token_revoked")  # refused once
    pair = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).get_json()
    assert pair["user"]["role"] == "user"
    auth = bearer(pair["access_token"])
    replay = client.post("/api/v1/tasks", json={"title": "Task 0"}, headers={**auth, "Idempotency-Key": "key-1"})
    assert (replay.status_code, replay.get_json(), replay.headers["ETag"]) == (201, V1_ANSWER, '"1.1"')
    listed = client.get("/api/v1/tasks", headers=auth).get_json()
    assert listed["total"] == 2 and {task["tags"] for task in map(_frozen, listed["items"])} == {()}


def _frozen(task):
    return {**task, "tags": tuple(task["tags"])}


def test_downgrade_to_the_previous_release_leaves_its_schema(blank_app):
    with blank_app.app_context():
        upgrade()
        downgrade(revision="0001")
        with db.engine.connect() as connection:
            inspector = inspect(connection)
            tables = set(inspector.get_table_names()) - {"alembic_version", "sqlite_sequence"}
            columns = {table: {c["name"] for c in inspector.get_columns(table)} for table in ("users", "tasks")}
            indexes = {index["name"] for index in inspector.get_indexes("tasks")}
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            left = set(inspect(connection).get_table_names())
    assert tables == V1_TABLES and version == "0001"
    assert columns == {"users": V1_USER_COLUMNS, "tasks": V1_TASK_COLUMNS}
    assert indexes == {"ix_tasks_user_created", "ix_tasks_user_due", "ix_tasks_user_updated"}
    assert left <= {"alembic_version", "sqlite_sequence"}


def test_downgrading_live_positions_renumbers_a_user_whose_trash_shares_a_key(blank_app):
    """0007_live_positions' downgrade widens the unique index over the trash again: a user whose trashed
    task shares its key with another task is renumbered first, in order, each rewritten task versioned."""
    with blank_app.app_context():
        upgrade()
    client = blank_app.test_client()
    auth = bearer(client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD,
                                                              "name": "Ada"}).get_json()["access_token"])
    a, b, c, d = (client.post("/api/v1/tasks", json={"title": t}, headers=auth).get_json() for t in "ABCD")
    assert client.delete(f"/api/v1/tasks/{c['id']}", headers=auth).status_code == 204
    moved = client.post(f"/api/v1/tasks/{a['id']}/move", json={"after": d["id"]}, headers=auth).get_json()
    assert moved["position"] == c["position"]  # the trashed C's key, given again
    with blank_app.app_context():
        downgrade(revision="0006")
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, position, version FROM tasks ORDER BY position")).all()
            unique = [index for index in inspect(connection).get_indexes("tasks") if index["unique"]]
        upgrade()
    assert [row.id for row in rows] == [d["id"], a["id"], c["id"], b["id"]]
    assert len({row.position for row in rows}) == 4
    assert {row.id: row.version for row in rows} == {d["id"]: 2, a["id"]: 3, c["id"]: 2, b["id"]: 2}
    assert [index["name"] for index in unique] == ["uq_tasks_user_position"]


def test_the_task_count_includes_the_trash_after_upgrade_and_not_after_downgrade(blank_app):
    with blank_app.app_context():
        upgrade()
    client = blank_app.test_client()
    auth = bearer(client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD,
                                                              "name": "Ada"}).get_json()["access_token"])
    tasks = [client.post("/api/v1/tasks", json={"title": t}, headers=auth).get_json() for t in "ABC"]
    assert client.delete(f"/api/v1/tasks/{tasks[0]['id']}", headers=auth).status_code == 204
    with blank_app.app_context():
        downgrade(revision="0007")
        with db.engine.begin() as connection:
            live = connection.execute(text("SELECT live_task_count FROM users")).scalar_one()
            connection.execute(text("UPDATE users SET live_task_count = 0"))
        upgrade()
        with db.engine.connect() as connection:
            counted = connection.execute(text("SELECT task_count FROM lists WHERE inbox")).scalar_one()
    assert (live, counted) == (2, 3)
