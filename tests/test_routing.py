"""Every path is answered directly: no redirect, least of all one built from the client's headers."""

import pytest

from tests.helpers.api import assert_error

SPOOFED = {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}


@pytest.mark.parametrize("path", ["/api//v1/tasks", "//api/v1/tasks", "/api/v1//tasks", "/api/v1/tasks//",
                                  "/api/v1/auth//me", "/health//live"])
@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_repeated_slashes_are_404_never_a_redirect(make_app, auth, path, trusted_proxies):
    client = make_app(TRUSTED_PROXIES=trusted_proxies).test_client()
    response = client.get(path, headers={**auth, **SPOOFED})
    assert "Location" not in response.headers
    assert_error(response, 404, "not_found")


def test_no_route_of_the_app_answers_a_redirect(app, client, auth):
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<int:task_id>", "1").replace("<path:filename>", "swagger-ui.css")
        for variant in (path, path.rstrip("/") + "/", "/" + path[1:].replace("/", "//", 1)):
            for method in rule.methods - {"OPTIONS"}:
                response = client.open(variant, method=method, headers={**auth, **SPOOFED})
                assert not 300 <= response.status_code < 400, (method, variant, response.status_code)
                assert "Location" not in response.headers or response.status_code == 201


def test_a_trailing_slash_is_the_same_route(client, auth):
    assert client.get("/api/v1/tasks/", headers=auth).status_code == 200
    assert client.get("/health/live/").get_json() == {"status": "ok"}
