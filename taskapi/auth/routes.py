"""/api/v1/auth: register, login, refresh, logout, profile, password, reset, deletion."""

from flask import current_app
from flask_jwt_extended import current_user, get_jwt

from taskapi.api import Blueprint
from taskapi.auth import accounts, reset, tokens
from taskapi.auth.schemas import (
    DeleteAccountSchema,
    LoginSchema,
    LogoutSchema,
    MessageSchema,
    PasswordChangeSchema,
    PasswordResetConfirmSchema,
    PasswordResetSchema,
    ProfileSchema,
    RegisterSchema,
    TokenPairSchema,
    UserSchema,
)
from taskapi.extensions import limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts and tokens.")


def auth_rate_limit():
    return current_app.config["AUTH_RATE_LIMIT"]


rate_limited = limiter.limit(auth_rate_limit)


@blp.post("/register")
@rate_limited
@blp.body(RegisterSchema)
@blp.response(201, TokenPairSchema)
@blp.errors(409, 429, 500, 503)
def register(data):
    """Create an account and sign in."""
    return tokens.issue_pair(accounts.register(**data))


@blp.post("/login")
@rate_limited
@blp.body(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.errors(401, 429, 500, 503)
def login(data):
    """Exchange email and password for a token pair."""
    return tokens.issue_pair(accounts.authenticate(data["email"], data["password"]))


@blp.post("/refresh")
@rate_limited
@blp.authenticated(refresh=True)
@blp.response(200, TokenPairSchema)
@blp.errors(429, 500, 503)
def refresh():
    """Exchange a refresh token for a new pair; the one used is revoked."""
    return tokens.rotate(current_user, get_jwt())


@blp.post("/logout")
@blp.authenticated()
@blp.body(LogoutSchema, required=False)
@blp.response(204)
@blp.errors(500, 503)
def logout(data):
    """Revoke the access token, and the refresh token if given."""
    tokens.logout(current_user, get_jwt(), data.get("refresh_token"))


@blp.get("/me")
@blp.authenticated()
@blp.response(200, UserSchema)
@blp.errors(500, 503)
def me():
    """The signed-in user."""
    return current_user


@blp.patch("/me")
@blp.authenticated()
@blp.body(ProfileSchema)
@blp.response(200, UserSchema)
@blp.errors(500, 503)
def update_me(data):
    """Change the signed-in user's name."""
    return accounts.update_profile(current_user, data)


@blp.post("/password")
@blp.authenticated()
@blp.body(PasswordChangeSchema)
@blp.response(204)
@blp.errors(500, 503)
def change_password(data):
    """Change the password; every token issued before is revoked."""
    accounts.change_password(current_user, data["current_password"], data["new_password"])


@blp.delete("/me")
@blp.authenticated()
@blp.body(DeleteAccountSchema)
@blp.response(204)
@blp.errors(500, 503)
def delete_me(data):
    """Delete the account and all its tasks."""
    accounts.delete_account(current_user, data["password"])


@blp.post("/password-reset")
@rate_limited
@reset.mail_required
@blp.body(PasswordResetSchema)
@blp.response(202, MessageSchema)
@blp.errors(429, 500, 503)
def request_password_reset(data):
    """Email a link to reset the password, if the address has an account (the answer is the same either way)."""
    reset.request_reset(data["email"])
    return {"message": reset.REQUESTED}


@blp.post("/password-reset/confirm")
@rate_limited
@reset.mail_required
@blp.body(PasswordResetConfirmSchema)
@blp.response(204)
@blp.errors(429, 500, 503)
def confirm_password_reset(data):
    """Set a new password with the token from a reset link; every session ends."""
    reset.confirm(data["token"], data["new_password"])
