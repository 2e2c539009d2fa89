"""Users, and the tokens revoked before they expire."""

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import db
from taskapi.models import UTCDateTime, utcnow

EMAIL_MAX = 254
NAME_MAX = 100


class User(db.Model):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite must never hand a deleted user's id (and tokens) to someone new.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Carried in every token as "gen"; bumping it revokes all earlier tokens at once,
    # exactly, where comparing against `iat` would blur within its one-second resolution.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    # The user's task change sequence (taskapi.tasks.service.next_change): bumped first by every
    # transaction that writes their tasks, so this row is also the lock that orders those writes.
    task_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class RevokedToken(db.Model):
    """A token refused before its `exp`: logged out or rotated away."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Kept until the token would have expired anyway; `flask tokens prune` drops it after.
    expires_at: Mapped[object] = mapped_column(UTCDateTime, index=True)
