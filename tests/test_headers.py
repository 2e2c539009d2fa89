"""X-Request-ID, security headers and CORS on every answer."""

import pytest

from tests.helpers.api import assert_error

ORIGIN = "http://localhost:5173"


def test_request_id_is_echoed_when_valid(client):
    response = client.get("/health/live", headers={"X-Request-ID": "abc.DEF_123-x"})
    assert response.headers["X-Request-ID"] == "abc.DEF_123-x"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "semi;colon", "ünicode"])
def test_request_id_is_generated_when_invalid(client, bad):
    response = client.get("/health/live", headers={"X-Request-ID": bad})
    generated = response.headers["X-Request-ID"]
    assert generated != bad and 1 <= len(generated) <= 64


def test_request_id_is_generated_when_absent_and_in_errors(client):
    response = client.get("/nope")
    body = assert_error(response, 404, "not_found")
    assert body["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", ["/", "/health/live", "/nope", "/api/v1/auth/me"])
def test_security_headers_on_every_answer(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers


def test_auth_answers_are_not_cached(client):
    assert client.get("/api/v1/auth/me").headers["Cache-Control"] == "no-store"
    assert client.post("/api/v1/auth/login", json={}).headers["Cache-Control"] == "no-store"


def test_hsts_in_production_config(make_app):
    response = make_app(HSTS=True).test_client().get("/health/live")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_preflight_allows_contract_headers(make_app):
    client = make_app(CORS_ORIGINS=[ORIGIN]).test_client()
    response = client.options("/api/v1/tasks", headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-ID",
    })
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key", "x-request-id"} <= allowed
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


def test_cors_exposes_contract_headers(make_app):
    client = make_app(CORS_ORIGINS=[ORIGIN]).test_client()
    response = client.get("/health/live", headers={"Origin": ORIGIN})
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"etag", "location", "x-request-id", "retry-after", "www-authenticate"}


def test_cors_refuses_unconfigured_origin(make_app):
    client = make_app(CORS_ORIGINS=[ORIGIN]).test_client()
    response = client.get("/health/live", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origins_configured_allows_none(make_app):
    client = make_app(CORS_ORIGINS=[]).test_client()
    response = client.get("/health/live", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def vary(response):
    return {value.strip().lower() for value in response.headers.get("Vary", "").split(",") if value.strip()}


@pytest.mark.parametrize("origins", [[ORIGIN], [ORIGIN, "https://app.example.com"]])
@pytest.mark.parametrize("origin", [ORIGIN, "http://evil.example", None])
def test_vary_origin_whenever_origins_are_configured(make_app, origins, origin):
    # The answer depends on Origin: CORS headers for an allowed one, none for another or for none at all.
    client = make_app(CORS_ORIGINS=origins).test_client()
    headers = {"Origin": origin} if origin else {}
    for response in (client.get("/health/live", headers=headers), client.get("/nope", headers=headers),
                     client.options("/api/v1/tasks", headers={**headers, "Access-Control-Request-Method": "GET"})):
        assert "origin" in vary(response), (origin, dict(response.headers))
        assert response.headers.get_all("Vary") == [response.headers["Vary"]]  # one header, not repeated


def test_no_vary_origin_without_origins(make_app):
    client = make_app(CORS_ORIGINS=[]).test_client()
    assert "origin" not in vary(client.get("/health/live", headers={"Origin": ORIGIN}))


def test_vary_origin_joins_a_vary_the_answer_already_has(make_app):
    app = make_app(CORS_ORIGINS=[ORIGIN])

    @app.get("/negotiated")
    def negotiated():
        return "", 204, {"Vary": "Accept-Encoding"}

    assert vary(app.test_client().get("/negotiated", headers={"Origin": ORIGIN})) == {"accept-encoding", "origin"}
