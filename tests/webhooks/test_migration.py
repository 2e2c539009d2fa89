"""Migration 0014 adds the webhook tables; its downgrade drops them with their rows, and upgrading again round-trips."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from taskapi.extensions import db

TABLES = {"webhooks", "webhook_events", "webhook_deliveries"}


def _tables():
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_the_downgrade_drops_the_webhook_tables_and_upgrading_again_round_trips(blank_app):
    with blank_app.app_context():
        upgrade()
        assert _tables() >= TABLES
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO users (email, name, password_hash, created_at, token_generation, "
                                    "role, disabled) VALUES ('a@example.com', 'A', 'x', CURRENT_TIMESTAMP, 0, "
                                    "'user', false)"))
            user_id = connection.execute(text("SELECT id FROM users")).scalar_one()
            connection.execute(text("INSERT INTO lists (owner_id, name, inbox, created_at, updated_at, version, "
                                    "task_seq, task_count) VALUES (:u, 'L', false, CURRENT_TIMESTAMP, "
                                    "CURRENT_TIMESTAMP, 1, 0, 0)"), {"u": user_id})
            list_id = connection.execute(text("SELECT id FROM lists")).scalar_one()
            connection.execute(text("INSERT INTO webhooks (list_id, url, events, enabled, secret_nonce, created_at, "
                                    "failure_count) VALUES (:l, 'https://example.com/', '[\"task.*\"]', true, 'n', "
                                    "CURRENT_TIMESTAMP, 0)"), {"l": list_id})
        downgrade(revision="0013")
        assert not TABLES & _tables()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM lists")).scalar_one() == 1
        upgrade()
        assert _tables() >= TABLES
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM webhooks")).scalar_one() == 0
