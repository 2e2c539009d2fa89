"""The change feed: what changed in the tasks of a user's lists after a cursor, list by list, each in the order
of its own change sequence.

Every list numbers its changes (taskapi.lists.access.next_change) under its row lock, so within a list
sequence order is commit order. A cursor holds one position per list the caller was in: (the list's
sequence number answered up to, and within it the task id; None: the whole of it). A list not in the
cursor is new to the caller (joined, or the first sync): its live tasks come in full. A list in the cursor
the caller is no longer in (left, removed, deleted) goes to `deleted_lists`, and its tasks to `deleted`.
The cost is one read of the caller's memberships plus the changes returned, never the tasks unchanged.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, and_, literal, select, tuple_, union_all
from sqlalchemy.orm import aliased

from taskapi.exceptions import ExpiredError
from taskapi.extensions import db
from taskapi.lists import queries as lists
from taskapi.lists.access import member_lists
from taskapi.lists.models import Membership, TaskList
from taskapi.models import utcnow
from taskapi.tasks import cursors
from taskapi.tasks.models import Task, TaskTombstone
from taskapi.tasks.queries import EVERY, LIVE, list_tasks_of, visible_tasks
from taskapi.tasks.schemas import FeedCursorSchema

FEED_CURSOR_SCHEMA = FeedCursorSchema()


def _since(user, since, now):
    """{list id: (seq, id)} the cursor `since` saw up to, and whether it is a cursor of v2 (one sequence per
    user, now their inbox's); 410 when it is too old."""
    state = cursors.load(cursors.FEED_SALT, FEED_CURSOR_SCHEMA, user, since, "since")
    issued = datetime.fromtimestamp(state["issued"], UTC)
    if issued < now - timedelta(days=current_app.config["SYNC_RETENTION_DAYS"]):
        raise ExpiredError("The cursor is too old; sync again from the start (without since).")
    if "lists" in state:
        return {list_id: (seq, last_id) for list_id, seq, last_id in state["lists"]}, False
    return {lists.inbox_id(user): (state["seq"], state["id"])}, True


def _after(seq_column, id_column, seen):
    seq, last_id = seen
    if last_id is None:
        return seq_column > seq
    return tuple_(seq_column, id_column) > tuple_(seq, last_id)


def _side(query, seq_column, id_column, limit):
    return (query.with_only_columns(seq_column.label("change_seq"), id_column.label("task_id"))
            .order_by(seq_column, id_column).limit(limit).subquery())


def _changes_statement(user, pending, limit):
    """ONE statement: the next `limit` changes of the lists `pending` ({list id: position or None}), in list
    order and within a list in sequence order. Each side reads at most `limit` rows through its index."""
    sides = []
    for list_id, seen in pending.items():
        if seen is None:  # new to the caller: its live tasks, in full
            tasks = list_tasks_of(list_id, LIVE)
        else:
            tasks = list_tasks_of(list_id, EVERY).where(_after(Task.change_seq, Task.id, seen))
            tombstones = select(TaskTombstone).where(TaskTombstone.list_id == list_id,
                                                     _after(TaskTombstone.change_seq, TaskTombstone.task_id, seen))
            sides.append((list_id, _side(tombstones, TaskTombstone.change_seq, TaskTombstone.task_id,
                                         limit)))
        sides.append((list_id, _side(tasks, Task.change_seq, Task.id, limit)))
    keys = union_all(*(select(literal(list_id, Integer).label("list_id"), side.c.change_seq, side.c.task_id)
                       for list_id, side in sides)).subquery("changed")
    page = select(keys).order_by(keys.c.list_id, keys.c.change_seq, keys.c.task_id).limit(limit).subquery("page")
    # Each change with its task as it is now (None: gone for good), and whether the caller can see it where it
    # is now (a task moved to another of their lists is that list's change, not a deletion).
    task = aliased(Task, name="Task")
    member = aliased(Membership, name="member")
    return (
        select(page.c.list_id, page.c.change_seq, page.c.task_id, task, member.role.label("visible_as"))
        .outerjoin(task, task.id == page.c.task_id)
        .outerjoin(member, and_(member.list_id == task.list_id, member.user_id == user.id))
        .order_by(page.c.list_id, page.c.change_seq, page.c.task_id)
    )


def _departed_task_ids(departed):
    """The ids of every task of the lists the caller left, with those that left them after the cursor."""
    ids: list[int] = []
    for list_id, seen in departed.items():
        ids += db.session.execute(list_tasks_of(list_id, EVERY).with_only_columns(Task.id)).scalars().all()
        ids += db.session.execute(select(TaskTombstone.task_id).where(
            TaskTombstone.list_id == list_id, _after(TaskTombstone.change_seq, TaskTombstone.task_id, seen))
        ).scalars().all()
    return ids


def changes(user, since=None, limit=100):
    """The feed's answer: changes (live tasks), deleted (ids), lists, deleted_lists, the next cursor, has_more."""
    now = utcnow()  # taken before the read, so the cursor never claims a moment it did not see
    seen, every_list_new = ({}, True) if since is None else _since(user, since, now)
    heads = dict(db.session.execute(member_lists(user).with_only_columns(TaskList.id, TaskList.task_seq)
                                    .order_by(TaskList.id)).all())
    departed = {list_id: position for list_id, position in seen.items() if list_id not in heads}
    pending = {list_id: seen.get(list_id) for list_id, head in heads.items()
               if list_id not in seen or head > seen[list_id][0] or seen[list_id][1] is not None}
    rows = db.session.execute(_changes_statement(user, pending, limit + 1)).all() if pending else []
    has_more = len(rows) > limit
    rows = rows[:limit]

    positions = {list_id: position for list_id, position in seen.items() if list_id in heads}
    answered = set()
    for row in rows:
        positions[row.list_id] = (row.change_seq, row.task_id)
    last_list = rows[-1].list_id if has_more else None
    for list_id in pending:
        if last_list is not None and list_id >= last_list:
            break
        positions[list_id] = (max(heads[list_id], positions.get(list_id, (0, None))[0]), None)
        answered.add(list_id)
    if last_list is not None:
        answered.add(last_list)

    # A change is the task's current state when it is live in the list that numbered it; otherwise (trashed,
    # gone, moved away) a deletion, unless the caller sees the task live in another of their lists.
    changed = {row.task_id: row.Task for row in rows if row.Task is not None and row.Task.deleted_at is None
               and row.Task.list_id == row.list_id}
    still_visible = {row.task_id for row in rows if row.Task is not None and row.Task.deleted_at is None
                     and row.visible_as is not None}
    gone = [row.task_id for row in rows if row.task_id not in changed and row.task_id not in still_visible]
    departed_ids = _departed_task_ids(departed)
    if departed_ids:
        still_visible |= set(db.session.execute(visible_tasks(user, LIVE).with_only_columns(Task.id).where(
            Task.id.in_(set(departed_ids)))).scalars())
        gone += [task_id for task_id in departed_ids if task_id not in changed and task_id not in still_visible]
    deleted = list(dict.fromkeys(gone))
    reported = heads if every_list_new else answered
    cursor = cursors.dump(cursors.FEED_SALT, user, {
        "lists": [[list_id, seq, last_id] for list_id, (seq, last_id) in sorted(positions.items())],
        "issued": int(now.timestamp()),
    })
    return {
        "changes": list(changed.values()),
        "deleted": deleted,
        "lists": lists.lists_by_id(user, sorted(set(reported) & set(heads))),
        "deleted_lists": sorted(departed),
        "cursor": cursor,
        "has_more": has_more,
    }
