"""/openapi.json documents every route, its statuses and the envelope, and generates clean typed clients."""

import ast
import re
from pathlib import Path

import pytest

from taskapi.errors import CODES, DEFAULTS

ENVELOPE_REF = "#/components/schemas/Error"
PACKAGE = Path(__file__).resolve().parents[1] / "taskapi"


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def resolve(spec, node):
    """A $ref followed to what it names."""
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def parameters(spec, operation):
    return [resolve(spec, parameter) for parameter in operation.get("parameters", [])]


def schema_of(spec, name):
    return spec["components"]["schemas"][name]


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
    # Either an access token or a personal access token with the scope the extension names.
    assert spec["components"]["securitySchemes"]["personalToken"]["bearerFormat"] == "tapi_"
    assert spec["paths"]["/api/v1/tasks"]["get"]["security"] == [{"bearerAuth": []}, {"personalToken": []}]
    assert spec["paths"]["/api/v1/tasks"]["get"]["x-token-scope"] == "tasks:read"
    assert spec["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
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
        ("/api/v1/auth/me", "delete", {"204", "401", "422", "429"}),
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
    assert "role" in user["required"] and resolve(spec, user["properties"]["role"])["enum"] == ["user", "admin"]


def test_the_export_documents_its_file_name(spec):
    headers = spec["paths"]["/api/v1/auth/me/export"]["get"]["responses"]["200"]["headers"]
    assert "Content-Disposition" in headers


HTTP_NAMES = {"408": "REQUEST_TIMEOUT", "414": "REQUEST_URI_TOO_LONG"}


def test_408_and_414_are_listed_where_the_service_can_answer_them(spec):
    # 408: an operation with a body (the part a client is slow to send); 414: one with query parameters.
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert ("408" in statuses) == ("requestBody" in operation), (path, method)
        has_query = any(parameter["in"] == "query" for parameter in parameters(spec, operation))
        assert ("414" in statuses) == has_query, (path, method)
        for status in {"408", "414"} & statuses:
            assert operation["responses"][status] == {"$ref": f"#/components/responses/{HTTP_NAMES[status]}"}
    assert "414" in spec["paths"]["/api/v1/tasks"]["get"]["responses"]
    assert "408" in spec["paths"]["/api/v1/tasks"]["post"]["responses"]


# -- typed clients: what a generator (openapi-typescript, @hey-api/openapi-ts) needs ---------------


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def test_every_enum_is_a_named_string_schema(spec):
    # One generated type per enum: a value read from one answer type-checks where another request takes it.
    enums = {path: node for path, node in _walk(spec) if "enum" in node}
    assert [path for path in enums if path[:2] != ("components", "schemas") or len(path) != 3] == []
    assert {path[2]: node["type"] for path, node in enums.items()} == dict.fromkeys(
        ["ErrorCode", "TaskStatus", "TaskPriority", "TaskSort", "Role", "TokenType", "EventName", "HealthStatus",
         "LiveStatus", "MemberRole", "ListPermission", "TokenScope", "ActivityAction", "WebhookEventFilter"],
        "string")


def _query(spec, path, method):
    return {parameter["name"]: parameter["schema"] for parameter in parameters(spec, spec["paths"][path][method])
            if parameter["in"] == "query"}


def test_task_status_and_priority_are_one_type_in_answers_bodies_and_queries(spec):
    for name in ("Task", "TrashedTask", "ExportedTask", "TaskWrite", "TaskCreate"):
        properties = schema_of(spec, name)["properties"]
        assert (properties["status"], properties["priority"]) == (ref("TaskStatus"), ref("TaskPriority")), name
    query = _query(spec, "/api/v1/tasks", "get")
    assert query["status"]["items"] == ref("TaskStatus") and query["priority"]["items"] == ref("TaskPriority")
    assert query["sort"]["allOf"] == [ref("TaskSort")]


def test_role_is_one_type_in_answers_bodies_and_queries(spec):
    for name in ("User", "AdminUser", "AdminUserChange"):
        assert schema_of(spec, name)["properties"]["role"] == ref("Role"), name
    assert _query(spec, "/api/v1/admin/users", "get")["role"] == ref("Role")


def test_query_arrays_have_typed_items(spec):
    arrays = [(path, method, name, schema) for path, method, _ in _operations(spec)
              for name, schema in _query(spec, path, method).items() if schema.get("type") == "array"]
    assert len(arrays) >= 3
    assert [(path, name) for path, _, name, schema in arrays if "type" not in resolve(spec, schema["items"])] == []


def _codes_in_the_source():
    """Every code the package raises: defaults, ApiError(status, "code" | *REASON), token_error("code"), and
    the domain's LimitReachedError("code", …)."""
    codes = {code for code, _ in DEFAULTS.values()}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        reasons = {target.id: node.value.elts[0].value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and isinstance(node.value, ast.Tuple) and node.value.elts
                   and isinstance(node.value.elts[0], ast.Constant) for target in node.targets
                   if isinstance(target, ast.Name)}
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            name = getattr(call.func, "id", getattr(call.func, "attr", None))
            if name == "ApiError" and len(call.args) > 1:
                code = call.args[1]
                if isinstance(code, ast.Starred):
                    codes.add(reasons[code.value.id])
                elif isinstance(code, ast.Constant) and code.value is not None:
                    codes.add(code.value)
            elif name in ("token_error", "_token_error", "LimitReachedError") and isinstance(call.args[0],
                                                                                              ast.Constant):
                codes.add(call.args[0].value)
            if name == "ApiError":
                codes.update(keyword.value.value for keyword in call.keywords
                             if keyword.arg == "code" and isinstance(keyword.value, ast.Constant))
    return codes


def test_the_error_code_is_the_enum_of_every_code_the_service_answers(spec):
    found = _codes_in_the_source()
    assert {"invalid_credentials", "too_many_tasks", "idempotency_conflict", "token_expired", "email_taken",
            "invalid_reset_token", "account_disabled", "wrong_token_type"} <= found  # the scan reads what it should
    assert schema_of(spec, "Error")["properties"]["code"] == ref("ErrorCode")
    assert sorted(schema_of(spec, "ErrorCode")["enum"]) == sorted(found) == sorted(CODES)


def test_validation_errors_are_typed_by_location(spec):
    errors = schema_of(spec, "Error")["properties"]["errors"]
    assert errors["allOf"] == [ref("ValidationErrors")]
    by_location = schema_of(spec, "ValidationErrors")
    assert by_location["type"] == "object" and "required" not in by_location
    messages = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    for location in ("json", "query", "headers", "path"):
        assert {key: by_location["properties"][location][key] for key in messages} == messages, location


def test_body_fields_with_a_default_are_optional(spec):
    # openapi-typescript (defaultNonNullable) makes a property with a `default` required.
    assert "required" not in schema_of(spec, "Logout")
    assert set(schema_of(spec, "Register")["required"]) == {"email", "password"}
    assert "Default" in schema_of(spec, "Register")["properties"]["name"]["description"]
    defaults = [path for path, node in _walk(spec["components"]["schemas"]) if "default" in node]
    assert defaults == []


def test_every_operation_has_a_readable_unique_operation_id(spec):
    ids = {(path, method): operation.get("operationId") for path, method, operation in _operations(spec)}
    assert [key for key, value in ids.items() if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", value or "")] == []
    assert len(set(ids.values())) == len(ids)
    assert {ids[key]: key for key in ids}.items() >= {
        "login": ("/api/v1/auth/login", "post"),
        "register": ("/api/v1/auth/register", "post"),
        "refreshToken": ("/api/v1/auth/refresh", "post"),
        "listTasks": ("/api/v1/tasks", "get"),
        "createTask": ("/api/v1/tasks", "post"),
        "getTask": ("/api/v1/tasks/{task_id}", "get"),
        "updateTask": ("/api/v1/tasks/{task_id}", "patch"),
        "replaceTask": ("/api/v1/tasks/{task_id}", "put"),
        "deleteTask": ("/api/v1/tasks/{task_id}", "delete"),
        "toggleTask": ("/api/v1/tasks/{task_id}/toggle", "patch"),
        "moveTask": ("/api/v1/tasks/{task_id}/move", "post"),
        "getMe": ("/api/v1/auth/me", "get"),
        "getHealth": ("/health", "get"),
        "getOpenApiDocument": ("/openapi.json", "get"),
    }.items()


def test_refresh_takes_the_refresh_token_by_its_own_scheme(spec):
    scheme = spec["components"]["securitySchemes"]["refreshToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and "refresh token" in scheme["description"]
    users = [(path, method) for path, method, operation in _operations(spec)
             if {"refreshToken": []} in operation.get("security", [])]
    assert users == [("/api/v1/auth/refresh", "post")]
    assert spec["paths"]["/api/v1/auth/refresh"]["post"]["security"] == [{"refreshToken": []}]


def test_every_operation_takes_an_optional_x_request_id(spec):
    for path, method, operation in _operations(spec):
        headers = {parameter["name"]: parameter for parameter in parameters(spec, operation)
                   if parameter["in"] == "header"}
        assert headers.get("X-Request-ID", {}).get("required") is False, (path, method)


def test_token_type_is_the_constant_bearer(spec):
    assert schema_of(spec, "TokenPair")["properties"]["token_type"] == ref("TokenType")
    assert schema_of(spec, "TokenType") == {"type": "string", "enum": ["Bearer"]}


def test_service_answers_name_their_fields_required(spec):
    for name, fields in {"Index": {"name", "version", "docs", "openapi"},
                         "Health": {"status", "version", "timestamp", "checks"},
                         "Checks": {"database"}, "Live": {"status"}}.items():
        assert set(schema_of(spec, name)["required"]) == fields, name
    assert schema_of(spec, "Health")["properties"]["status"] == ref("HealthStatus")


def test_the_document_is_described_as_an_object(spec):
    ok = spec["paths"]["/openapi.json"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["type"] == "object"


def test_every_named_schema_is_used(spec):
    used = {node["$ref"].rsplit("/", 1)[1] for _, node in _walk(spec) if isinstance(node.get("$ref"), str)}
    assert sorted(set(spec["components"]["schemas"]) - used) == []


def test_the_server_is_the_one_serving_the_document(spec):
    assert spec["servers"] == [{"url": "/"}]


def test_304_has_no_body(spec):
    not_modified = [operation["responses"]["304"] for _, _, operation in _operations(spec)
                    if "304" in operation["responses"]]
    assert not_modified and all("content" not in resolve(spec, response) for response in not_modified)


def test_401_documents_the_bearer_challenge(spec):
    header = spec["components"]["responses"]["UNAUTHORIZED"]["headers"]["WWW-Authenticate"]
    assert 'Bearer realm="taskapi", error="invalid_token"' in header["description"]
    assert "invalid_credentials" in header["description"]
    for path, method, operation in _operations(spec):
        if "401" in operation["responses"]:
            assert operation["responses"]["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}, (path, method)


def test_the_activity_routes_are_documented_with_their_actions(spec):
    for path in ("/api/v1/lists/{list_id}/activity", "/api/v1/tasks/{task_id}/activity"):
        operation = spec["paths"][path]["get"]
        assert operation["x-token-scope"] == "tasks:read" and operation["summary"]
        assert {"200", "404", "422"} <= set(operation["responses"]), path
        assert set(_query(spec, path, "get")) == {"limit", "cursor"}
    entry = schema_of(spec, "Activity")["properties"]
    assert entry["action"] == ref("ActivityAction")
    assert schema_of(spec, "ActivityAction")["enum"] == [
        "task.created", "task.updated", "task.completed", "task.reopened", "task.moved", "task.trashed",
        "task.restored", "task.deleted", "member.joined", "member.left", "member.removed", "member.role_changed",
        "invitation.sent", "invitation.withdrawn", "list.updated"]
