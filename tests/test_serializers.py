"""Compiled dumps answer exactly what marshmallow's own dump answers, for every schema the service answers with."""

import json
from datetime import UTC, datetime, timedelta

import marshmallow
import pytest
from marshmallow import fields, post_dump

from taskapi import serializers
from taskapi.admin.schemas import AdminUserPageSchema
from taskapi.auth.schemas import EventPageSchema, ExportSchema, SessionListSchema, TokenPairSchema, UserSchema
from taskapi.tasks.schemas import FeedSchema, TaskListSchema, TaskSchema, TrashListSchema
from tests.helpers.admin import USERS, make_admin
from tests.helpers.api import bearer, register
from tests.helpers.tasks import CHANGES, TASKS, TRASH, create

DUE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


def marshmallows_own(schema, obj, many=None):
    return marshmallow.Schema.dump(schema, obj, many=many)


@pytest.fixture
def answers(app, client):
    """What the service returned through every compiled schema, and the objects it dumped them from."""
    pair = make_admin(app, register(client))
    auth = bearer(pair["access_token"])
    create(client, auth, "Plain")
    create(client, auth, "Full", description="Every field", status="completed", priority="high", due_at=DUE,
           tags=["b", "A"])
    gone = create(client, auth, "Gone")
    client.delete(f"{TASKS}/{gone['id']}", headers=auth)
    return auth


@pytest.mark.parametrize("schema, path", [
    (TaskListSchema(), TASKS), (TrashListSchema(), TRASH), (FeedSchema(), CHANGES),
    (SessionListSchema(), "/api/v1/auth/sessions"), (EventPageSchema(), "/api/v1/auth/events"),
    (UserSchema(), "/api/v1/auth/me"), (ExportSchema(), "/api/v1/auth/me/export"), (AdminUserPageSchema(), USERS),
])
def test_a_compiled_dump_is_marshmallows_own(app, client, answers, monkeypatch, schema, path):
    """Dump what each route dumps both ways: the service's answers must not change."""
    seen = []
    original = serializers.Schema.dump

    def both(self, obj, *, many=None):
        compiled = original(self, obj, many=many)
        seen.append((type(self).__name__, compiled, marshmallows_own(self, obj, many)))
        return compiled

    monkeypatch.setattr(serializers.Schema, "dump", both)
    assert client.get(path, headers=answers).status_code == 200
    assert seen and all(compiled == own for _, compiled, own in seen)
    assert serializers._compiled(schema) is not None  # really compiled, not marshmallow's own


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


def test_schemas_it_cannot_compile_keep_marshmallows_dump():
    class WithHook(serializers.Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    class WithMethod(serializers.Schema):
        length = fields.Method("measure")

        def measure(self, obj):
            return len(obj["name"])

    assert serializers._compiled(WithHook()) is None and WithHook().dump({"name": "ada"}) == {"name": "ADA"}
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
