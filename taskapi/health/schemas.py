"""Schemas of the service routes."""

from marshmallow import fields

from taskapi.serializers import Schema


class IndexSchema(Schema):
    name = fields.String(metadata={"example": "taskapi"})
    version = fields.String(metadata={"example": "1.0.0"})
    docs = fields.String(metadata={"example": "/docs"})
    openapi = fields.String(metadata={"example": "/openapi.json"})


class ChecksSchema(Schema):
    database = fields.String(metadata={"enum": ["ok", "unavailable"]})


class HealthSchema(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    version = fields.String()
    timestamp = fields.DateTime(format="iso")
    checks = fields.Nested(ChecksSchema)


class LiveSchema(Schema):
    status = fields.String(metadata={"enum": ["ok"]})
