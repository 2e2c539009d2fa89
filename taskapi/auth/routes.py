"""/api/v1/auth: register, login, refresh, logout, profile, password, reset, sessions, events, export, deletion."""

from flask import current_app
from flask_jwt_extended import current_user, get_jwt, get_jwt_identity

from taskapi.api import Blueprint
from taskapi.auth import accounts, events, export, personal_tokens, reset, tokens, user_sessions
from taskapi.auth.schemas import (
    DeleteAccountSchema,
    EventPageSchema,
    ExportSchema,
    LoginSchema,
    LogoutSchema,
    MessageSchema,
    NewPersonalTokenSchema,
    PasswordChangeSchema,
    PasswordResetConfirmSchema,
    PasswordResetSchema,
    PersonalTokenCreateSchema,
    PersonalTokenListSchema,
    ProfileSchema,
    RegisterSchema,
    SessionListSchema,
    TokenPairSchema,
    UserSchema,
)
from taskapi.extensions import limiter
from taskapi.schemas import PageQuerySchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts and tokens.")


def auth_rate_limit():
    return current_app.config["AUTH_RATE_LIMIT"]


rate_limited = limiter.limit(auth_rate_limit)


def _signed_in_user():
    return f"user:{get_jwt_identity()}"


def password_checks_limited(view):
    """AUTH_RATE_LIMIT per client address and per user on routes that check a signed-in user's password.

    Below @blp.authenticated(): the user is known by the time the limits are counted.
    """
    return rate_limited(limiter.limit(auth_rate_limit, key_func=_signed_in_user)(view))


@blp.post("/register")
@rate_limited
@blp.body(RegisterSchema)
@blp.response(201, TokenPairSchema)
@blp.errors(409, 429, 500, 503)
def register(data):
    """Create an account and sign in."""
    return accounts.register(**data)


@blp.post("/login")
@rate_limited
@blp.body(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.errors(401, 403, 429, 500, 503)
def login(data):
    """Exchange email and password for a token pair in a new session."""
    return accounts.login(data["email"], data["password"])


@blp.post("/refresh")
@rate_limited
@blp.authenticated(refresh=True)
@blp.response(200, TokenPairSchema)
@blp.errors(429, 500, 503)
def refresh_token():
    """Exchange the session's refresh token for a new pair; a replayed one ends the session."""
    return tokens.rotate(current_user, get_jwt())


@blp.post("/logout")
@blp.authenticated()
@blp.body(LogoutSchema, required=False)
@blp.response(204)
@blp.errors(500, 503)
def logout(data):
    """End the current session: its access and refresh tokens stop working."""
    tokens.logout(current_user, get_jwt(), data.get("refresh_token"))


@blp.get("/me")
@blp.authenticated()
@blp.response(200, UserSchema)
@blp.errors(500, 503)
def get_me():
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
@password_checks_limited
@blp.body(PasswordChangeSchema)
@blp.response(204)
@blp.errors(429, 500, 503)
def change_password(data):
    """Change the password; every session ends."""
    accounts.change_password(current_user, data["current_password"], data["new_password"])


@blp.delete("/me")
@blp.authenticated()
@password_checks_limited
@blp.body(DeleteAccountSchema)
@blp.response(204)
@blp.errors(422, 429, 500, 503)
def delete_me(data):
    """Delete the account and all its tasks (not the last admin's)."""
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


@blp.get("/sessions")
@blp.authenticated()
@blp.response(200, SessionListSchema)
@blp.errors(500, 503)
def list_sessions():
    """The signed-in user's active sessions, newest first."""
    return {"items": user_sessions.active(current_user, get_jwt().get(tokens.SESSION_CLAIM))}


@blp.delete("/sessions/<int:session_id>")
@blp.authenticated()
@blp.response(204)
@blp.errors(404, 500, 503)
def end_session(session_id):
    """End one of the signed-in user's sessions."""
    user_sessions.end_session(current_user, session_id)


@blp.delete("/sessions")
@blp.authenticated()
@blp.response(204)
@blp.errors(500, 503)
def end_other_sessions():
    """End every session of the signed-in user but this one."""
    user_sessions.end_others(current_user, get_jwt().get(tokens.SESSION_CLAIM))


@blp.get("/events")
@blp.authenticated()
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, EventPageSchema)
@blp.errors(500, 503)
def list_events(args):
    """The signed-in user's security events, newest first."""
    return events.page(current_user, args["limit"], args["offset"])


@blp.get("/me/export")
@blp.authenticated()
@blp.response(200, ExportSchema, headers=export.DISPOSITION_HEADER)
@blp.errors(500, 503)
def export_me():
    """Everything the service holds about the signed-in user, as a JSON file."""
    return export.everything(current_user, get_jwt().get(tokens.SESSION_CLAIM)), 200, export.DISPOSITION


@blp.post("/tokens")
@blp.authenticated()
@blp.body(PersonalTokenCreateSchema)
@blp.response(201, NewPersonalTokenSchema)
@blp.errors(404, 409, 500, 503)
def create_personal_token(data):
    """Make a personal access token; the answer is the only one showing it."""
    return personal_tokens.create(current_user, **data)


@blp.get("/tokens")
@blp.authenticated()
@blp.response(200, PersonalTokenListSchema)
@blp.errors(500, 503)
def list_personal_tokens():
    """The signed-in user's personal access tokens that still work, newest first (without the tokens)."""
    return personal_tokens.listed(current_user)


@blp.delete("/tokens/<int:token_id>")
@blp.authenticated()
@blp.response(204)
@blp.errors(404, 500, 503)
def revoke_personal_token(token_id):
    """Revoke one of the signed-in user's personal access tokens, at once everywhere."""
    personal_tokens.revoke(current_user, token_id)
