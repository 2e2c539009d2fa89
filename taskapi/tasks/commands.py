"""Writes of tasks: each locks the lists it writes (taskapi.lists.access.next_change), then reads the tasks and
the caller's role under those locks, through the queries' door."""

from sqlalchemy import Integer, bindparam, insert, update
from sqlalchemy.orm.exc import StaleDataError

from taskapi import transactions
from taskapi.activity.models import Action
from taskapi.activity.record import created_changes, entry, record, record_many, task_changes, update_action
from taskapi.exceptions import InvalidFieldError, NotFoundError, VersionMismatchError
from taskapi.extensions import db
from taskapi.lists.access import (
    CHANGE_VALUES,
    LISTS,
    Permission,
    adjust_task_count,
    changing,
    next_change,
    next_inbox_change,
    require,
    restricted_list,
    role_in,
)
from taskapi.models import utcnow
from taskapi.tasks.models import MAX_ID, Status, Task, TaskTombstone
from taskapi.tasks.positions import first_position, next_position, place
from taskapi.tasks.queries import EACH_USER, EVERY, LIVE, get_task, list_tasks_of, role_in_list, visible_tasks
from taskapi.tasks.tags import set_tags

# Locks the list of a task the user can see; the task is read again under the lock (locked_task).
LOCK_LIST_OF_TASK = (
    update(LISTS)
    .where(LISTS.c.id == visible_tasks(EACH_USER, EVERY).with_only_columns(Task.list_id)
           .where(Task.id == bindparam("task_id", type_=Integer)).scalar_subquery())
    .values(CHANGE_VALUES)
    .returning(LISTS.c.id, LISTS.c.task_seq, LISTS.c.webhook_count)
)
# A task moved to another list while a write waited for the old list's lock: the write tries again.
LOCK_ATTEMPTS = 3
NOT_YOUR_LIST = "Must be the id of one of your lists."
NOT_A_MEMBER = "Must be a member of the task's list, or null."


def permission_for(changes):
    """What a change needs: changing only `status` is completing; anything else is writing."""
    return Permission.complete if set(changes) <= {"status"} else Permission.write


def check_version(task, expected_versions):
    """Refuse the write unless the task's version is one the caller expects (None: any)."""
    if expected_versions is not None and task.version not in expected_versions:
        raise VersionMismatchError()


def commit_write(entries=()):
    """Record the write's activity `entries` (taskapi.activity.record.entry) and commit it with them."""
    try:
        record_many(entries)
        db.session.commit()
    except StaleDataError:
        # Another writer changed the row between our read and our write.
        db.session.rollback()
        raise VersionMismatchError() from None


def locked_task(user, task_id, permission, scope=LIVE):
    """Lock the list of the user's task, then read the task under that lock: (task, the list's sequence number).

    404 unless the user is a member of its list (then as now), 403 unless their role allows `permission`.
    """
    if not 0 < task_id <= MAX_ID:
        raise NotFoundError()
    for _ in range(LOCK_ATTEMPTS):
        params = {"user_id": user.id, "task_id": task_id, "added": 0, "now": utcnow()}
        row = db.session.execute(LOCK_LIST_OF_TASK, params).first()
        if row is None:
            raise NotFoundError()
        changing(row.id, row.webhook_count)
        task = get_task(user, task_id, scope, permission)
        if task.list_id == row.id:
            return task, row.task_seq
        db.session.rollback()  # it moved to another list meanwhile: lock that one instead
    raise VersionMismatchError()


def lock_list_for(user, list_id, permission, field="list_id", added=0):
    """Lock a list the user names in a body, judged by their role under the lock; 422 on `field` unless they
    are a member (a list they cannot see is not told apart from one that does not exist), 403 unless their
    role allows `permission`. Returns the sequence number."""
    if not 0 < list_id <= MAX_ID or role_in(user, list_id) is None:
        raise InvalidFieldError(field, NOT_YOUR_LIST)
    try:
        seq = next_change(list_id, added)
    except NotFoundError:
        raise InvalidFieldError(field, NOT_YOUR_LIST) from None
    role = role_in(user, list_id)
    if role is None:
        raise InvalidFieldError(field, NOT_YOUR_LIST)
    require(role, permission)
    return seq


