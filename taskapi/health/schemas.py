"""Schemas of the service routes."""

from marshmallow import fields

from taskapi.schemas import one_of
from taskapi.serializers import Schema

HEALTH = ("ok", "unavailable")


class IndexSchema(Schema):
    name = fields.String(required=True, metadata={"example": "taskapi"})
    version = fields.String(required=True, metadata={"example": "1.0.0"})
    docs = fields.String(required=True, metadata={"example": "/docs"})
    openapi = fields.String(required=True, metadata={"example": "/openapi.json"})


class ChecksSchema(Schema):
    database = fields.String(required=True, **one_of("HealthStatus", HEALTH))


class HealthSchema(Schema):
    status = fields.String(required=True, **one_of("HealthStatus", HEALTH))
    version = fields.String(required=True)
    timestamp = fields.DateTime(required=True, format="iso")
    checks = fields.Nested(ChecksSchema, required=True)


class LiveSchema(Schema):
    status = fields.String(required=True, **one_of("LiveStatus", ["ok"]))
