"""Request and response bodies of /api/v1/lists and /api/v1/invitations."""

from marshmallow import fields, pre_load, validate

from taskapi.auth.schemas import EmailSchema
from taskapi.lists.access import Permission
from taskapi.lists.models import NAME_MAX, Role
from taskapi.schemas import NamedEnum, PageSchema, Text, one_of
from taskapi.serializers import Schema

NOT_BLANK = {"pattern": r"\S"}


def MemberRole(**kwargs):  # noqa: N802 - a field factory reads like a field class
    return NamedEnum(Role, "MemberRole", **kwargs)


class ListSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 4})
    name = fields.String(required=True, metadata={"example": "Home"})
    inbox = fields.Boolean(required=True, metadata={"description": "The user's own inbox: never shared."})
    role = MemberRole(required=True, metadata={"description": "The caller's role."})
    permissions = fields.List(fields.String(**one_of("ListPermission", [str(p) for p in Permission])), required=True,
                              metadata={"description": "What the caller's role allows here."})
    member_count = fields.Integer(required=True, metadata={"example": 3})
    task_count = fields.Integer(required=True, attribute="task_count_live",
                                metadata={"description": "Live tasks (the trash not counted).", "example": 12})
    created_at = fields.AwareDateTime(required=True, format="iso")
    updated_at = fields.AwareDateTime(required=True, format="iso")
    version = fields.Integer(required=True, metadata={
        "example": 2, "description": "Grows with every change to the list, its members or its tasks."})


class ListPageSchema(PageSchema):
    items = fields.List(fields.Nested(ListSchema), required=True)


class ListWriteSchema(Schema):
    name = Text(required=True, validate=validate.Length(1, NAME_MAX), metadata=NOT_BLANK)

    @pre_load
    def trim_name(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            data = {**data, "name": data["name"].strip()}
        return data


class MemberUserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)


class MemberSchema(Schema):
    user = fields.Nested(MemberUserSchema, required=True)
    role = MemberRole(required=True)
    joined_at = fields.AwareDateTime(required=True, format="iso")


class MemberListSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema), required=True)


class RoleChangeSchema(Schema):
    role = MemberRole(required=True, metadata={"description": "owner (by the owner) hands the list over."})


class InvitationCreateSchema(EmailSchema):
    role = MemberRole(required=True, metadata={"description": "Below owner; admin only by the owner."})


class AcceptedSchema(Schema):
    """An empty object: the same answer for every well-formed address."""


class ListInvitationSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    role = MemberRole(required=True)
    created_at = fields.AwareDateTime(required=True, format="iso")
    expires_at = fields.AwareDateTime(required=True, format="iso")


class ListInvitationListSchema(Schema):
    items = fields.List(fields.Nested(ListInvitationSchema), required=True)


class ListRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class MyInvitationSchema(Schema):
    id = fields.Integer(required=True)
    list = fields.Nested(ListRefSchema, required=True)
    role = MemberRole(required=True)
    invited_by = fields.Nested(UserRefSchema, required=True, allow_none=True)
    expires_at = fields.AwareDateTime(required=True, format="iso")


class MyInvitationListSchema(Schema):
    items = fields.List(fields.Nested(MyInvitationSchema), required=True)


class MembershipExportSchema(Schema):
    list = fields.Nested(ListRefSchema, required=True)
    role = MemberRole(required=True)


class ExportedListSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    inbox = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True, format="iso")