def check_assignee(list_id, assignee_id):
    """An assignee must be a member of the task's list."""
    if assignee_id is not None and role_in(_Someone(assignee_id), list_id) is None:
        raise InvalidFieldError("assignee_id", NOT_A_MEMBER)


class _Someone:
    def __init__(self, user_id):
        self.id = user_id


def _apply(task, changes, seq, now):
    """Set the fields that really change, stamped with `seq`; returns {field: its value before}. Tags are left
    to set_tags."""
    changed = {field: getattr(task, field) for field, value in changes.items() if getattr(task, field) != value}
    if not changed:
        return changed
    for field in changed:
        if field != "tags":
            setattr(task, field, changes[field])
    if "status" in changed:
        task.completed_at = now if task.status == Status.completed else None
    task.updated_at = now
    task.change_seq = seq
    return changed


def _write(tasks_and_seqs, changes):
    """Apply `changes` to each task (with its list's sequence number); version + 1 (by the ORM) for each that
    really changed. Returns [{field: its value before}] of each task, in order."""
    now = utcnow()
    retagged = []
    befores = []
    for task, seq in tasks_and_seqs:
        before = _apply(task, changes, seq, now)
        befores.append(before)
        if "tags" in before:
            retagged.append((task, changes["tags"]))
    if retagged:
        set_tags(retagged)
    return befores


def _entries(user, task, before):
    """The activity of a change of the task's fields in its list: none when nothing changed."""
    changes = task_changes(task, before)
    return [entry(update_action(changes), task.list_id, user, task, changes)] if changes else []


def new_task(list_id, user, fields, seq, position):
    """Add a task at `position`; flushed, so it has its id. (The seed also gives its times.)"""
    values = dict(fields)
    tags = values.pop("tags", [])
    now = utcnow()  # one instant: a new task is not completed before it is created
    task = Task(**{"created_at": now, "updated_at": now, **values}, list_id=list_id, created_by=user.id,
                position=position, change_seq=seq, tags=[])
    if task.status == Status.completed and task.completed_at is None:
        task.completed_at = task.created_at
    db.session.add(task)
    set_tags([(task, tags)])
    return task


def create_task(user, fields):
    """Create a task, placed first in its list: the caller's inbox unless `list_id` names another (with a
    personal token made for one list, that list: it reaches no other)."""
    fields = dict(fields)
    list_id = fields.pop("list_id", None) or restricted_list()
    if list_id is None:
        list_id, seq = next_inbox_change(user, added=1)
    else:
        seq = lock_list_for(user, list_id, Permission.write, added=1)
    check_assignee(list_id, fields.get("assignee_id"))
    task = new_task(list_id, user, fields, seq, place(list_id, seq, None, first_position(list_id)))
    record(Action.task_created, list_id, user, task, created_changes(task))
    transactions.commit()
    return task


def _leave_list(task, seq):
    """`task` leaves its list (moved elsewhere): the list's members who cannot see it elsewhere are told."""
    db.session.execute(insert(TaskTombstone).values(list_id=task.list_id, change_seq=seq, task_id=task.id,
                                                    deleted_at=utcnow()))
    adjust_task_count(task.list_id, -1)


def _move_to_list(task, target, target_seq, source_seq):
    """Put a live task first in list `target` (locked, with room checked by the caller)."""
    _leave_list(task, source_seq)
    task.position = place(target, target_seq, None, first_position(target))
    task.list_id = target


def _lock_lists(user, task_ids, target, permission):
    """Lock every list the tasks are in, and `target` (None: no move), in id order; then read the tasks under
    the locks. Returns ({task id: task}, {list id: sequence number}); 404 unless every task is the user's to
    see, 403 unless their role allows `permission` on each (and writing in `target`)."""
    wanted = [task_id for task_id in task_ids if 0 < task_id <= MAX_ID]
    for _ in range(LOCK_ATTEMPTS):
        seen = db.session.execute(visible_tasks(user).with_only_columns(Task.id, Task.list_id)
                                  .where(Task.id.in_(wanted))).all()
        if len(seen) != len(task_ids):
            raise NotFoundError("A task of `ids` was not found.")
        lists = {row.list_id for row in seen}
        seqs = {}
        for list_id in sorted(lists | ({target} if target is not None else set())):
            if list_id == target:
                added = sum(1 for row in seen if row.list_id != target)
                seqs[list_id] = lock_list_for(user, list_id, Permission.write, added=added)
            else:
                seqs[list_id] = next_change(list_id)
        rows = db.session.execute(visible_tasks(user).add_columns(role_in_list(user)).where(Task.id.in_(wanted))).all()
        if len(rows) != len(task_ids):
            raise NotFoundError("A task of `ids` was not found.")
        for row in rows:
            require(row.role, permission)
        if all(row.Task.list_id in seqs for row in rows):
            return {row.Task.id: row.Task for row in rows}, seqs
        db.session.rollback()  # a task moved to another list meanwhile: lock again
    raise VersionMismatchError()


