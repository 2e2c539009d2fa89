"""/openapi.json documents the v2 task operations: their bodies, queries, answers and every status."""

import pytest

from tests.test_openapi import parameters, resolve


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


@pytest.mark.parametrize(
    "path, method, statuses",
    [
        ("/api/v1/tasks", "patch", {"200", "400", "401", "404", "413", "415", "422"}),
        ("/api/v1/tasks", "get", {"200", "401", "422"}),
        ("/api/v1/tasks/changes", "get", {"200", "401", "410", "422"}),
        ("/api/v1/tasks/trash", "get", {"200", "401", "422"}),
        ("/api/v1/tasks/trash", "delete", {"204", "401"}),
        ("/api/v1/tasks/clear-completed", "post", {"200", "401"}),
        ("/api/v1/tasks/{task_id}/move", "post", {"200", "400", "401", "404", "412", "422"}),
        ("/api/v1/tasks/{task_id}/restore", "post", {"200", "401", "404"}),
        ("/api/v1/tags", "get", {"200", "401"}),
    ],
)
def test_v2_operations_list_their_statuses(spec, path, method, statuses):
    operation = spec["paths"][path][method]
    assert statuses <= set(operation["responses"]), set(operation["responses"])
    assert {"500", "503"} <= set(operation["responses"])
    assert operation["summary"] and operation["security"] == [{"bearerAuth": []}, {"personalToken": []}]


def test_the_410_answer_is_the_envelope(spec):
    gone = spec["paths"]["/api/v1/tasks/changes"]["get"]["responses"]["410"]
    assert gone == {"$ref": "#/components/responses/GONE"}
    schema = spec["components"]["responses"]["GONE"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}


def _query(spec, path, method):
    return [parameter for parameter in parameters(spec, spec["paths"][path][method]) if parameter["in"] == "query"]


def _parameters(spec, path, method):
    return {parameter["name"] for parameter in _query(spec, path, method)}


def test_queries_are_documented(spec):
    assert {"tag", "cursor", "sort", "limit", "offset"} <= _parameters(spec, "/api/v1/tasks", "get")
    assert {"since", "limit"} <= _parameters(spec, "/api/v1/tasks/changes", "get")
    assert {"limit", "offset"} <= _parameters(spec, "/api/v1/tasks/trash", "get")
    sort = next(p for p in _query(spec, "/api/v1/tasks", "get") if p["name"] == "sort")
    assert sort["schema"]["allOf"] == [{"$ref": "#/components/schemas/TaskSort"}]
    assert {"position", "-position"} <= set(resolve(spec, sort["schema"]["allOf"][0])["enum"])


def test_task_and_v2_schemas_are_named_and_complete(spec):
    schemas = spec["components"]["schemas"]
    assert {"tags", "position"} <= set(schemas["Task"]["required"])
    assert "position" not in schemas["TaskWrite"]["properties"] and "tags" in schemas["TaskWrite"]["properties"]
    assert set(schemas["TrashedTask"]["required"]) >= {"deleted_at", "tags", "position"}
    assert set(schemas["Feed"]["required"]) == {"changes", "deleted", "lists", "deleted_lists", "cursor", "has_more"}
    assert set(schemas["TaskBulkUpdate"]["required"]) == {"ids", "changes"}
    assert set(schemas["TaskMove"]["required"]) == {"after"}
    assert "next_cursor" in schemas["TaskList"]["required"]
    assert set(schemas["TagList"]["required"]) == {"items"}


def test_bodies_are_documented(spec):
    def body_of(path, method):
        return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    assert body_of("/api/v1/tasks", "patch").endswith("/TaskBulkUpdate")
    assert body_of("/api/v1/tasks/{task_id}/move", "post").endswith("/TaskMove")
