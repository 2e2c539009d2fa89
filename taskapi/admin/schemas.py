"""Request and response bodies and query parameters of /api/v1/admin."""

from marshmallow import EXCLUDE, fields, validate

from taskapi.auth.models import EMAIL_MAX, NAME_MAX, Role
from taskapi.schemas import NamedEnum, PageQuerySchema, PageSchema, StrictBoolean, Text
from taskapi.serializers import Schema


class AdminUserSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    email = fields.String(required=True, metadata={"example": "ada@example.com"})
    name = fields.String(required=True, metadata={"example": "Ada"})
    role = NamedEnum(Role, "Role", required=True)
    disabled = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True, format="iso")
    last_login_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    task_count = fields.Integer(required=True, metadata={
        "description": "How many live tasks the lists the user owns hold."})


class AdminUserPageSchema(PageSchema):
    items = fields.List(fields.Nested(AdminUserSchema), required=True)


class AdminUserQuerySchema(PageQuerySchema):
    class Meta:
        unknown = EXCLUDE

    q = Text(validate=validate.Length(max=EMAIL_MAX),
             metadata={"description": "Part of the email or name, any case."})
    role = NamedEnum(Role, "Role")
    disabled = fields.Boolean(truthy={"true"}, falsy={"false"}, metadata={"description": "`true` or `false`."})


class AdminUserChangeSchema(Schema):
    name = Text(validate=validate.Length(max=NAME_MAX))
    role = NamedEnum(Role, "Role")
    disabled = StrictBoolean()
