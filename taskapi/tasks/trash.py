"""The trash, per list: DELETE keeps a task there, restorable, for TRASH_DAYS; then it is gone for good."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, insert, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from taskapi.activity.models import Action
from taskapi.activity.record import entry, record, record_many
from taskapi.exceptions import InvalidFieldError, InvalidParameterError, NotFoundError, VersionMismatchError
from taskapi.extensions import db
from taskapi.lists.access import Permission, adjust_task_count, next_change, next_inbox_change
from taskapi.models import rowcount, utcnow
from taskapi.tasks.commands import check_version, commit_write, lock_list_for, locked_task
from taskapi.tasks.models import Status, Task, TaskTombstone
from taskapi.tasks.positions import next_position, place, position_taken
from taskapi.tasks.queries import EVERY, TASKS, TRASH, list_tasks_of

# Tombstones outlive the feed cursors that may need them by this much, whatever the clocks of the
# instances that wrote and read them say.
CLOCK_SKEW_MARGIN_DAYS = 1


def trash_task(user, task_id, expected_versions=None):
    """Move a live task to the trash: a new change, but the same version (a restore adds one)."""
    task, seq = locked_task(user, task_id, Permission.write)
    check_version(task, expected_versions)
    # A Core UPDATE: the ORM would bump the version. Its WHERE keeps the ORM's guard against a lost update.
    now = utcnow()
    trashed = rowcount(db.session.execute(
        update(TASKS).where(list_tasks_of(task.list_id).whereclause, TASKS.c.id == task.id,
                            TASKS.c.version == task.version)
        .values(deleted_at=now, change_seq=seq)
    ))
    if trashed != 1:
        db.session.rollback()
        raise VersionMismatchError()
    # The object as the row now is (for the activity's receivers), without marking it changed.
    set_committed_value(task, "deleted_at", now)
    set_committed_value(task, "change_seq", seq)
    record(Action.task_trashed, task.list_id, user, task)
    db.session.commit()


def restore_task(user, task_id):
    """Bring a task back from the trash as it was (tags, fields); its version grows by 1.

    It comes back to its place: its position, unless a live task was given that key meanwhile (the trash has
    no say in the order), and then right after that task. It never needs room: the trash counts already.
    """
    task, seq = locked_task(user, task_id, Permission.write, scope=TRASH)
    if position_taken(task.list_id, task.position):
        task.position = place(task.list_id, seq, task.position,
                              next_position(task.list_id, task, task.position), task)
    task.deleted_at = None
    task.change_seq = seq
    commit_write([entry(Action.task_restored, task.list_id, user, task)])
    return task


def _lock_list(user, list_id):
    """Lock the list a trash-wide operation acts on: the user's inbox (None), or one they may write in."""
    if list_id is None:
        return next_inbox_change(user)
    try:
        return list_id, lock_list_for(user, list_id, Permission.write)
    except InvalidFieldError as error:  # the list is named in the query, not in a body
        raise InvalidParameterError("list_id", error.message) from None


def clear_completed(user, list_id=None):
    """Trash every completed live task of a list (the inbox by default), in one statement; returns how many."""
    list_id, seq = _lock_list(user, list_id)
    completed = list_tasks_of(list_id).where(Task.status == Status.completed)
    trashed = db.session.execute(
        update(TASKS).where(completed.whereclause).values(deleted_at=utcnow(), change_seq=seq).returning(TASKS.c.id)
    ).scalars().all()
    record_many(entry(Action.task_trashed, list_id, user, task_id=task_id) for task_id in sorted(trashed))
    db.session.commit()
    return len(trashed)


def _delete_for_good(list_id, trashed, seq=None, recorded=True, actor=None):
    """Delete the tasks of a list that `trashed` selects, leaving a tombstone for each; the only way a task
    stops counting towards MAX_TASKS_PER_LIST.

    A tombstone keeps the change_seq the task had in the trash (or `seq` when given): it replaces the
    trashed row at the same point of the list's sequence, in the same commit, so a feed reader sees one
    or the other, and one who already saw the task trashed is not told again.
    With `recorded`, each is a task.deleted activity entry of `actor` (None: the service's own purge).
    """
    change_seq = Task.change_seq if seq is None else literal(seq, Task.change_seq.type)
    gone = trashed.with_only_columns(Task.list_id, change_seq, Task.id, literal(utcnow(), Task.deleted_at.type))
    db.session.execute(insert(TaskTombstone).from_select(["list_id", "change_seq", "task_id", "deleted_at"], gone))
    deleted = db.session.execute(delete(TASKS).where(trashed.whereclause).returning(TASKS.c.id)).scalars().all()
    adjust_task_count(list_id, -len(deleted))
    if recorded:
        record_many(entry(Action.task_deleted, list_id, actor, task_id=task_id) for task_id in sorted(deleted))
    return len(deleted)


def delete_list_tasks(list_id, seq):
    """Every task of a list gone for good, each with a tombstone at `seq` (the list deleted, or the demo's
    reset), under the list's lock. Not recorded as activity: the list's activity goes with it, or the demo's
    account starts again."""
    return _delete_for_good(list_id, list_tasks_of(list_id, EVERY), seq, recorded=False)


def empty_trash(user, list_id=None):
    """Delete every task in a list's trash (the inbox by default) for good."""
    list_id, _ = _lock_list(user, list_id)
    _delete_for_good(list_id, list_tasks_of(list_id, TRASH), actor=user)
    db.session.commit()


def purge():
    """Delete for good what has been in the trash over TRASH_DAYS, list by list under each one's lock;
    drop tombstones older than SYNC_RETENTION_DAYS (feed cursors that old are refused). Returns
    (tasks deleted, tombstones dropped)."""
    now = utcnow()
    cutoff = now - timedelta(days=current_app.config["TRASH_DAYS"])

    def expired(list_id):
        return list_tasks_of(list_id, TRASH).where(Task.deleted_at < cutoff)

    lists = db.session.execute(select(Task.list_id).where(Task.deleted_at < cutoff).distinct()).scalars().all()
    deleted = 0
    for list_id in lists:
        try:
            next_change(list_id)
        except NotFoundError:  # the list was deleted meanwhile, with its tasks
            db.session.rollback()
            continue
        deleted += _delete_for_good(list_id, expired(list_id))
        db.session.commit()
    horizon = now - timedelta(days=current_app.config["SYNC_RETENTION_DAYS"] + CLOCK_SKEW_MARGIN_DAYS)
    dropped = rowcount(db.session.execute(delete(TaskTombstone).where(TaskTombstone.deleted_at < horizon)))
    db.session.commit()
    return deleted, dropped
