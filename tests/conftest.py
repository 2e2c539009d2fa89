"""Fixtures: a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL), app, client, runner.

Most tests share one app of the default test config, built once per session (a build costs about
as much as a dozen requests); a test that needs another config builds its own with make_app(...).
Every test starts on empty tables and on a fresh rate-limit and login-throttle store.
"""

import os
import uuid
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from taskapi import background, serializers
from taskapi.auth import throttle
from taskapi.extensions import db, limiter
from tests.helpers.api import bearer, register
from tests.helpers.database import (
    WORKER,
    as_admin,
    build_app,
    commits_without_waiting_for_the_disk,
    dispose,
    empty_tables,
    sqlite_no_sync,
    test_environ,
)
from tests.helpers.lists import person
from tests.helpers.serializers import assert_dumps_alike
from tests.smtp import SMTPServer


@pytest.fixture(autouse=True)
def dumps_checked_against_marshmallow(monkeypatch):
    """Every compiled dump, in every test, also runs marshmallow's own dump: the two must answer alike."""
    compiled_dump = serializers.Schema.dump

    def dump(schema, obj, *, many=None):
        answer = compiled_dump(schema, obj, many=many)
        assert_dumps_alike(schema, obj, many, answer)
        return answer

    monkeypatch.setattr(serializers.Schema, "dump", dump)


@pytest.fixture(scope="session")
def environ(tmp_path_factory):
    return test_environ(tmp_path_factory)


@pytest.fixture(scope="session")
def _schema(environ):
    """Migrate the test database once: the suite runs on the schema the migrations build.

    Yields an engine on it, which empties every table after each test.
    """
    commits_without_waiting_for_the_disk(environ["DATABASE_URL"])
    event.listen(Engine, "connect", sqlite_no_sync)
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
    event.remove(Engine, "connect", sqlite_no_sync)
    if WORKER and os.environ.get("TEST_DATABASE_URL"):
        name = urlsplit(environ["DATABASE_URL"]).path.lstrip("/")
        as_admin(os.environ["TEST_DATABASE_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def _empty_after(_schema):
    """Empty every table once the test (and every app it used) is done."""
    yield
    empty_tables(_schema)


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
    dispose(app)


@pytest.fixture
def make_app(environ, _empty_after):
    """Build apps of their own on the test database (several make 'several instances'); rows are wiped after."""
    apps = []

    def make(**overrides):
        app = build_app(environ, **overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        dispose(app)


@pytest.fixture(scope="session")
def _shared_app(environ, _schema):
    """The app of the default test config, built once: what `app` is unless a module overrides it."""
    app = build_app(environ)
    yield app
    dispose(app)


@pytest.fixture
def app(_shared_app, _empty_after):
    """The shared app, its per-app stores fresh; a test that changes its config or jobs fails.

    Such a test builds its own app with make_app(...) instead.
    """
    app = _shared_app
    limiter.init_app(app)  # a new in-memory store: no counts from earlier tests (nor another app's Redis)
    throttle.init_app(app)
    worker = app.extensions[background.EXTENSION]
    # A shallow copy: flask-smorest fills its spec options in on first use, which is no test's doing.
    config, jobs, interval = dict(app.config), list(worker.jobs), worker.interval
    yield app
    changed = sorted(key for key in config.keys() | app.config.keys() if config.get(key) != app.config.get(key))
    app.config.clear()
    app.config.update(config)
    touched = worker.jobs != jobs or worker.interval != interval
    worker.jobs[:], worker.interval = jobs, interval
    assert not changed, f"the test changed the shared app's config ({', '.join(changed)}): use make_app(...)"
    assert not touched, "the test changed the shared app's background work: use make_app(...)"


@pytest.fixture
def client(app):
    """A test client of its own: no cookies from another test."""
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


# Three people for the tests of lists, activity, webhooks and streams (each an id, name and Authorization
# headers): they use the `client` of the test asking, so a module's own client fixture (another app) serves.
@pytest.fixture
def ada(client):
    return person(client, "Ada")


@pytest.fixture
def ben(client):
    return person(client, "Ben")


@pytest.fixture
def cal(client):
    return person(client, "Cal")
