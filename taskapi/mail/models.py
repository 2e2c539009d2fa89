"""The outbox: each message to send, its attempts and its outcome."""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, enum_column, utcnow

ADDRESS_MAX = 254
ERROR_MAX = 200


class Delivery(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # given up: it could not be sent before it expired


class OutboxMessage(Model):
    """A message stored in the transaction that made it, sent later by the background thread.

    `context` is what the template renders; `secret` is the part of it that must not
    outlive delivery (it is cleared once the message is sent or given up).
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The account it is for: deleting the account drops what it had not been sent yet.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    context: Mapped[dict] = mapped_column(JSON)
    secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[Delivery] = mapped_column(enum_column(Delivery, "mail_delivery"), default=Delivery.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While set and in the future, one process is sending it; a process that dies mid-send lets it lapse.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX), nullable=True)
