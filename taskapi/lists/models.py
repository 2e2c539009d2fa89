"""Lists, their members with a role each, and invitations to join them."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from taskapi.extensions import Model
from taskapi.models import UTCDateTime, enum_column, utcnow

NAME_MAX = 100
EMAIL_MAX = 254
INBOX_NAME = "Inbox"


class Role(enum.StrEnum):
    """A member's role, from the least to the most it allows (the order is the ranking)."""

    viewer = "viewer"
    completer = "completer"
    editor = "editor"
    admin = "admin"
    owner = "owner"

    @property
    def rank(self):
        return list(Role).index(self)


def etag(list_id, version):
    """A list's strong ETag, of the same form as a task's."""
    return f'"{list_id}.{version}"'


class TaskList(Model):
    """A list of tasks; every user has one inbox, and any number of lists they make or join."""

    __tablename__ = "lists"
    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {NAME_MAX}", name="list_name_length"),
        # Exactly one inbox per user; the lists a user owns are counted through the same index.
        Index("uq_lists_inbox", "owner_id", unique=True, postgresql_where=text("inbox"), sqlite_where=text("inbox")),
        Index("ix_lists_owner", "owner_id", "inbox"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    inbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Grows with every change to the list, its members or its tasks (taskapi.lists.access.next_change).
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The list's change sequence: every write to its tasks, members or name takes the next number under
    # the row's lock (taskapi.lists.access.next_change), so its order is commit order.
    task_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Live and trashed tasks, kept with task_seq under the same lock: MAX_TASKS_PER_LIST holds exactly.
    task_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Webhooks of the list (taskapi.webhooks), kept under the same lock: a write learns from its lock's
    # RETURNING whether its list has any (taskapi.lists.access.webhook_count).
    webhook_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def etag(self):
        return etag(self.id, self.version)


class Membership(Model):
    """A user's place in a list, with their role: what every statement on tasks joins (the one door)."""

    __tablename__ = "list_members"
    __table_args__ = (Index("ix_list_members_user", "user_id", "list_id"),)

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "member_role"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationState(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    replaced = "replaced"  # the address was invited again


class Invitation(Model):
    """An invitation to a list for an email address: pending until accepted, declined, withdrawn, replaced or
    expired. Ended ones stay (until pruned): a second accept is told apart, and they count towards the
    list's hourly limit however they ended."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_email", "email", "expires_at"),
        Index("ix_invitations_list_created", "list_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    role: Mapped[Role] = mapped_column(enum_column(Role, "invitation_role"))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[InvitationState] = mapped_column(enum_column(InvitationState, "invitation_state"),
                                                   default=InvitationState.pending)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
