"""Open live streams, one row each, so that every worker and instance counts a user's streams alike."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, utcnow


class OpenStream(Model):
    """A stream some worker holds open. Its worker pushes `expires_at` forward while the stream lives and
    deletes the row when it ends; a killed worker's rows stop counting once `expires_at` passes."""

    __tablename__ = "open_streams"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The session of its ticket: ending the session ends the stream (and deletes this row).
    session_id: Mapped[int] = mapped_column(ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
