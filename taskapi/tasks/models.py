"""Tasks, and the first answers of idempotent creates."""

import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import db
from taskapi.models import UTCDateTime, enum_column, utcnow

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
IDEMPOTENCY_KEY_MAX = 255


def etag(task_id, version):
    """A task's strong ETag: it changes whenever its version does."""
    return f'"{task_id}.{version}"'


class Status(enum.StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"


class Priority(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"length(title) BETWEEN 1 AND {TITLE_MAX}", name="title_length"),
        CheckConstraint(f"description IS NULL OR length(description) <= {DESCRIPTION_MAX}", name="description_length"),
        # One user's list, in each sort that can use an index, never touches other users' rows.
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        Index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
        Index("ix_tasks_user_due", "user_id", "due_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX), nullable=True)
    status: Mapped[Status] = mapped_column(enum_column(Status, "task_status"), default=Status.pending)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "task_priority"), default=Priority.medium)
    due_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    # Every UPDATE says "WHERE version = <read version>" and bumps it: a lost update
    # between two workers fails as StaleDataError instead of overwriting.
    __mapper_args__ = {"version_id_col": version}

    @property
    def etag(self):
        return etag(self.id, self.version)


class IdempotentCreate(db.Model):
    """The first answer to a POST /tasks with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, index=True)
