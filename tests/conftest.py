"""Fixtures: a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL), app, client, runner."""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from taskapi import create_app
from taskapi.auth import events, reset, throttle, tokens
from taskapi.extensions import db
from taskapi.mail import outbox
from taskapi.tasks import trash
from tests.smtp import SMTPServer

PASSWORD = "correct horse battery"


def test_environ(tmp_path_factory, **extra):
    """The environment a test app is built from: TASKAPI_ENV=testing on the test database.

    With pytest-xdist (make test runs two workers), each worker has a SQLite file of its own (its own
    base temp directory) or a PostgreSQL database of its own beside TEST_DATABASE_URL's.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url and WORKER:
        url = _database_of_this_worker(url)
    url = url or f"sqlite:///{tmp_path_factory.getbasetemp() / 'taskapi.db'}"
    return {"TASKAPI_ENV": "testing", "DATABASE_URL": url, **extra}


WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1 ... under pytest-xdist


def _database_of_this_worker(url):
    """`<database>_<worker>` on the same server, made if missing (and dropped when the session ends)."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{WORKER}"
    _admin(url, "SELECT 1")  # fail here, clearly, if the server is not there
    if not _admin(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        _admin(url, f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def _admin(url, statement):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement))
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def build_app(environ, **overrides):
    # Tests log in (and fail to) far more often than the default limits allow; the limits have tests of their own.
    overrides.setdefault("AUTH_RATE_LIMIT", "10000 per minute")
    overrides.setdefault("LOGIN_FAILURE_LIMIT", 10000)
    return create_app(overrides, environ=environ)


@pytest.fixture(autouse=True)
def no_opportunistic_pruning(monkeypatch):
    """One request in a hundred also prunes old rows; a test sees the usual request unless it makes that certain."""
    for module in (events, reset, throttle, tokens, outbox):
        monkeypatch.setattr(module, "PRUNE_CHANCE", 0)
    monkeypatch.setattr(trash, "PURGE_CHANCE", 0)


@pytest.fixture(scope="session")
def environ(tmp_path_factory):
    return test_environ(tmp_path_factory)


@pytest.fixture(scope="session")
def _schema(environ):
    """Migrate the test database once: the suite runs on the schema the migrations build.

    Yields an engine on it that empties every table after each test.
    """
    app = build_app(environ)
    with app.app_context():
        with db.engine.begin() as connection:
            db.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.engine.dispose()
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True)
    yield engine
    engine.dispose()
    if WORKER and os.environ.get("TEST_DATABASE_URL"):
        name = urlsplit(environ["DATABASE_URL"]).path.lstrip("/")
        _admin(os.environ["TEST_DATABASE_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def blank_url(environ, tmp_path):
    """An empty database of the test's kind: a SQLite file, or a PostgreSQL schema of its own."""
    url = environ["DATABASE_URL"]
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'v1.db'}"
        return
    schema = f"v1_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def blank_app(environ, blank_url):
    app = build_app({**environ, "DATABASE_URL": blank_url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_tables(engine):
    with engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def make_app(environ, _schema):
    """Build apps on the test database (several make 'several instances'); rows are wiped after."""
    apps = []

    def make(**overrides):
        app = build_app(environ, **overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    _empty_tables(_schema)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1, stopped after the test."""
    server = SMTPServer().start()
    yield server
    server.stop()


def register(client, email="ada@example.com", password=PASSWORD, name="Ada"):
    """Register through the API; returns the token pair."""
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(client):
    """A registered user's token pair (Ada)."""
    return register(client)


@pytest.fixture
def bob(client):
    """A second registered user's token pair."""
    return register(client, email="bob@example.com", name="Bob")


@pytest.fixture
def auth(user):
    """Authorization headers of the registered user."""
    return bearer(user["access_token"])


def assert_error(response, status, code, **fields):
    """The contract's envelope, exactly."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    expected_keys = {"status", "code", "message", "request_id"} | ({"errors"} if status == 422 else set())
    assert set(body) == expected_keys, body
    for key, value in fields.items():
        assert body[key] == value, body
    return body
