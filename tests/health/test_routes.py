"""GET /, /health, /health/live, /metrics and /docs."""

from datetime import datetime

from taskapi import __version__


def test_index_names_the_service(client):
    assert client.get("/").get_json() == {
        "name": "taskapi", "version": __version__, "docs": "/docs", "openapi": "/openapi.json",
    }


def test_health_queries_the_database(client):
    response = client.get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["checks"] == {"database": "ok"} and body["version"] == __version__
    assert datetime.fromisoformat(body["timestamp"]).utcoffset() is not None


def test_health_is_503_when_the_database_is_down(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody@127.0.0.1:1/none",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["checks"] == {"database": "unavailable"}
    assert set(body) == {"status", "version", "timestamp", "checks"}


def test_live_touches_no_database(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/health/live")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_paths_answer_with_and_without_trailing_slash(client):
    for path in ("/health", "/health/", "/health/live/", "/openapi.json/", "/docs/"):
        assert client.get(path).status_code == 200, path


def test_metrics_count_requests_by_route_and_status(make_app):
    client = make_app().test_client()  # an app of its own: its counts start at zero
    client.get("/health/live")
    client.get("/nope")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'taskapi_http_request_duration_seconds_count{method="GET",status="200",url_rule="/health/live"} 1.0' in text
    assert 'status="404"' in text
    assert "taskapi_http_request_duration_seconds_bucket" in text


def test_docs_page_serves_its_own_assets(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "/openapi.json" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.data) > 1000, asset
