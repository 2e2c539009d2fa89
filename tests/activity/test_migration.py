"""Migration 0013 adds the activity table, and its downgrade takes it away with its entries."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from taskapi.extensions import db


def _schema(connection):
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "activity" not in tables:
        return tables, None
    return tables, {index["name"]: index["column_names"] for index in inspector.get_indexes("activity")}


def test_upgrade_adds_the_table_and_downgrade_removes_it(blank_app):
    with blank_app.app_context():
        upgrade(revision="0012")
        with db.engine.connect() as connection:
            before, _ = _schema(connection)
        upgrade(revision="0013")
        with db.engine.begin() as connection:
            tables, indexes = _schema(connection)
            connection.execute(text("INSERT INTO users (email, name, password_hash, created_at, token_generation, "
                                    "role, disabled) VALUES ('a@example.com', 'A', 'x', CURRENT_TIMESTAMP, 0, "
                                    "'user', false)"))
            user_id = connection.execute(text("SELECT id FROM users")).scalar_one()
            connection.execute(text("INSERT INTO lists (owner_id, name, inbox, created_at, updated_at, version, "
                                    "task_seq, task_count) VALUES (:user, 'Inbox', true, CURRENT_TIMESTAMP, "
                                    "CURRENT_TIMESTAMP, 1, 0, 0)"), {"user": user_id})
            list_id = connection.execute(text("SELECT id FROM lists")).scalar_one()
            connection.execute(text("INSERT INTO activity (list_id, task_id, actor_id, action, changes, at) VALUES "
                                    "(:list, 7, :user, 'task.deleted', '{}', CURRENT_TIMESTAMP)"),
                               {"list": list_id, "user": user_id})
            assert connection.execute(text("SELECT count(*) FROM activity")).scalar_one() == 1
        downgrade(revision="0012")
        with db.engine.connect() as connection:
            after, _ = _schema(connection)
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        upgrade()
        with db.engine.connect() as connection:
            again, _ = _schema(connection)
    assert tables - before == {"activity"} and after == before and "activity" in again and version == "0012"
    assert indexes == {"ix_activity_list": ["list_id", "id"], "ix_activity_task": ["task_id", "id"],
                       "ix_activity_at": ["at"]}
