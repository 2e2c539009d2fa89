"""The trash: DELETE keeps a task there, restorable, for TRASH_DAYS; then it is gone for good."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, insert, literal, select, update

from taskapi.auth.models import User
from taskapi.exceptions import VersionMismatchError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow
from taskapi.tasks.commands import adjust_task_count, check_version, commit_write, next_change
from taskapi.tasks.models import Status, Task, TaskTombstone
from taskapi.tasks.positions import next_position, place, position_taken
from taskapi.tasks.queries import TASKS, TRASH, get_task, owned_tasks

# Tombstones outlive the feed cursors that may need them by this much, whatever the clocks of the
# instances that wrote and read them say.
CLOCK_SKEW_MARGIN_DAYS = 1


def trash_task(user, task_id, expected_versions=None):
    """Move a live task to the trash: a new change, but the same version (a restore adds one)."""
    seq = next_change(user)
    task = get_task(user, task_id)
    check_version(task, expected_versions)
    # A Core UPDATE: the ORM would bump the version. Its WHERE keeps the ORM's guard against a lost update.
    trashed = rowcount(db.session.execute(
        update(TASKS).where(owned_tasks(user).whereclause, TASKS.c.id == task.id, TASKS.c.version == task.version)
        .values(deleted_at=utcnow(), change_seq=seq)
    ))
    if trashed != 1:
        db.session.rollback()
        raise VersionMismatchError()
    db.session.commit()


def restore_task(user, task_id):
    """Bring a task back from the trash as it was (tags, fields); its version grows by 1.

    It comes back to its place: its position, unless a live task was given that key meanwhile (the trash has
    no say in the order), and then right after that task.
    """
    seq = next_change(user)
    task = get_task(user, task_id, scope=TRASH)
    if position_taken(user, task.position):
        task.position = place(user, seq, task.position, next_position(user, task, task.position), task)
    task.deleted_at = None
    task.change_seq = seq
    commit_write()
    return task


def clear_completed(user):
    """Trash every completed live task, in one statement; returns how many."""
    seq = next_change(user)
    completed = owned_tasks(user).where(Task.status == Status.completed)
    count = rowcount(db.session.execute(
        update(TASKS).where(completed.whereclause).values(deleted_at=utcnow(), change_seq=seq)
    ))
    db.session.commit()
    return count


def _delete_for_good(user, trashed):
    """Delete the tasks of `user` that `trashed` selects, leaving a tombstone for each; the only way a task
    stops counting towards MAX_TASKS_PER_USER.

    A tombstone keeps the change_seq the task had in the trash: it replaces the trashed row at the
    same point of the user's sequence, in the same commit, so a feed reader sees one or the other,
    and one who already saw the task trashed is not told again.
    """
    gone = trashed.with_only_columns(Task.id, Task.user_id, Task.change_seq, literal(utcnow(), Task.deleted_at.type))
    db.session.execute(insert(TaskTombstone).from_select(["task_id", "user_id", "change_seq", "deleted_at"], gone))
    deleted = rowcount(db.session.execute(delete(TASKS).where(trashed.whereclause)))
    adjust_task_count(user, -deleted)
    return deleted


def delete_all_for_good(user, seq):
    """Every task of the user gone for good (the demo's reset): trashed with `seq`, then deleted."""
    db.session.execute(
        update(TASKS).where(owned_tasks(user).whereclause).values(deleted_at=utcnow(), change_seq=seq)
    )
    _delete_for_good(user, owned_tasks(user, TRASH))


def empty_trash(user):
    """Delete every task in the user's trash for good."""
    next_change(user)
    _delete_for_good(user, owned_tasks(user, TRASH))
    db.session.commit()


def purge():
    """Delete for good what has been in the trash over TRASH_DAYS, user by user under each one's lock;
    drop tombstones older than SYNC_RETENTION_DAYS (feed cursors that old are refused). Returns
    (tasks deleted, tombstones dropped)."""
    now = utcnow()
    cutoff = now - timedelta(days=current_app.config["TRASH_DAYS"])

    def expired(user):
        return owned_tasks(user, TRASH).where(Task.deleted_at < cutoff)

    # owned_tasks(User, …) correlates with each row of users: the owners of expired trash.
    owners = db.session.execute(select(User).where(exists(expired(User)))).scalars().all()
    deleted = 0
    for owner in owners:
        next_change(owner)
        deleted += _delete_for_good(owner, expired(owner))
        db.session.commit()
    horizon = now - timedelta(days=current_app.config["SYNC_RETENTION_DAYS"] + CLOCK_SKEW_MARGIN_DAYS)
    dropped = rowcount(db.session.execute(delete(TaskTombstone).where(TaskTombstone.deleted_at < horizon)))
    db.session.commit()
    return deleted, dropped
