"""Request and response bodies of /api/v1/auth."""

import unicodedata

from marshmallow import ValidationError, fields, pre_load, validate, validates

from taskapi.auth.events import EVENTS
from taskapi.auth.models import EMAIL_MAX, NAME_MAX, Role
from taskapi.auth.personal_tokens import SCOPES
from taskapi.schemas import NamedEnum, PageSchema, Text, one_of
from taskapi.serializers import Schema


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be only whitespace.")


def Password(**kwargs):  # noqa: N802 - a field factory reads like a field class
    """8–128 characters, every one significant (never trimmed)."""
    return Text(required=True, validate=[validate.Length(8, 128), _not_blank], load_only=True, **kwargs)


# Control, format (zero-width and direction marks), private-use, surrogate, unassigned, and space
# characters: invisible or look-alike inside an address, so one address could pose as another.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zs", "Zl", "Zp"}


def normalise_email(email):
    """Trimmed, NFKC (a fullwidth 'ｖ' is a 'v'), lowercase: one account per address however it is typed."""
    return unicodedata.normalize("NFKC", email.strip()).lower()


class EmailSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX))

    @pre_load
    def normalise_email(self, data, **kwargs):
        if isinstance(data.get("email"), str):
            data = {**data, "email": normalise_email(data["email"])}
        return data

    @validates("email")
    def no_hidden_characters(self, value, **kwargs):
        if any(unicodedata.category(character) in HIDDEN_CATEGORIES for character in value):
            raise ValidationError("Must not contain invisible or control characters.")


class RegisterSchema(EmailSchema):
    password = Password()
    name = Text(load_default="", validate=validate.Length(max=NAME_MAX))


class LoginSchema(EmailSchema):
    # Any length is accepted here, so a login never says more than "incorrect".
    password = Text(required=True, load_only=True)


class LogoutSchema(Schema):
    body_optional = True  # read by taskapi.api.JsonBodyParser
    refresh_token = Text(load_default=None, allow_none=True)


class PasswordResetSchema(EmailSchema):
    pass


class PasswordResetConfirmSchema(Schema):
    token = Text(required=True, load_only=True, validate=validate.Length(max=1000),
                 metadata={"description": "The token from the reset link."})
    new_password = Password()


class MessageSchema(Schema):
    message = fields.String(required=True)


class ProfileSchema(Schema):
    name = Text(required=True, validate=validate.Length(max=NAME_MAX))


class PasswordChangeSchema(Schema):
    current_password = Text(required=True, load_only=True)
    new_password = Password()


class DeleteAccountSchema(Schema):
    password = Text(required=True, load_only=True)


class UserSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    email = fields.String(required=True, metadata={"example": "ada@example.com"})
    name = fields.String(required=True, metadata={"example": "Ada"})
    role = NamedEnum(Role, "Role", required=True)
    created_at = fields.AwareDateTime(required=True, format="iso")


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, **one_of("TokenType", ["Bearer"]))
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime (s).", "example": 900})
    user = fields.Nested(UserSchema, required=True)


class SessionSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 3})
    created_at = fields.AwareDateTime(required=True, format="iso")
    last_used_at = fields.AwareDateTime(required=True, format="iso",
                                        metadata={"description": "The last login or refresh."})
    ip = fields.String(required=True, allow_none=True, metadata={"example": "203.0.113.7"})
    user_agent = fields.String(required=True, allow_none=True, metadata={"description": "At most 255 characters."})
    current = fields.Boolean(required=True, metadata={"description": "The session of the token that asks."})


class SessionListSchema(Schema):
    items = fields.List(fields.Nested(SessionSchema), required=True)


class EventSchema(Schema):
    id = fields.Integer(required=True)
    event = fields.String(required=True, **one_of("EventName", EVENTS))
    created_at = fields.AwareDateTime(required=True, format="iso")
    ip = fields.String(required=True, allow_none=True)
    user_agent = fields.String(required=True, allow_none=True)
    count = fields.Integer(required=True, metadata={"description": (
        "How many times it happened: 1, except for `login_failed`, `login_throttled` and "
        "`password_reset_requested`, which are one entry per hour counting every occurrence; "
        "`created_at`, `ip` and `user_agent` are then those of the latest.")})


class EventPageSchema(PageSchema):
    items = fields.List(fields.Nested(EventSchema), required=True)


class ExportSchema(Schema):
    exported_at = fields.AwareDateTime(required=True, format="iso")
    user = fields.Nested(UserSchema, required=True)
    # By name (marshmallow's class registry): the tasks area defines it, and accounts import nothing of tasks.
    tasks = fields.List(fields.Nested("ExportedTaskSchema"), required=True, metadata={
        "description": "The tasks of the lists the user owns, the trash's too."})
    lists = fields.List(fields.Nested("ExportedListSchema"), required=True, metadata={
        "description": "The lists the user owns."})
    memberships = fields.List(fields.Nested("MembershipExportSchema"), required=True, metadata={
        "description": "Every list the user is a member of, with their role."})
    sessions = fields.List(fields.Nested(SessionSchema), required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


class PersonalTokenCreateSchema(Schema):
    name = Text(required=True, validate=[validate.Length(1, NAME_MAX), _not_blank],
                metadata={"example": "backup script"})
    scopes = fields.List(fields.String(**one_of("TokenScope", SCOPES)), required=True,
                         validate=validate.Length(1, len(SCOPES)), metadata={"example": ["tasks:read"]})
    expires_in_days = fields.Integer(required=True, validate=validate.Range(1, 365), metadata={"example": 90})
    list_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1), metadata={
        "description": "The one list the token reaches (any other list and its tasks are 404 to it); "
                       "omitted or null: every list of yours."})


class PersonalTokenSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 7})
    name = fields.String(required=True)
    scopes = fields.List(fields.String(**one_of("TokenScope", SCOPES)), required=True)
    list_id = fields.Integer(required=True, allow_none=True)
    prefix = fields.String(required=True, metadata={"description": "The token's first 12 characters.",
                                                    "example": "tapi_3kTMd9Q"})
    created_at = fields.AwareDateTime(required=True, format="iso")
    expires_at = fields.AwareDateTime(required=True, format="iso")
    last_used_at = fields.AwareDateTime(required=True, format="iso", allow_none=True, metadata={
        "description": "Recorded at most once a minute (and whenever the address changes)."})
    last_used_ip = fields.String(required=True, allow_none=True, metadata={"example": "203.0.113.7"})


class NewPersonalTokenSchema(PersonalTokenSchema):
    token = fields.String(required=True, metadata={
        "description": "The token itself, shown only in this answer: send it as `Authorization: Bearer tapi_…`.",
        "example": "tapi_3kTMd9Q0pXn1Ue7GqWb2LhR8sYv4Zc6Jf5a0K2"})


class PersonalTokenListSchema(Schema):
    items = fields.List(fields.Nested(PersonalTokenSchema), required=True)