def update_task(user, task_id, changes, expected_versions=None):
    """Change the fields given; `list_id` moves the task (first in the other list)."""
    changes = dict(changes)
    target = changes.pop("list_id", None)
    permission = permission_for(changes) if target is None else Permission.write
    if target is None:
        task, seq = locked_task(user, task_id, permission)
        seqs = {task.list_id: seq}
    else:
        found, seqs = _lock_lists(user, [task_id], target, permission)
        task = found[task_id]
    check_version(task, expected_versions)
    commit_write(_change(user, task, changes, target, seqs))
    return task


def _change(user, task, changes, target, seqs):
    """Apply a PATCH's changes (a move to list `target` among them); returns the activity entries: a move
    between lists is task.moved in both lists, with the other fields it changed."""
    source = task.list_id
    moved = target is not None and target != source
    if moved:
        if "assignee_id" not in changes and task.assignee_id is not None and role_in(
                _Someone(task.assignee_id), target) is None:
            changes = {**changes, "assignee_id": None}  # the assignee is no member there
        _move_to_list(task, target, seqs[target], seqs[task.list_id])
        task.change_seq = seqs[target]
        task.updated_at = utcnow()
    if "assignee_id" in changes:
        check_assignee(task.list_id, changes["assignee_id"])
    [before] = _write([(task, seqs[task.list_id])], changes)
    if not moved:
        return _entries(user, task, before)
    moved_changes = task_changes(task, {"list_id": source, **before})
    return [entry(Action.task_moved, list_id, user, task, moved_changes) for list_id in (source, task.list_id)]


def toggle_task(user, task_id, expected_versions=None):
    task, seq = locked_task(user, task_id, Permission.complete)
    check_version(task, expected_versions)
    [before] = _write([(task, seq)],
                      {"status": Status.pending if task.status == Status.completed else Status.completed})
    commit_write(_entries(user, task, before))
    return task


def update_tasks(user, ids, changes):
    """The same changes to each task of `ids`, all or nothing: 404 unless every one is a live task the user can
    see, 403 unless their role allows the change on every one."""
    changes = dict(changes)
    target = changes.pop("list_id", None)
    permission = permission_for(changes) if target is None else Permission.write
    found, seqs = _lock_lists(user, ids, target, permission)
    tasks = [found[task_id] for task_id in ids]
    entries = []
    for task in tasks:
        entries += _change(user, task, changes, target, seqs)
    commit_write(entries)
    return tasks


def _after_task(list_id, task, after_id):
    """The live task of the same list a move puts `task` right after (None: first); 422 on `after` otherwise."""
    if after_id is None:
        return None
    after = None
    if after_id != task.id and 0 < after_id <= MAX_ID:
        after = db.session.execute(list_tasks_of(list_id).where(Task.id == after_id)).scalar_one_or_none()
    if after is None:
        raise InvalidFieldError("after", "Must be the id of another live task of the same list.")
    return after


def move_task(user, task_id, after_id, expected_versions=None):
    """Put the task right after `after_id` (None: first) in its list. Usually one row is written: the task's."""
    task, seq = locked_task(user, task_id, Permission.write)
    check_version(task, expected_versions)
    after = _after_task(task.list_id, task, after_id)
    before = after and after.position
    position = place(task.list_id, seq, before, next_position(task.list_id, task, before), task)
    [old] = _write([(task, seq)], {"position": position})
    commit_write(_entries(user, task, old))
    return task
