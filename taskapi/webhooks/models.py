"""Webhooks of a list, the events waiting to be sent to them (an outbox), and the log of each attempt."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, enum_column, utcnow

URL_MAX = 2000
DESCRIPTION_MAX = 200
EVENT_TYPE_MAX = 40
ERROR_MAX = 200
NONCE_MAX = 64


class Webhook(Model):
    """An endpoint of a list's that receives its activity as signed HTTP POSTs.

    The signing secret is not stored: `secret_nonce` is, and the secret is an HMAC of it under
    SECRET_KEY (taskapi.webhooks.signing), worked out again for each delivery. After a rotation
    the previous nonce stays until `rotated_at` is a day old, so both secrets sign meanwhile.
    """

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_list", "list_id", "enabled"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_MAX))
    # Action names or "task.*", as given (a JSON list).
    events: Mapped[list] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    secret_nonce: Mapped[str] = mapped_column(String(NONCE_MAX))
    previous_secret_nonce: Mapped[str | None] = mapped_column(String(NONCE_MAX), nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Attempts failed in a row (any event), and when the first of them failed: the webhook is disabled once
    # it has been failing for WEBHOOK_RETRY_HOURS.
    failure_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EventState(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"  # a 2xx was recorded: never sent again unless asked (redeliver)
    failed = "failed"  # given up: it failed for WEBHOOK_RETRY_HOURS, or its webhook was disabled


class WebhookEvent(Model):
    """One event for one webhook, stored in the transaction of its cause, sent by the background thread.

    Its id is the `webhook-id` of every attempt; `body` is the exact JSON sent (signed as stored).
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_due", "status", "next_attempt_at"),
        Index("ix_webhook_events_webhook", "webhook_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(EVENT_TYPE_MAX))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[EventState] = mapped_column(enum_column(EventState, "webhook_event_state"),
                                               default=EventState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While set and in the future, one process is sending it; a process that dies mid-send lets it lapse.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Retried until then (WEBHOOK_RETRY_HOURS after it was made, or after a redelivery was asked for).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookDelivery(Model):
    """One attempt to send an event: what the endpoint answered, or why nothing was answered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(EVENT_TYPE_MAX))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(ERROR_MAX), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
