"""Writes of tasks: each takes the user's change lock first (next_change), then reads through queries."""

from flask import current_app
from sqlalchemy import bindparam, update
from sqlalchemy.orm.exc import StaleDataError

from taskapi import transactions
from taskapi.auth.models import User
from taskapi.exceptions import (
    AccountGoneError,
    InvalidFieldError,
    LimitReachedError,
    NotFoundError,
    VersionMismatchError,
)
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks.models import MAX_ID, Status, Task
from taskapi.tasks.positions import first_position, next_position, place
from taskapi.tasks.queries import get_task, owned_tasks
from taskapi.tasks.tags import set_tags

USERS = User.__table__
# Built once: the statement every write of a user's tasks starts with.
NEXT_CHANGE = (
    update(USERS).where(USERS.c.id == bindparam("user_id"))
    .values(task_seq=USERS.c.task_seq + 1, task_count=USERS.c.task_count + bindparam("added"))
    .returning(USERS.c.task_seq, USERS.c.task_count)
)
ADJUST_TASK_COUNT = (
    update(USERS).where(USERS.c.id == bindparam("user_id"))
    .values(task_count=USERS.c.task_count + bindparam("added"))
)
TOO_MANY_TASKS = "You have as many tasks as one account may keep; delete some first."


def next_change(user, added=0):
    """Take `user`'s next change sequence number; every transaction writing their tasks starts here.

    The UPDATE locks the user's row until the commit: one user's task writes run one at a time on
    every worker and instance, so sequence order is commit order (the change feed misses nothing),
    positions computed under it are unique, and locks are always taken users row first, then tasks.
    `added` is how many tasks the write adds (a create: 1); the trash counts as much as the live
    tasks (only deleting for good takes one out), so beyond MAX_TASKS_PER_USER tasks, live and
    trashed, a create is refused with 409.
    """
    row = db.session.execute(NEXT_CHANGE, {"user_id": user.id, "added": added}).first()
    if row is None:  # the account was deleted after this request authenticated
        raise AccountGoneError()
    seq, count = row
    if added > 0 and count > current_app.config["MAX_TASKS_PER_USER"]:
        db.session.rollback()
        raise LimitReachedError("too_many_tasks", TOO_MANY_TASKS)
    return seq


def adjust_task_count(user, added):
    """For writes that learn how many tasks they added or deleted for good only as they run (under the lock)."""
    if added:
        db.session.execute(ADJUST_TASK_COUNT, {"user_id": user.id, "added": added})


def check_version(task, expected_versions):
    """Refuse the write unless the task's version is one the caller expects (None: any)."""
    if expected_versions is not None and task.version not in expected_versions:
        raise VersionMismatchError()


def _apply(task, changes, seq, now):
    """Set the fields that really change, stamped with `seq`; returns them. Tags are left to set_tags."""
    changed = {field: value for field, value in changes.items() if getattr(task, field) != value}
    if not changed:
        return changed
    for field, value in changed.items():
        if field != "tags":
            setattr(task, field, value)
    if "status" in changed:
        task.completed_at = now if task.status == Status.completed else None
    task.updated_at = now
    task.change_seq = seq
    return changed


def _write(tasks, changes, seq):
    """Apply `changes` to each task; version + 1 (by the ORM) for each that really changed."""
    now = utcnow()
    retagged = []
    for task in tasks:
        if "tags" in _apply(task, changes, seq, now):
            retagged.append((task, changes["tags"]))
    if retagged:
        set_tags(retagged)


def commit_write():
    try:
        db.session.commit()
    except StaleDataError:
        # Another writer changed the row between our read and our write.
        db.session.rollback()
        raise VersionMismatchError() from None


def new_task(user, fields, seq, position):
    """Add a task at `position`; flushed, so it has its id. (The seed also gives its times.)"""
    values = dict(fields)
    tags = values.pop("tags", [])
    now = utcnow()  # one instant: a new task is not completed before it is created
    task = Task(**{"created_at": now, "updated_at": now, **values}, user_id=user.id, position=position,
                change_seq=seq, tags=[])
    if task.status == Status.completed and task.completed_at is None:
        task.completed_at = task.created_at
    db.session.add(task)
    set_tags([(task, tags)])
    return task


def create_task(user, fields):
    """Create a task, placed first."""
    seq = next_change(user, added=1)
    task = new_task(user, fields, seq, place(user, seq, None, first_position(user)))
    transactions.commit()
    return task


def update_task(user, task_id, changes, expected_versions=None):
    seq = next_change(user)
    task = get_task(user, task_id)
    check_version(task, expected_versions)
    _write([task], changes, seq)
    commit_write()
    return task


def toggle_task(user, task_id, expected_versions=None):
    seq = next_change(user)
    task = get_task(user, task_id)
    check_version(task, expected_versions)
    _write([task], {"status": Status.pending if task.status == Status.completed else Status.completed}, seq)
    commit_write()
    return task


def update_tasks(user, ids, changes):
    """The same changes to each task of `ids`, all or nothing: 404 unless every one is a live task of the user."""
    seq = next_change(user)
    wanted = [task_id for task_id in ids if task_id <= MAX_ID]
    found = {task.id: task for task in db.session.execute(owned_tasks(user).where(Task.id.in_(wanted))).scalars()}
    if len(found) != len(ids):
        raise NotFoundError("A task of `ids` was not found.")
    tasks = [found[task_id] for task_id in ids]
    _write(tasks, changes, seq)
    commit_write()
    return tasks


def _after_task(user, task, after_id):
    """The live task a move puts `task` right after (None: first); 422 on `after` otherwise."""
    if after_id is None:
        return None
    after = None
    if after_id != task.id and 0 < after_id <= MAX_ID:
        after = db.session.execute(owned_tasks(user).where(Task.id == after_id)).scalar_one_or_none()
    if after is None:
        raise InvalidFieldError("after", "Must be the id of another task of yours, not in the trash.")
    return after


def move_task(user, task_id, after_id, expected_versions=None):
    """Put the task right after `after_id` (None: first). Usually one row is written: the task's."""
    seq = next_change(user)
    task = get_task(user, task_id)
    check_version(task, expected_versions)
    after = _after_task(user, task, after_id)
    before = after and after.position
    _write([task], {"position": place(user, seq, before, next_position(user, task, before), task)}, seq)
    commit_write()
    return task
