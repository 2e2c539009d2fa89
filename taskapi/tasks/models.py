"""Tasks with their tags, the tombstones of tasks gone for good, and the first answers of idempotent creates."""

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, enum_column, utcnow

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
IDEMPOTENCY_KEY_MAX = 255
TAG_MAX = 40
TAGS_PER_TASK = 20
POSITION_MAX = 255
MAX_ID = 2**31 - 1  # the INTEGER column's largest id
MAX_SEQ = 2**63 - 1  # the BIGINT change sequence's largest value
# Positions compare as bytes everywhere: SQLite does already; PostgreSQL must not use the database's collation.
POSITION_TYPE = String(POSITION_MAX).with_variant(String(POSITION_MAX, collation="C"), "postgresql")
LIVE = text("deleted_at IS NULL")
TRASHED = text("deleted_at IS NOT NULL")


def _partial(name, *columns, where):
    """An index over the live (or the trashed) tasks only, on both databases."""
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


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


# Trigram indexes behind `q`, made by migration 0005 on PostgreSQL where pg_trgm can be created; not
# declared here (SQLite has no such index), so autogenerate and the models-match test leave them out.
TRIGRAM_INDEXES = ("ix_tasks_title_trgm", "ix_tasks_description_trgm")


def declared_in_models(obj, name, type_, reflected, compare_to):
    """alembic's include_object: every schema object but the trigram indexes."""
    return not (type_ == "index" and name in TRIGRAM_INDEXES)


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"length(title) BETWEEN 1 AND {TITLE_MAX}", name="title_length"),
        CheckConstraint(f"description IS NULL OR length(description) <= {DESCRIPTION_MAX}", name="description_length"),
        # One list's tasks, in each sort that can use an index, never touch other lists' rows, nor their trash.
        _partial("ix_tasks_list_created", "list_id", "created_at", "id", where=LIVE),
        _partial("ix_tasks_list_updated", "list_id", "updated_at", "id", where=LIVE),
        _partial("ix_tasks_list_due", "list_id", "due_at", "id", where=LIVE),
        # The manual order (per list), and the safety net under the lock that computes it: over live tasks
        # only, so the trash has no say in the keys a move gives (a restore checks its key is still free).
        Index("uq_tasks_list_live_position", "list_id", "position", unique=True, postgresql_where=LIVE,
              sqlite_where=LIVE),
        _partial("ix_tasks_list_trashed", "list_id", "deleted_at", where=TRASHED),
        # The change feed reads a list's changes after a cursor, in sequence order.
        Index("ix_tasks_list_change", "list_id", "change_seq", "id"),
        Index("ix_tasks_assignee", "assignee_id"),
        Index("ix_tasks_created_by", "created_by"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    # Both become null when their account is deleted; the task stays in its list.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX), nullable=True)
    status: Mapped[Status] = mapped_column(enum_column(Status, "task_status"), default=Status.pending)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "task_priority"), default=Priority.medium)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer)
    # Sorted, as answered: a task's answer needs no query of task_tags, which serves the filters.
    tags: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[str] = mapped_column(POSITION_TYPE)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Its list's task_seq at this task's last change (taskapi.lists.access.next_change).
    change_seq: Mapped[int] = mapped_column(BigInteger)

    # Every UPDATE says "WHERE version = <read version>" and bumps it: a lost update
    # between two workers fails as StaleDataError instead of overwriting.
    __mapper_args__ = {"version_id_col": version}

    @property
    def etag(self):
        return etag(self.id, self.version)


class TaskTag(Model):
    """One tag of one task: the rows the tag filter and the tag counts read through an index."""

    __tablename__ = "task_tags"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(TAG_MAX), primary_key=True)


class TaskTombstone(Model):
    """A task that left a list (gone for good, its list deleted, or moved to another list), kept for the
    change feed's `deleted` of that list's members. No foreign key: it outlives its list."""

    __tablename__ = "task_tombstones"

    # The primary key is the feed's index: a list's tombstones after a cursor, in sequence order.
    list_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    change_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdempotentCreate(Model):
    """The first answer to a POST /tasks with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    # The answer's headers as a JSON object (ETag, Location, Content-Type): replayed with the body.
    response_headers: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
