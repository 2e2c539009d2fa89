"""/openapi.json documents every route, its statuses and the envelope."""

import pytest

ENVELOPE_REF = "#/components/schemas/Error"


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_route_is_documented(app, spec):
    documented = {(path, method.upper()) for path, method, _ in _operations(spec)}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "docs_assets.docs_asset"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def test_bearer_security_scheme(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                   "bearerFormat": "JWT"}
    assert spec["paths"]["/api/v1/tasks"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/auth/login"]["post"]


def test_error_responses_use_the_envelope(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"status", "code", "message", "request_id"}
    for name in ("NOT_FOUND", "UNAUTHORIZED", "UNPROCESSABLE_ENTITY", "PRECONDITION_FAILED", "TOO_MANY_REQUESTS"):
        schema = spec["components"]["responses"][name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": ENVELOPE_REF}


def test_operations_list_their_statuses_and_a_summary(spec):
    for path, method, operation in _operations(spec):
        assert operation.get("summary"), (path, method)
        statuses = set(operation["responses"])
        assert "default" not in statuses, (path, method)
        if path.startswith("/api/"):
            assert {"500", "503"} <= statuses, (path, method)
        if operation.get("security"):
            assert "401" in statuses, (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, (path, method)


@pytest.mark.parametrize(
    "path, method, statuses",
    [
        ("/api/v1/tasks", "post", {"201", "409"}),
        ("/api/v1/tasks/{task_id}", "get", {"200", "304", "404"}),
        ("/api/v1/tasks/{task_id}", "patch", {"200", "404", "412"}),
        ("/api/v1/tasks/{task_id}", "delete", {"204", "404", "412"}),
        ("/api/v1/auth/login", "post", {"200", "401", "429"}),
        ("/api/v1/auth/register", "post", {"201", "409", "429"}),
        ("/health", "get", {"200", "503"}),
        ("/api/v1/auth/password-reset", "post", {"202", "400", "413", "415", "422", "429", "500", "503"}),
        ("/api/v1/auth/password-reset/confirm", "post", {"204", "400", "413", "415", "422", "429", "500", "503"}),
        ("/api/v1/auth/login", "post", {"403"}),
        ("/api/v1/auth/sessions", "get", {"200", "401"}),
        ("/api/v1/auth/sessions", "delete", {"204", "401"}),
        ("/api/v1/auth/sessions/{session_id}", "delete", {"204", "401", "404"}),
        ("/api/v1/auth/events", "get", {"200", "401", "422"}),
        ("/api/v1/auth/me/export", "get", {"200", "401"}),
        ("/api/v1/admin/users", "get", {"200", "401", "403", "422"}),
        ("/api/v1/admin/users/{user_id}", "get", {"200", "401", "403", "404"}),
        ("/api/v1/admin/users/{user_id}", "patch", {"200", "401", "403", "404", "422"}),
        ("/api/v1/admin/users/{user_id}", "delete", {"204", "401", "403", "404", "422"}),
    ],
)
def test_route_specific_statuses(spec, path, method, statuses):
    assert statuses <= set(spec["paths"][path][method]["responses"])


def test_the_user_schema_has_the_role(spec):
    user = spec["components"]["schemas"]["User"]
    assert "role" in user["required"] and user["properties"]["role"]["enum"] == ["user", "admin"]


def test_the_export_documents_its_file_name(spec):
    headers = spec["paths"]["/api/v1/auth/me/export"]["get"]["responses"]["200"]["headers"]
    assert "Content-Disposition" in headers


HTTP_NAMES = {"408": "REQUEST_TIMEOUT", "414": "REQUEST_URI_TOO_LONG"}


def test_408_and_414_are_listed_where_the_service_can_answer_them(spec):
    # 408: an operation with a body (the part a client is slow to send); 414: one with query parameters.
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert ("408" in statuses) == ("requestBody" in operation), (path, method)
        has_query = any(parameter["in"] == "query" for parameter in operation.get("parameters", []))
        assert ("414" in statuses) == has_query, (path, method)
        for status in {"408", "414"} & statuses:
            assert operation["responses"][status] == {"$ref": f"#/components/responses/{HTTP_NAMES[status]}"}
    assert "414" in spec["paths"]["/api/v1/tasks"]["get"]["responses"]
    assert "408" in spec["paths"]["/api/v1/tasks"]["post"]["responses"]
