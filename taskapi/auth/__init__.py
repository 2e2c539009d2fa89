"""Accounts and authentication: users, JWTs, revocation and rate limits."""

import math
import time

from flask_jwt_extended import get_jwt_identity
from flask_jwt_extended.exceptions import WrongTokenError
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from taskapi import background, compat
from taskapi.auth import cli, passwords, reset, throttle, tokens
from taskapi.auth.models import User
from taskapi.auth.routes import blp
from taskapi.errors import ApiError, api_error_response, handle_unexpected
from taskapi.extensions import db, jwt, limiter


def _token_error(code):
    """A jwt callback answering 401 `code` in the envelope, whatever it is passed."""
    return lambda *args: api_error_response(tokens.token_error(code))


def _init_jwt(app):
    app.config.update(
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_COOKIE_CSRF_PROTECT=False,  # tokens travel in headers only: no csrf claim
    )
    jwt.init_app(app)
    jwt.claims_checker(tokens.check_claims)
    jwt.token_in_blocklist_loader(tokens.load_user_and_check_revoked)
    jwt.user_lookup_loader(tokens.lookup_user)
    # Every failure of the extension goes through these, so none of its own
    # {"msg": ...} bodies or 422s can reach a client.
    jwt.unauthorized_loader(_token_error("token_missing"))
    jwt.expired_token_loader(_token_error("token_expired"))
    jwt.revoked_token_loader(_token_error("token_revoked"))
    invalid = _token_error("token_invalid")
    jwt.invalid_token_loader(invalid)
    jwt.user_lookup_error_loader(invalid)
    jwt.needs_fresh_token_loader(invalid)
    jwt.token_verification_failed_loader(invalid)
    # The extension reports a wrong token type as merely invalid; the contract tells them apart.
    app.register_error_handler(WrongTokenError, _token_error("wrong_token_type"))


def _init_limiter(app):
    app.config.update(
        RATELIMIT_STORAGE_URI=app.config["REDIS_URL"] or "memory://",
        RATELIMIT_KEY_PREFIX="taskapi",
        # Only a 429 says when to retry; X-RateLimit-* on every answer would be noise.
        RATELIMIT_HEADERS_ENABLED=False,
        # A Redis outage must not take logins down with it.
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    limiter.init_app(app)
    # Every limit here is a route decorator, checked in the decorator's own wrapper: the extension's
    # hook looking for default and blueprint limits (there are none) on every request is left out.
    compat.drop_limiter_hook(app, limiter)
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def _rate_limited(exc):
    limit = limiter.current_limit
    retry_after = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    return api_error_response(ApiError(429, headers={"Retry-After": str(retry_after)}))


def _signed_in_user_id():
    try:
        return int(get_jwt_identity())
    except (RuntimeError, TypeError, ValueError):  # not a protected route, or no such claim
        return None


def _user_deleted_meanwhile(exc):
    """A write lost its row (StaleDataError) or its foreign key (IntegrityError).

    When the signed-in user was deleted (DELETE /me, by a concurrent request) after this
    request authenticated, that is the contract's unknown user, 401 token_invalid, not a 500.
    """
    user_id = _signed_in_user_id()
    try:
        db.session.rollback()
        gone = user_id is not None and db.session.execute(select(User.id).where(User.id == user_id)).first() is None
    except SQLAlchemyError:
        gone = False
    if gone:
        return api_error_response(tokens.token_error("token_invalid"))
    return handle_unexpected(exc)


def init_app(app, api):
    _init_jwt(app)
    _init_limiter(app)
    throttle.init_app(app)
    passwords.hasher_for(app.config["PASSWORD_HASHING"])  # its dummy hash now, not in the first login
    app.register_error_handler(IntegrityError, _user_deleted_meanwhile)
    app.register_error_handler(StaleDataError, _user_deleted_meanwhile)
    api.register_blueprint(blp)
    background.register(app, reset.resolve_requests)
    app.cli.add_command(cli.users)
    app.cli.add_command(cli.tokens)
    app.cli.add_command(cli.events)
