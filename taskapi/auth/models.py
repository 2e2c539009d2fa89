"""Users, their sessions and security events, revoked tokens, login failures and password resets."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, enum_column, utcnow

EMAIL_MAX = 254
NAME_MAX = 100
CLIENT_MAX = 64  # an IPv6 address with a zone fits
USER_AGENT_MAX = 255


class Role(enum.StrEnum):
    user = "user"
    admin = "admin"


class User(Model):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite must never hand a deleted user's id (and tokens) to someone new.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Carried in every token as "gen"; bumping it revokes all earlier tokens at once,
    # exactly, where comparing against `iat` would blur within its one-second resolution.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Server defaults: users of a database made before roles existed become plain, enabled users.
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.user, server_default=Role.user)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserSession(Model):
    """A sign-in (register or login) and its refresh-token chain; ending it is deleting the row.

    Every token carries the session's id ("sid"): the one query that authenticates a
    request finds no row for an ended session, so its tokens stop at once everywhere.
    """

    __tablename__ = "user_sessions"
    __table_args__ = {"sqlite_autoincrement": True}  # an ended session's id is never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The jti of the one refresh token that may be used next; an older one is a replay.
    refresh_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(CLIENT_MAX), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), nullable=True)


class SecurityEvent(Model):
    """Something that happened to an account's security, shown to its owner and kept a while.

    Events about an address without an account are stored too, without a user, so that
    a request about either costs the same; no route shows them.

    Events anyone can cause knowing only the address (taskapi.auth.events.COLLAPSED) are one
    row per account, kind and clock hour: `count` occurrences, `created_at`, `ip` and
    `user_agent` of the latest.
    """

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_user_created", "user_id", "created_at", "id"),
        # The one row a repeat adds to; NULLs are distinct, so events never collapsed (hour NULL) never meet it.
        Index("uq_security_events_user_event_hour", "user_id", "event", "hour", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    event: Mapped[str] = mapped_column(String(40))  # token_first_use_from_new_address is 32
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(String(CLIENT_MAX), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), nullable=True)
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The clock hour a collapsed event counts in; NULL for every other event.
    hour: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginFailure(Model):
    """A failed password check for an address, or one being checked right now (`pending`); the throttle counts them."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_address_created", "address", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A SHA-256 of the normalised address: the table is not a list of the addresses people tried.
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A check in flight: it becomes a failure (pending false, created_at the moment it failed) or is deleted.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RevokedToken(Model):
    """A token refused before its `exp`: logged out or rotated away."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Kept until the token would have expired anyway; `flask tokens prune` drops it after.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PersonalToken(Model):
    """A long-lived token a user made for a script, with scopes and perhaps one list; only its SHA-256 is kept.

    `generation` is the user's token_generation when it was made: a password change, a reset or disabling
    the account bumps that, and the one lookup that authenticates it then finds it revoked, with no write
    here. Deleting the account deletes these rows.
    """

    __tablename__ = "personal_tokens"
    __table_args__ = (Index("ix_personal_tokens_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # By table name: accounts know nothing of lists (tests/test_layers.py); the list's deletion deletes it.
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), nullable=True, index=True)
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_ip: Mapped[str | None] = mapped_column(String(CLIENT_MAX), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasswordResetRequest(Model):
    """A reset asked for and not yet looked at.

    The request stores this one row for every well-formed address, known or not,
    so its answer takes the same time either way; the background thread turns it
    into a token and a message, or into nothing.
    """

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    ip: Mapped[str | None] = mapped_column(String(CLIENT_MAX), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(Model):
    """A reset token sent to a user: only its hash is kept; usable once, until it expires."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when used, or spent by any password change: either way it works no more.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
