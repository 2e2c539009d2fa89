"""The test database: which one (SQLite, or PostgreSQL from TEST_DATABASE_URL), apps on it, emptying it."""

import os
import sqlite3
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, event, text

from taskapi import create_app, stream
from taskapi.extensions import db

WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1 ... under pytest-xdist


def test_environ(tmp_path_factory, **extra):
    """The environment a test app is built from: TASKAPI_ENV=testing on the test database.

    With pytest-xdist (make test runs two workers), each worker has a SQLite file of its own (its own
    base temp directory) or a PostgreSQL database of its own beside TEST_DATABASE_URL's.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url and WORKER:
        url = database_of_this_worker(url)
    url = url or f"sqlite:///{tmp_path_factory.getbasetemp() / 'taskapi.db'}"
    return {"TASKAPI_ENV": "testing", "DATABASE_URL": url, **extra}


test_environ.__test__ = False  # a helper, not a test, whatever its name


def database_of_this_worker(url):
    """`<database>_<worker>` on the same server, made if missing (and dropped when the session ends)."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{WORKER}"
    as_admin(url, "SELECT 1")  # fail here, clearly, if the server is not there
    if not as_admin(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        as_admin(url, f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def as_admin(url, statement):
    """Run one statement outside any transaction (CREATE/DROP DATABASE); returns its rows, if any."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement))
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def commits_without_waiting_for_the_disk(url):
    """A test database is thrown away: its commits need not wait for the disk (about half of a write's time).

    PostgreSQL: set on the database, for every connection made after. SQLite: see `sqlite_no_sync`.
    """
    if url.startswith("postgresql"):
        name = urlsplit(url).path.lstrip("/")
        as_admin(url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def sqlite_no_sync(dbapi_connection, connection_record):
    """An Engine "connect" listener: SQLite's commits not synced to disk (PRAGMA synchronous, per connection)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def build_app(environ, **overrides):
    # Tests log in (and fail to) far more often than the default limits allow; the limits have tests of their own.
    overrides.setdefault("AUTH_RATE_LIMIT", "10000 per minute")
    overrides.setdefault("LOGIN_FAILURE_LIMIT", 10000)
    return create_app(overrides, environ=environ)


def dispose(app):
    """Stop the app's live-update hub; give back the app's database connections."""
    stream.stop(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def empty_tables(engine):
    """Delete every row (the schema and alembic_version stay), in one transaction.

    On PostgreSQL in one round trip: on tables this small TRUNCATE takes some ten times as long,
    and a DELETE per table (a round trip each) three times.
    """
    tables = list(reversed(db.metadata.sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("; ".join(f'DELETE FROM "{table.name}"' for table in tables)))
            return
        for table in tables:
            connection.execute(table.delete())


@contextmanager
def listening(app, name, listener):
    """`listener` on the app's engine for SQLAlchemy's event `name`, while the block runs."""
    with app.app_context():
        engine = db.engine
    event.listen(engine, name, listener)
    try:
        yield
    finally:
        event.remove(engine, name, listener)


@contextmanager
def statements_of(app):
    """The SQL statements the app sends while the block runs, inside an app context."""
    sent = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    with listening(app, "before_cursor_execute", record), app.app_context():
        yield sent
