"""PostgreSQL connections: dead pooled connections are replaced on checkout, reads run without BEGIN."""

import time

import pytest
from sqlalchemy import create_engine, event, text

from taskapi.extensions import db


@pytest.fixture
def pg_app(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    return app


def _terminate_backends(app):
    """Close the server's end of every connection to the test database, as a restart or failover does."""
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        terminated = connection.execute(text(f"SELECT count(pg_terminate_backend(pid)) {others}")).scalar_one()
        # pg_terminate_backend only signals: wait until the backends have closed their sockets.
        deadline = time.monotonic() + 10
        while connection.execute(text(f"SELECT count(*) {others}")).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.01)
    admin.dispose()
    return terminated


def test_connection_closed_by_the_server_is_replaced_before_use(pg_app, client, auth):
    assert client.get("/api/v1/tasks", headers=auth).status_code == 200  # a pooled connection now exists
    assert _terminate_backends(pg_app) >= 1
    for _ in range(3):
        assert client.get("/api/v1/tasks", headers=auth).status_code == 200
        assert client.post("/api/v1/tasks", json={"title": "after the restart"}, headers=auth).status_code == 201


def _autocommit_per_statement(app, request):
    """Whether each statement of `request()` ran in psycopg2's autocommit (no BEGIN, no ROLLBACK)."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(conn.connection.dbapi_connection.autocommit)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            request()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_reads_run_in_autocommit(pg_app, client, auth):
    seen = _autocommit_per_statement(pg_app, lambda: client.get("/api/v1/tasks", headers=auth))
    assert seen == [True, True]


def test_writes_keep_their_transaction(pg_app, client, auth):
    seen = _autocommit_per_statement(pg_app, lambda: client.post("/api/v1/tasks", json={"title": "t"}, headers=auth))
    assert seen and not any(seen)
