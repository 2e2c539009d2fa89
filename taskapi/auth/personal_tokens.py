"""Personal access tokens: made, listed and revoked by their owner; one statement authenticates each request.

A token is `tapi_` + 32 random base62 characters + a 6-character base62 CRC32 of those 37 (GitHub's
scheme): a leaked token is recognised by its shape alone, and a mistyped or made-up one is refused
before any database statement. Only its SHA-256 is stored.
"""

import hashlib
import re
import secrets
import zlib
from datetime import timedelta

from flask import current_app, g, has_app_context, request
from sqlalchemy import bindparam, func, select, update

from taskapi import compat
from taskapi.auth import events, signals
from taskapi.auth.models import PersonalToken, User
from taskapi.auth.tokens import MAX_ID, token_error
from taskapi.errors import ApiError
from taskapi.exceptions import ConflictError, NotFoundError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow

SCOPES = ("tasks:read", "tasks:write", "lists:read", "lists:write", "webhooks:manage")
PREFIX = "tapi_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
SHOWN_PREFIX = 12
SHAPE = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}")
# A request records its token's use when the last one recorded is older than this, or from another address:
# a write on every read would cost more than the read.
USE_RECORDED_EVERY = timedelta(minutes=1)

# Built once, like the JWT path's: the token and its user in one round trip.
LOOKUP = (select(PersonalToken, User).join(User, User.id == PersonalToken.user_id)
          .where(PersonalToken.token_hash == bindparam("token_hash")))

def _base62(number, length):
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def checksum(body):
    """The last 6 characters of a token whose first 37 are `body`."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def new_token():
    body = PREFIX + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return body + checksum(body)


def well_formed(token):
    """Whether `token` has a personal token's shape and a matching checksum (no database needed)."""
    return SHAPE.fullmatch(token) is not None and checksum(token[:-CHECKSUM_LENGTH]) == token[-CHECKSUM_LENGTH:]


def digest(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_personal(authorization):
    """Whether an Authorization header carries a personal token (rather than a JWT)."""
    return authorization.startswith("Bearer " + PREFIX)


def _live(user):
    """The user's tokens that still work (or worked until they expired): not revoked, of this generation."""
    return select(PersonalToken).where(PersonalToken.user_id == user.id, PersonalToken.revoked_at.is_(None),
                                       PersonalToken.generation == user.token_generation)


def create(user, name, scopes, expires_in_days, list_id=None):
    """Make a token; the answer carries it (`token`), the only time it is shown. 409 past MAX_TOKENS_PER_USER."""
    if list_id is not None:
        if not 0 < list_id <= MAX_ID:
            raise NotFoundError()
        signals.token_list_chosen.send(signals.sender(), user=user, list_id=list_id)
    now = utcnow()
    # The user's row, locked: two concurrent creates cannot both take the last place.
    db.session.execute(update(User).where(User.id == user.id).values(token_generation=User.token_generation)
                       .execution_options(synchronize_session=False))
    counted = _live(user).where(PersonalToken.expires_at > now).with_only_columns(func.count())
    if db.session.execute(counted).scalar_one() >= current_app.config["MAX_TOKENS_PER_USER"]:
        db.session.rollback()
        raise ConflictError("You have as many personal access tokens as an account may hold; revoke one first.")
    token = new_token()
    row = PersonalToken(user_id=user.id, name=name, token_hash=digest(token), prefix=token[:SHOWN_PREFIX],
                        scopes=sorted(set(scopes), key=SCOPES.index), list_id=list_id,
                        generation=user.token_generation, created_at=now,
                        expires_at=now + timedelta(days=expires_in_days))
    db.session.add(row)
    db.session.flush()
    events.record("token_created", user.id)
    db.session.commit()
    return {**_shown(row), "token": token}


def _shown(row):
    return {name: getattr(row, name) for name in ("id", "name", "scopes", "list_id", "prefix", "created_at",
                                                  "expires_at", "last_used_at", "last_used_ip")}


def listed(user):
    """The user's tokens that have not been revoked nor expired, newest first."""
    query = (_live(user).where(PersonalToken.expires_at > utcnow())
             .order_by(PersonalToken.created_at.desc(), PersonalToken.id.desc()))
    return {"items": [_shown(row) for row in db.session.execute(query).scalars()]}


def revoke(user, token_id):
    """Revoke one of the user's tokens: the next request with it, on any instance, is refused. 404 if not theirs."""
    found = token_id <= MAX_ID and rowcount(db.session.execute(
        update(PersonalToken)
        .where(PersonalToken.id == token_id, PersonalToken.user_id == user.id, PersonalToken.revoked_at.is_(None),
               PersonalToken.generation == user.token_generation)
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)))
    if not found:
        db.session.rollback()
        raise NotFoundError()
    events.record("token_revoked", user.id)
    db.session.commit()


def authenticate(authorization, scope):
    """Authenticate a request by the personal token in its Authorization header, for a route of `scope`.

    None: the route takes no personal token (all of /auth and /admin): 401 wrong_token_type. Sets what
    flask-jwt-extended's `current_user` reads, and `g.personal_token`.
    """
    token = authorization[len("Bearer "):]
    if not well_formed(token):
        raise token_error("token_invalid")
    if scope is None:
        raise token_error("wrong_token_type")
    row = db.session.execute(LOOKUP, {"token_hash": digest(token)}).first()
    if row is None:
        raise token_error("token_invalid")
    personal, user = row
    if personal.revoked_at is not None or personal.generation != user.token_generation or user.disabled:
        raise token_error("token_revoked")
    now = utcnow()
    if personal.expires_at <= now:
        raise token_error("token_expired")
    if scope not in personal.scopes:
        raise ApiError(403, "forbidden", f"This token's scopes do not include {scope}.")
    g.personal_token = personal
    compat.set_current_user(user, {"sub": str(user.id), "type": "personal", "jti": personal.prefix})
    _record_use(personal, now)


def _record_use(personal, now):
    """Note when and from where the token was last used, at most once a minute (or when the address changes),
    in a transaction of its own before the route's: the route's work never waits on it nor undoes it."""
    client = request.remote_addr
    if (personal.last_used_at is not None and now - personal.last_used_at < USE_RECORDED_EVERY
            and personal.last_used_ip == client):
        return
    recorded = rowcount(db.session.execute(
        update(PersonalToken)
        .where(PersonalToken.id == personal.id,
               (PersonalToken.last_used_at.is_(None)) | (PersonalToken.last_used_at < now - USE_RECORDED_EVERY)
               | (PersonalToken.last_used_ip.is_distinct_from(client)))
        .values(last_used_at=now, last_used_ip=client).execution_options(synchronize_session=False)))
    if recorded and personal.last_used_ip != client:
        events.record("token_first_use_from_new_address", personal.user_id)
    db.session.commit()


def current():
    """The personal token authenticating this request, or None (an access token, or no request)."""
    return g.get("personal_token")


def restricted_list():
    """The one list the request's personal token may reach, or None (any of the caller's lists)."""
    personal = g.get("personal_token") if has_app_context() else None
    return None if personal is None else personal.list_id


def rate_key():
    return f"personal-token:{g.personal_token.id}"
