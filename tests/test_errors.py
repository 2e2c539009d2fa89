"""Every error, from every layer, answers the contract's envelope."""

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from taskapi.auth.models import User
from taskapi.extensions import db
from tests.helpers.api import assert_error, bearer


def users_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def test_unknown_route_is_404(client):
    assert_error(client.get("/no/such/route"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"   ", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b'{"email": "\\ud800@x.io", "password": "abcdefghij"}', "application/json"),
    ],
)
def test_bad_body_is_400_and_nothing_stored(app, client, body, content_type):
    response = client.post("/api/v1/auth/register", data=body, content_type=content_type)
    assert_error(response, 400, "bad_request")
    assert users_count(app) == 0


def test_missing_body_is_400(app, client):
    assert_error(client.post("/api/v1/auth/register"), 400, "bad_request")
    assert users_count(app) == 0


def test_non_json_content_type_is_415(app, client):
    response = client.post("/api/v1/auth/register", data="email=a@b.io&password=abcdefghij",
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")
    assert users_count(app) == 0


def test_body_over_limit_is_413(app, client):
    big = {"email": "ada@example.com", "password": "x" * 70_000}
    assert_error(client.post("/api/v1/auth/register", json=big), 413, "payload_too_large")
    assert users_count(app) == 0


def test_limit_is_configurable(make_app):
    app = make_app(MAX_CONTENT_LENGTH=100)
    response = app.test_client().post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "y" * 200})
    assert_error(response, 413, "payload_too_large")


def test_validation_error_is_422_by_location(app, client):
    response = client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "short", "extra": 1})
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email", "password", "extra"}
    assert all(isinstance(m, str) for msgs in body["errors"]["json"].values() for m in msgs)
    assert users_count(app) == 0


def test_unhandled_exception_is_500_without_details(make_app, caplog):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM users")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    record = next(r for r in caplog.records if r.exc_info)
    assert record.request_id == "boom-1"
    assert body["request_id"] == "boom-1"


def test_database_unreachable_is_503_and_process_keeps_serving(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody@127.0.0.1:1/none",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    client = app.test_client()
    assert_error(client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "whatever1"}),
                 503, "service_unavailable")
    assert client.get("/health/live").status_code == 200
    assert_error(client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "whatever1"}),
                 503, "service_unavailable")


def unavailable_counts(client):
    families = text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
    return {sample.labels["cause"]: sample.value for family in families for sample in family.samples
            if sample.name == "taskapi_service_unavailable_total"}


def test_a_503_says_why_in_the_log_and_counts_its_cause(make_app, caplog):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody:hunter2secret@127.0.0.1:1/none",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "whatever1"},
                    headers={"X-Request-ID": "down-1"})
    (record,) = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert record.request_id == "down-1" and record.cause == "connect"
    assert '"127.0.0.1", port 1 failed' in record.getMessage()
    assert "hunter2secret" not in record.getMessage()
    client.get("/api/v1/tasks", headers={"Authorization": "Bearer x"})  # no token check reaches the database
    client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "whatever1"})
    assert unavailable_counts(client) == {"database_connect": 2.0}


def test_a_full_connection_pool_is_503_pool_timeout(make_app, user):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.5})
    client = app.test_client()
    with app.app_context():
        held = db.engine.connect()  # the pool's only connection, busy elsewhere
        held.exec_driver_sql("SELECT 1")
        try:
            response = client.get("/api/v1/tasks", headers=bearer(user["access_token"]))
        finally:
            held.close()
    assert_error(response, 503, "service_unavailable")
    assert unavailable_counts(client) == {"database_pool_timeout": 1.0}
    assert client.get("/api/v1/tasks", headers=bearer(user["access_token"])).status_code == 200
