"""Activity entries: who did what to a list's tasks, members, invitations or name, and when."""

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, utcnow

ACTION_MAX = 40
DESCRIPTION_CUT = 200  # a description's values in `changes` are cut to this many characters
# SQLite gives autoincrement only to an INTEGER PRIMARY KEY (64 bits there anyway).
ID_TYPE = BigInteger().with_variant(Integer, "sqlite")


class Action(enum.StrEnum):
    task_created = "task.created"
    task_updated = "task.updated"
    task_completed = "task.completed"
    task_reopened = "task.reopened"
    task_moved = "task.moved"
    task_trashed = "task.trashed"
    task_restored = "task.restored"
    task_deleted = "task.deleted"
    member_joined = "member.joined"
    member_left = "member.left"
    member_removed = "member.removed"
    member_role_changed = "member.role_changed"
    invitation_sent = "invitation.sent"
    invitation_withdrawn = "invitation.withdrawn"
    list_updated = "list.updated"


class Activity(Model):
    """One change, in the list it happened in. `task_id` is no foreign key: the entries of a task deleted for
    good stay (until ACTIVITY_RETENTION_DAYS); those of a deleted list go with it."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_list", "list_id", "id"),
        Index("ix_activity_task", "task_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
