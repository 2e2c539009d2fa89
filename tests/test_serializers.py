"""Compiled dumps answer exactly what marshmallow's own dump answers.

Every dump of every test is held to marshmallow's (the autouse fixture in tests/conftest.py);
here: that check itself, that every schema the service answers with is really compiled, and the
kinds of value and schema the rest of the suite may not meet.
"""

import json
from datetime import UTC, datetime

import marshmallow
import pytest
from marshmallow import fields, post_dump, post_load, pre_dump, validates_schema

from taskapi import serializers
from taskapi.auth.schemas import TokenPairSchema
from taskapi.tasks.schemas import TaskSchema
from tests.helpers.api import register
from tests.helpers.serializers import same_data

# The error envelope is documented by a schema, but the error handler writes it itself, never dumping it.
DOCUMENTED_ONLY = {"ErrorSchema"}


def marshmallows_own(schema, obj, many=None):
    return marshmallow.Schema.dump(schema, obj, many=many)


def schema_classes(base=serializers.Schema):
    for cls in base.__subclasses__():
        yield cls
        yield from schema_classes(cls)


def response_schema_names(spec):
    """The components every documented answer (of any operation and status) refers to."""
    names = set()
    for operations in spec["paths"].values():
        for operation in (value for value in operations.values() if isinstance(value, dict)):  # not `parameters`
            for response in operation.get("responses", {}).values():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                for content in response.get("content", {}).values():
                    names.add(content["schema"].get("$ref", "").rsplit("/", 1)[-1])
    return names - {""}


def test_every_schema_the_service_answers_with_is_compiled(client):
    """A schema that stops compiling (a new kind of field, a hook) would fall back to marshmallow's slow dump."""
    documented = response_schema_names(client.get("/openapi.json").get_json())
    # flask-smorest names a schema's component after its class, less "Schema".
    answering = {cls for cls in schema_classes() if cls.__name__.removesuffix("Schema") in documented}
    assert {cls.__name__.removesuffix("Schema") for cls in answering} == documented  # found them all
    for cls in answering - {cls for cls in answering if cls.__name__ in DOCUMENTED_ONLY}:
        assert serializers._compiled(cls()) is not None, cls.__name__


def test_a_dump_unlike_marshmallows_fails_the_test():
    """The autouse check can fail: a compiled dump that answers otherwise is an AssertionError."""
    schema = TaskSchema()
    assert serializers._compiled(schema) is not None
    schema._compiled_dump = lambda obj: {"id": True}  # what a wrong conversion of id=1 would give
    with pytest.raises(AssertionError, match="TaskSchema"):
        schema.dump({"id": 1})


def test_same_data_tells_json_types_apart():
    assert same_data({"a": [1, "x", None]}, {"a": [1, "x", None]})
    assert not same_data({"a": 1}, {"a": True}) and not same_data([1], [1.0]) and not same_data({"a": 1}, {"b": 1})


def test_a_token_pair_dumps_alike(app, client):
    pair = register(client)
    from taskapi.auth.models import User
    from taskapi.extensions import db

    with app.app_context():
        user = db.session.get(User, pair["user"]["id"])
        body = {**pair, "user": user}
        assert TokenPairSchema().dump(body) == marshmallows_own(TokenPairSchema(), body)


def test_a_task_dumps_as_marshmallow_does_with_every_kind_of_value():
    class Row:
        id, title, description, status, priority = 7, "Write", None, None, None
        due_at = datetime(2026, 12, 1, 17, tzinfo=UTC)
        completed_at, created_at = None, datetime(2026, 11, 22, 9, 30, 0, 123456, tzinfo=UTC)
        updated_at, version, tags, position = created_at, 3, ["a", "b"], "a0"

    assert TaskSchema().dump(Row()) == marshmallows_own(TaskSchema(), Row())
    assert TaskSchema(many=True).dump([Row(), Row()]) == marshmallows_own(TaskSchema(), [Row(), Row()], many=True)


class Before(serializers.Schema):
    name = fields.String()

    @pre_dump
    def shout(self, obj, **kwargs):
        return {"name": obj["name"].upper()}


class After(serializers.Schema):
    name = fields.String()

    @post_dump
    def shout(self, data, **kwargs):
        return {key: value.upper() for key, value in data.items()}


class LoadHooksOnly(serializers.Schema):
    name = fields.String()

    @validates_schema
    def check(self, data, **kwargs):
        pass

    @post_load
    def made(self, data, **kwargs):
        return data


def test_dump_hooks_are_found_where_marshmallow_keeps_them():
    """has_dump_hooks reads marshmallow's private Schema._hooks: this fails first if marshmallow moves them."""
    assert serializers.has_dump_hooks(Before()) and serializers.has_dump_hooks(After())
    assert not serializers.has_dump_hooks(LoadHooksOnly())


def test_schemas_with_dump_hooks_keep_marshmallows_dump():
    assert serializers._compiled(Before()) is None and Before().dump({"name": "ada"}) == {"name": "ADA"}
    assert serializers._compiled(After()) is None and After().dump({"name": "ada"}) == {"name": "ADA"}
    # Hooks of loading change no dump: such a schema compiles.
    assert serializers._compiled(LoadHooksOnly()) is not None and LoadHooksOnly().dump({"name": "ada"}) == {
        "name": "ada"}


def test_schemas_with_fields_it_cannot_compile_keep_marshmallows_dump():
    class WithMethod(serializers.Schema):
        length = fields.Method("measure")

        def measure(self, obj):
            return len(obj["name"])

    assert serializers._compiled(WithMethod()) is None and WithMethod().dump({"name": "ada"}) == {"length": 3}


def test_missing_attributes_are_left_out_or_defaulted_as_marshmallow_does():
    class Partial(serializers.Schema):
        kept = fields.String()
        absent = fields.String()
        defaulted = fields.Integer(dump_default=5)

    assert Partial().dump({"kept": "x"}) == marshmallows_own(Partial(), {"kept": "x"}) == {"kept": "x", "defaulted": 5}


def test_json_answers_are_compact_sorted_and_take_any_integer(app):
    with app.test_request_context():
        from flask import jsonify

        assert jsonify({"b": 1, "a": ["é", None]}).get_data() == '{"a":["é",null],"b":1}\n'.encode()
        assert jsonify({"b": 1, "a": [2**70]}).get_data() == b'{"a":[1180591620717411303424],"b":1}\n'
        assert json.loads(app.json.dumps({"z": 1, "a": 2**70})) == {"z": 1, "a": 2**70}
