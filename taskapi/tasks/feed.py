"""The change feed: what changed in a user's tasks after a cursor, in the order of their change sequence."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, true, tuple_, union_all
from sqlalchemy.orm import aliased

from taskapi.auth.models import User
from taskapi.exceptions import ExpiredError
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks import cursors
from taskapi.tasks.models import Task, TaskTombstone
from taskapi.tasks.queries import EVERY, LIVE, owned_tasks, owned_tombstones
from taskapi.tasks.schemas import FeedCursorSchema

FEED_CURSOR_SCHEMA = FeedCursorSchema()


def _since(user, since, now):
    """(seq, id) the cursor `since` saw up to (id None: the whole of seq); 410 when it is too old."""
    state = cursors.load(cursors.FEED_SALT, FEED_CURSOR_SCHEMA, user, since, "since")
    issued = datetime.fromtimestamp(state["issued"], UTC)
    if issued < now - timedelta(days=current_app.config["SYNC_RETENTION_DAYS"]):
        raise ExpiredError("The cursor is too old; sync again from the start (without since).")
    return state["seq"], state["id"]


def _after(seq_column, id_column, seen):
    if seen is None:
        return true()
    seq, last_id = seen
    if last_id is None:
        return seq_column > seq
    return tuple_(seq_column, id_column) > tuple_(seq, last_id)


def _feed_statement(user, seen, limit):
    """ONE statement: the user's task_seq, and the next `limit` changes after `seen` with each live task's row.

    Each side (tasks, tombstones) reads at most `limit` rows through its (user_id, change_seq) index.
    Without a cursor it is a full sync: live tasks only, no deletions.
    """
    tasks = owned_tasks(user, LIVE if seen is None else EVERY).where(_after(Task.change_seq, Task.id, seen))
    sides = [tasks.with_only_columns(Task.id.label("task_id"), Task.change_seq)
             .order_by(Task.change_seq, Task.id).limit(limit).subquery()]
    if seen is not None:
        tombstones = owned_tombstones(user).where(_after(TaskTombstone.change_seq, TaskTombstone.task_id, seen))
        sides.append(tombstones.with_only_columns(TaskTombstone.task_id, TaskTombstone.change_seq)
                     .order_by(TaskTombstone.change_seq, TaskTombstone.task_id).limit(limit).subquery())
    keys = union_all(*(select(side.c.task_id, side.c.change_seq) for side in sides)).subquery("changed")
    page = select(keys).order_by(keys.c.change_seq, keys.c.task_id).limit(limit).subquery("page")
    head = select(User.task_seq).where(User.id == user.id).subquery("head")
    task = aliased(Task, owned_tasks(user, EVERY).subquery("owned"), name="Task")
    return (
        select(head.c.task_seq, page.c.task_id, page.c.change_seq, task).select_from(head)
        .outerjoin(page, true()).outerjoin(task, task.id == page.c.task_id)
        .order_by(page.c.change_seq, page.c.task_id)
    )


def changes(user, since=None, limit=100):
    """The feed's answer: changes (live tasks), deleted (ids), the next cursor and has_more."""
    now = utcnow()  # taken before the read, so the cursor never claims a moment it did not see
    seen = None if since is None else _since(user, since, now)
    rows = db.session.execute(_feed_statement(user, seen, limit + 1)).all()
    head = rows[0].task_seq
    rows = [row for row in rows if row.task_id is not None]
    has_more = len(rows) > limit
    rows = rows[:limit]
    if has_more:
        seq, last_id = rows[-1].change_seq, rows[-1].task_id
    else:
        # Everything up to the user's sequence as this read saw it has been answered.
        seq, last_id = max(head, seen[0] if seen else 0), None
    cursor = cursors.dump(cursors.FEED_SALT, user, {"seq": seq, "id": last_id, "issued": int(now.timestamp())})
    return {
        "changes": [row.Task for row in rows if row.Task is not None and row.Task.deleted_at is None],
        "deleted": [row.task_id for row in rows if row.Task is None or row.Task.deleted_at is not None],
        "cursor": cursor,
        "has_more": has_more,
    }
