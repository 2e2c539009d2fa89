"""Reads of lists: a list as its members see it (their role and permissions, member and live task counts)."""

import functools

from sqlalchemy import bindparam, func, select

from taskapi.exceptions import NotFoundError
from taskapi.extensions import db
from taskapi.lists.access import Permission, member_lists, permissions, require
from taskapi.lists.models import Membership, Role, TaskList
from taskapi.tasks.models import MAX_ID, Task
from taskapi.tasks.queries import EACH_USER

MEMBER_COUNT = (select(func.count()).where(Membership.list_id == TaskList.id).correlate(TaskList)
                .scalar_subquery().label("member_count"))
LIVE_TASK_COUNT = (select(func.count()).where(Task.list_id == TaskList.id, Task.deleted_at.is_(None))
                   .correlate(TaskList).scalar_subquery().label("live_task_count"))


def viewed(list_, role, member_count, task_count):
    """A list as answered to a member: the row, with their role, permissions and the counts set on it."""
    list_.role = role
    list_.permissions = permissions(role)
    list_.member_count = member_count
    list_.task_count_live = task_count
    return list_


def member_lists_viewed(user):
    """member_lists() with the counts a list's answer shows."""
    return member_lists(user).add_columns(MEMBER_COUNT, LIVE_TASK_COUNT)


def _viewed_rows(rows):
    return [viewed(row.TaskList, row.role, row.member_count, row.live_task_count) for row in rows]


@functools.cache
def _one_list():
    return member_lists_viewed(EACH_USER).where(TaskList.id == bindparam("list_id"))


def get_list(user, list_id, permission=Permission.read):
    """The list as the user sees it: 404 unless they are a member, 403 unless their role allows `permission`."""
    row = None
    if 0 < list_id <= MAX_ID:
        row = db.session.execute(_one_list(), {"user_id": user.id, "list_id": list_id}).one_or_none()
    if row is None:
        raise NotFoundError()
    require(row.role, permission)
    return _viewed_rows([row])[0]


def list_lists(user, limit, offset):
    """A page of the user's lists: the inbox first, then by creation."""
    query = member_lists_viewed(user)
    total = db.session.execute(member_lists(user).with_only_columns(func.count())).scalar_one()
    rows = db.session.execute(query.order_by(TaskList.inbox.desc(), TaskList.created_at, TaskList.id)
                              .limit(limit).offset(offset)).all()
    return {"items": _viewed_rows(rows), "total": total, "limit": limit, "offset": offset}


def lists_by_id(user, list_ids):
    """The user's lists among `list_ids`, as they see them, by id (the change feed's `lists`)."""
    if not list_ids:
        return []
    rows = db.session.execute(member_lists_viewed(user).where(TaskList.id.in_(list_ids)).order_by(TaskList.id))
    return _viewed_rows(rows.all())


def inbox_id(user):
    """The id of the user's inbox."""
    query = select(TaskList.id).where(TaskList.owner_id == user.id, TaskList.inbox)
    return db.session.execute(query).scalar_one_or_none()


def owned_lists(user):
    """The lists `user` owns, oldest first (the account export)."""
    query = member_lists(user).where(Membership.role == Role.owner).order_by(TaskList.id)
    return db.session.execute(query).scalars().all()


def memberships(user):
    """Every list `user` is a member of, with their role: [{"list", "role"}] (the account export)."""
    return [{"list": row.TaskList, "role": row.role}
            for row in db.session.execute(member_lists(user).order_by(TaskList.id))]
