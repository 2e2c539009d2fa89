"""docs/api.md, the project's own API guide, names every operation of /openapi.json, so the two cannot drift."""

from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def test_every_operation_of_the_document_is_in_the_guide(client):
    document = client.get("/openapi.json").get_json()
    guide = GUIDE.read_text()
    operations = [f"{method.upper()} {path}" for path, item in document["paths"].items()
                  for method in item if method in METHODS]
    assert len(operations) > 30
    assert [operation for operation in operations if f"`{operation}" not in guide] == []


def test_every_operation_id_is_in_the_guide(client):
    document = client.get("/openapi.json").get_json()
    guide = GUIDE.read_text()
    ids = [operation["operationId"] for item in document["paths"].values()
           for method, operation in item.items() if method in METHODS]
    assert [operation_id for operation_id in ids if f"`{operation_id}`" not in guide] == []


def test_every_error_code_the_schemas_name_is_in_the_guide():
    from taskapi.errors import DEFAULTS

    guide = GUIDE.read_text()
    codes = {code for code, _ in DEFAULTS.values()} - {"conflict"}  # a default no route answers with
    codes |= {"invalid_reset_token", "token_invalid", "token_expired", "token_revoked", "wrong_token_type",
              "invalid_credentials", "account_disabled", "email_taken", "idempotency_conflict", "too_many_tasks",
              "cursor_expired"}
    assert sorted(code for code in codes if f"`{code}`" not in guide) == []


def test_the_readme_points_at_the_guide_and_nothing_outside_the_repository():
    readme = (GUIDE.parents[1] / "README.md").read_text()
    assert "docs/api.md" in readme
    assert "CONTRACT.md" not in readme
