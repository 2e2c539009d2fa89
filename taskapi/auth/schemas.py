"""Request and response bodies of /api/v1/auth."""

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from taskapi.auth.models import EMAIL_MAX, NAME_MAX
from taskapi.schemas import Text


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be only whitespace.")


def Password(**kwargs):  # noqa: N802 - a field factory reads like a field class
    """8–128 characters, every one significant (never trimmed)."""
    return Text(required=True, validate=[validate.Length(8, 128), _not_blank], load_only=True, **kwargs)


class EmailSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX))

    @pre_load
    def normalise_email(self, data, **kwargs):
        if isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip().lower()}
        return data


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
    created_at = fields.AwareDateTime(required=True, format="iso")


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime (s).", "example": 900})
    user = fields.Nested(UserSchema, required=True)
