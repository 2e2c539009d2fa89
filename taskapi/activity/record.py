"""Recording activity: the entries of a change, inserted in the change's own transaction.

Every write of the service records what it changed here, before its commit:

    record(action, list_id, actor, task=None, changes=None, task_id=None) -> Activity
    record_many([entry(action, list_id, actor, task=None, changes=None, task_id=None), ...]) -> [Activity]

`actor` is the user who made the change (None: the service itself, as maintenance); `task` the Task
object written (its id is the entry's `task_id`; a new task is flushed first, which costs no statement
of its own), or `task_id` alone when no object is at hand (tasks trashed or deleted in bulk);
`changes` is {field: [old, new]} with JSON values (task_changes() makes it from a task's old values).
The entries are inserted together: one INSERT, however many (SQLAlchemy's insertmanyvalues batches
them, RETURNING their ids), in the caller's transaction, so an entry exists exactly when its
change commits; a refused or rolled-back write leaves none.

Once inserted, `taskapi.activity.signals.activity_recorded` is sent with the app and `entries`, a list of
(Activity, Task or None, actor) triples: the task as it is after the change. Receivers (webhooks) add their own
rows to the same session, so they commit or roll back with the change.
"""

import enum
from datetime import date, datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import insert

from taskapi.activity.models import DESCRIPTION_CUT, Action, Activity
from taskapi.activity.signals import activity_recorded
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks.models import Status

# Fields a task's entry names when a client changes them; the ones the service derives (completed_at,
# updated_at, version) follow from these and are left out.
TASK_FIELDS = ("title", "description", "status", "priority", "due_at", "tags", "assignee_id", "list_id",
               "position")
# What task.created names: the fields set, each [null, value] (a field left empty is not named).
CREATED_FIELDS = ("title", "description", "status", "priority", "due_at", "tags", "assignee_id")


class Entry(NamedTuple):
    action: Action
    list_id: int
    actor: Any
    task: Any
    changes: dict
    task_id: int | None


def entry(action, list_id, actor, task=None, changes=None, task_id=None):
    """One entry to record with record_many()."""
    return Entry(Action(action), list_id, actor, task, changes or {}, task_id)


def json_value(field, value):
    """A value as the task's (or member's) answer shows it: ISO dates, enums' strings, lists; a description
    cut to DESCRIPTION_CUT characters."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    if field == "description" and isinstance(value, str):
        return value[:DESCRIPTION_CUT]
    return value


def task_changes(task, old):
    """{field: [old, new]} of the fields in `old` (their values before the change) that `task` now has
    otherwise."""
    changes = {}
    for field, before in old.items():
        after = getattr(task, field)
        if before != after:
            changes[field] = [json_value(field, before), json_value(field, after)]
    return changes


def created_changes(task):
    """task.created's changes: each field the new task has a value in, [null, value]."""
    changes = {}
    for field in CREATED_FIELDS:
        value = getattr(task, field)
        if value is not None and value != []:
            changes[field] = [None, json_value(field, value)]
    return changes


def update_action(changes):
    """What a change of a task's fields is: completing or reopening when only its status changed to or from
    completed; else an update (a move has its own action, chosen by its caller)."""
    if set(changes) == {"status"}:
        old, new = changes["status"]
        if new == Status.completed.value:
            return Action.task_completed
        if old == Status.completed.value:
            return Action.task_reopened
    if set(changes) == {"position"}:
        return Action.task_moved
    return Action.task_updated


# The entries' INSERT, built once: Core on the table, RETURNING only the ids. The ORM's form (insert(Activity)
# .returning(Activity)) cost about 0.25 ms of CPU a write more: building the statement again, its bulk-insert
# bookkeeping, loading the returned rows into persistent objects. The rest of each entry is what was sent.
INSERT_ENTRIES = insert(Activity.__table__).returning(Activity.__table__.c.id)


def record_many(entries):
    """Insert `entries` (made by entry()) in one INSERT in the session's transaction, then send activity_recorded.
    Returns the Activity rows, in order (not added to the session: their values are those inserted); nothing is
    done for none."""
    entries = list(entries)
    if not entries:
        return []
    # The write's own changes go first, as the ORM's autoflush would have sent them: new tasks get their ids
    # (their INSERT was due anyway) and a lost update's StaleDataError surfaces here, before the entries.
    db.session.flush()
    now = utcnow()
    values = [{"list_id": item.list_id, "actor_id": item.actor.id if item.actor is not None else None,
               "task_id": item.task.id if item.task is not None else item.task_id,
               "action": item.action.value, "changes": item.changes, "at": now}
              for item in entries]
    # One INSERT … VALUES (…), (…) RETURNING id (insertmanyvalues). The ids of one INSERT grow in the order
    # of its VALUES on both databases, so the ids sorted are the entries' in order.
    ids = sorted(db.session.execute(INSERT_ENTRIES, values).scalars().all())
    rows = [Activity(id=activity_id, **row) for activity_id, row in zip(ids, values, strict=True)]
    activity_recorded.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                           entries=[(row, item.task, item.actor) for row, item in zip(rows, entries, strict=True)])
    return rows


def record(action, list_id, actor, task=None, changes=None, task_id=None):
    """Record one entry (see record_many()); returns it."""
    return record_many([entry(action, list_id, actor, task, changes, task_id)])[0]
