"""Stream tickets: short signed tokens for one stream, used once (their id goes into revoked_tokens)."""

import time
import uuid
from datetime import UTC, datetime

import jwt
from flask import current_app
from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.exc import IntegrityError

from taskapi.auth.models import RevokedToken, User, UserSession
from taskapi.auth.tokens import token_error
from taskapi.extensions import db

TICKET_SECONDS = 60
# A ticket is a JWT of its own audience: never taken as an access token (no `aud` is accepted there), and an
# access token is never a ticket (it has none).
AUDIENCE = "taskapi:stream"
ALGORITHM = "HS256"


def issue(user, session_id):
    """A ticket for one stream of `user` in the session `session_id`: {"ticket", "expires_in"}."""
    claims = {"aud": AUDIENCE, "sub": str(user.id), "sid": session_id, "gen": user.token_generation,
              "jti": uuid.uuid4().hex, "exp": int(time.time()) + TICKET_SECONDS}
    ticket = jwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm=ALGORITHM)
    return {"ticket": ticket, "expires_in": TICKET_SECONDS}


def _claims(ticket):
    try:
        claims = jwt.decode(ticket, current_app.config["JWT_SECRET_KEY"], algorithms=[ALGORITHM],
                            audience=AUDIENCE, options={"require": ["exp", "sub", "sid", "gen", "jti"]})
    except jwt.PyJWTError:
        raise token_error("token_invalid") from None
    if not (str(claims["sub"]).isdigit() and isinstance(claims["sid"], int) and isinstance(claims["jti"], str)):
        raise token_error("token_invalid")
    return claims


SESSION_OF_TICKET = select(
    User, UserSession.id, exists().where(RevokedToken.jti == bindparam("jti")).label("used")
).join(UserSession, and_(UserSession.user_id == User.id, UserSession.id == bindparam("sid"))).where(
    User.id == bindparam("user_id"))


class Ticket:
    """A ticket whose signature, expiry and session hold, not yet used: `user`, `session_id`."""

    def __init__(self, user, session_id, claims):
        self.user = user
        self.session_id = session_id
        self.claims = claims

    def use(self):
        """Mark it used, in the caller's transaction (the stream's row commits with it); 401 when another
        request, on any worker or instance, used it first."""
        db.session.add(RevokedToken(jti=self.claims["jti"], user_id=self.user.id,
                                    expires_at=datetime.fromtimestamp(self.claims["exp"], UTC)))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise token_error("token_invalid") from None


def check(ticket):
    """The Ticket of `ticket`; 401 token_invalid when it is bad, expired or used, or its session has ended
    (the same answer for each)."""
    claims = _claims(ticket)
    row = db.session.execute(SESSION_OF_TICKET, {"user_id": int(claims["sub"]), "sid": claims["sid"],
                                                 "jti": claims["jti"]}).first()
    if row is None or row.used or row.User.disabled or row.User.token_generation != claims["gen"]:
        raise token_error("token_invalid")
    return Ticket(row.User, claims["sid"], claims)
