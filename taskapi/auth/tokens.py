"""JWTs: issuing pairs in a session, rotation with reuse detection, and the one lookup that authenticates."""

from datetime import UTC, datetime

from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import ExpiredSignatureError, InvalidTokenError, PyJWTError
from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from taskapi.auth import events, user_sessions
from taskapi.auth.models import RevokedToken, User, UserSession
from taskapi.errors import BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE, ApiError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow

GENERATION_CLAIM = "gen"
SESSION_CLAIM = "sid"
# The contract's 401 codes for a token, with the sentence each answers.
TOKEN_ERRORS = {
    "token_missing": "Authentication is required.",
    "token_invalid": "The token is not valid.",
    "token_expired": "The token has expired.",
    "token_revoked": "The token has been revoked.",
    "wrong_token_type": "The wrong type of token was given.",
}


MAX_ID = 2**31 - 1
LATEST_EXPIRY = 253402300799  # 9999-12-31: later cannot be a datetime
TOKEN_TYPES = ("access", "refresh")


def _integer(value, lowest, highest):
    return isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= highest


def claims_problem(payload):
    """What is wrong with a token's claims, or None: every claim this service relies on, present and sane."""
    if not (isinstance(payload.get("jti"), str) and 1 <= len(payload["jti"]) <= 64):
        return "jti"
    if not _integer(payload.get("exp"), 1, LATEST_EXPIRY):
        return "exp"
    if payload.get("type") not in TOKEN_TYPES:
        return "type"
    sub = payload.get("sub")
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and 1 <= int(sub) <= MAX_ID):
        return "sub"
    for claim, lowest in ((SESSION_CLAIM, 1), (GENERATION_CLAIM, 0)):
        if claim in payload and not _integer(payload[claim], lowest, MAX_ID):
            return claim
    return None


def check_claims(claims):
    """Refuse a token missing a claim, or with an impossible value, before anything reads it (the claims
    as sent: the extension would fill in `type` and `jti`). An InvalidTokenError is 401 token_invalid."""
    problem = claims_problem(claims)
    if problem is not None:
        raise InvalidTokenError(f"bad {problem} claim")


def token_error(code):
    """The 401 ApiError for one of TOKEN_ERRORS' codes, with its bearer challenge."""
    challenge = BEARER_CHALLENGE if code == "token_missing" else INVALID_TOKEN_CHALLENGE
    return ApiError(401, code, TOKEN_ERRORS[code], headers={"WWW-Authenticate": challenge})

# Built once: SQLAlchemy memoizes a statement's cache key, which every request would otherwise recompute.
# One round trip answers everything a token's validity depends on: the user, a revocation, its session.
USER_AND_REVOCATION = select(
    User,
    exists().where(RevokedToken.jti == bindparam("jti")).label("revoked"),
    exists().where(UserSession.id == bindparam("sid"), UserSession.user_id == User.id).label("session_active"),
).where(User.id == bindparam("user_id"))


def issue_pair(user, session_id, refresh_jti):
    """A fresh access and refresh token for `user` in a session, in the contract's shape."""
    identity = str(user.id)
    claims = {GENERATION_CLAIM: user.token_generation, SESSION_CLAIM: session_id}
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity, additional_claims={**claims, "jti": refresh_jti}),
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "user": user,
    }


def start_session(user):
    """Sign `user` in: a new session and its first token pair (the caller commits)."""
    session = user_sessions.begin(user)
    return issue_pair(user, session.id, session.refresh_jti)


def load_user_and_check_revoked(jwt_header, jwt_payload):
    """jwt's blocklist callback: one query fetches the user, whether the jti is revoked and its session lives.

    The user is kept on `g` for the user lookup callback, so an authenticated
    request costs exactly one round trip for its token. Tokens without a session
    (issued before sessions existed) are refused.
    """
    params = {"user_id": int(jwt_payload["sub"]), "jti": jwt_payload["jti"], "sid": jwt_payload.get(SESSION_CLAIM)}
    row = db.session.execute(USER_AND_REVOCATION, params).first()
    if row is None:
        g.token_user = None  # unknown user: the lookup callback answers token_invalid
        return False
    user, is_revoked, session_active = row
    g.token_user = user
    return (bool(is_revoked) or not session_active or user.disabled
            or jwt_payload.get(GENERATION_CLAIM) != user.token_generation)


def lookup_user(jwt_header, jwt_payload):
    return g.pop("token_user", None)


def _expiry(payload):
    return datetime.fromtimestamp(payload["exp"], UTC)


def revoke(payload):
    """Revoke one token; False when it already was (a concurrent rotation won)."""
    try:
        with db.session.begin_nested():
            db.session.add(RevokedToken(jti=payload["jti"], user_id=int(payload["sub"]), expires_at=_expiry(payload)))
    except IntegrityError:
        return False
    return True


def rotate(user, refresh_payload):
    """Exchange the session's current refresh token for a new pair.

    The session row names the one refresh token that may be used next; one UPDATE
    swaps it, so of two uses of one token exactly one matches. A token that no
    longer matches was rotated already: a replay, so the whole session ends
    (whoever holds its newer tokens is signed out too) and `refresh_reuse` is recorded.
    """
    session_id = refresh_payload.get(SESSION_CLAIM)
    client, user_agent, _ = events.origin()
    new_jti = user_sessions.new_jti()
    rotated = rowcount(db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.user_id == user.id,
               UserSession.refresh_jti == refresh_payload["jti"])
        .values(refresh_jti=new_jti, last_used_at=utcnow(), ip=client, user_agent=user_agent)
    ))
    if not rotated:
        user_sessions.end(user, session_id, event="refresh_reuse")  # nothing to end if it has ended already
        db.session.commit()
        raise token_error("token_revoked")
    db.session.commit()
    return issue_pair(user, session_id, new_jti)


def refresh_payload_of(user, refresh_token):
    """Decode a refresh token handed in a body; None when it is expired already."""
    try:
        payload = decode_token(refresh_token, allow_expired=False)
    except ExpiredSignatureError:
        return None
    except (PyJWTError, JWTExtendedException):
        raise _bad_refresh_token() from None
    if payload.get("type") != "refresh" or payload.get("sub") != str(user.id):
        raise _bad_refresh_token()
    return payload


def _bad_refresh_token():
    return ApiError(
        422,
        message="The request body is not valid.",
        errors={"json": {"refresh_token": ["Not a valid refresh token of this user."]}},
    )


def logout(user, access_payload, refresh_token=None):
    """End the current session (its tokens with it); a refresh token of another session given too is revoked."""
    refresh = refresh_payload_of(user, refresh_token) if refresh_token is not None else None
    user_sessions.end(user, access_payload.get(SESSION_CLAIM), event="logout")
    if refresh is not None and refresh.get(SESSION_CLAIM) != access_payload.get(SESSION_CLAIM):
        revoke(refresh)
    db.session.commit()


def revoke_all(user):
    """Invalidate every token issued to `user` so far."""
    user.token_generation = User.token_generation + 1


def prune():
    """Delete revocations of tokens past their expiry; return how many."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    return rowcount(result)
