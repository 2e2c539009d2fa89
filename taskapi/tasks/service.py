"""Task rules and queries; every query starts from owned_tasks(), so isolation cannot be forgotten."""

import functools
import operator
from datetime import datetime

from flask import current_app
from sqlalchemy import String, and_, bindparam, case, cast, func, literal, or_, select, true, tuple_, update
from sqlalchemy.orm import aliased
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
from taskapi.models import contains_pattern, utcnow
from taskapi.tasks import cursors, positions
from taskapi.tasks.models import Priority, Status, Task, TaskTag, TaskTombstone
from taskapi.tasks.schemas import TaskFilterSchema, TaskSchema
from taskapi.tasks.tags import set_tags

MAX_ID = 2**31 - 1  # beyond the INTEGER column: no such task, not a database error
TASK_SCHEMA = TaskSchema()
FILTER_SCHEMA = TaskFilterSchema()
FILTERS = ("status", "priority", "tag", "q", "due_before", "due_after", "sort")

# What owned_tasks() selects: the live tasks (every route but the trash's), the trash, or both.
LIVE, TRASH, EVERY = "live", "trash", "every"

TASKS = Task.__table__
USERS = User.__table__
# Built once: the statement every write of a user's tasks starts with.
NEXT_CHANGE = (
    update(USERS).where(USERS.c.id == bindparam("user_id"))
    .values(task_seq=USERS.c.task_seq + 1, live_task_count=USERS.c.live_task_count + bindparam("live"))
    .returning(USERS.c.task_seq, USERS.c.live_task_count)
)
ADJUST_LIVE_COUNT = (
    update(USERS).where(USERS.c.id == bindparam("user_id"))
    .values(live_task_count=USERS.c.live_task_count + bindparam("live"))
)
TOO_MANY_TASKS = "You have as many tasks as one account may keep; delete some first."


def owned_tasks(user, scope=LIVE):
    """The only way to select tasks: those of `user`, live (by default), in the trash, or both.

    `user` may also be the User class: the query then matches each user's own tasks (a correlated
    subquery over users).
    """
    query = select(Task).where(Task.user_id == user.id)
    if scope == LIVE:
        return query.where(Task.deleted_at.is_(None))
    if scope == TRASH:
        return query.where(Task.deleted_at.is_not(None))
    return query


class _EachUser:
    """A stand-in user whose id is a bound parameter: statements built once from owned_tasks() serve every
    user (SQLAlchemy keeps a built statement's compiled form; rebuilding one costs each request ~0.5 ms)."""

    id = bindparam("user_id")


EACH_USER = _EachUser()


def owned_tombstones(user):
    """owned_tasks()' sibling for tasks gone for good: the only way to select tombstones."""
    return select(TaskTombstone).where(TaskTombstone.user_id == user.id)


def next_change(user, live=0):
    """Take `user`'s next change sequence number; every transaction writing their tasks starts here.

    The UPDATE locks the user's row until the commit: one user's task writes run one at a time on
    every worker and instance, so sequence order is commit order (the change feed misses nothing),
    positions computed under it are unique, and locks are always taken users row first, then tasks.
    `live` is how many tasks the write brings to life (a create, a restore: 1) or takes out (a
    trash: -1); beyond MAX_TASKS_PER_USER live tasks the write is refused with 409.
    """
    row = db.session.execute(NEXT_CHANGE, {"user_id": user.id, "live": live}).first()
    if row is None:  # the account was deleted after this request authenticated
        raise AccountGoneError()
    seq, live_count = row
    if live > 0 and live_count > current_app.config["MAX_TASKS_PER_USER"]:
        db.session.rollback()
        raise LimitReachedError("too_many_tasks", TOO_MANY_TASKS)
    return seq


def adjust_live_count(user, live):
    """For writes that learn how many tasks they brought to life or took out only as they run (under the lock)."""
    if live:
        db.session.execute(ADJUST_LIVE_COUNT, {"user_id": user.id, "live": live})


def every_task(user):
    """All of `user`'s tasks, live and trashed, oldest first (the account export)."""
    return db.session.execute(owned_tasks(user, EVERY).order_by(Task.id)).scalars().all()


@functools.cache
def _one_task(scope):
    return owned_tasks(EACH_USER, scope).where(Task.id == bindparam("task_id"))


def get_task(user, task_id, scope=LIVE):
    """`user`'s task `task_id` (live unless asked), or 404 exactly as for a task that does not exist."""
    task = None
    if 0 < task_id <= MAX_ID:
        params = {"user_id": user.id, "task_id": task_id}
        task = db.session.execute(_one_task(scope), params).scalar_one_or_none()
    if task is None:
        raise NotFoundError()
    return task


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


def first_position(user):
    """The smallest position of the user's tasks, the trash included (a new key must not collide)."""
    return db.session.execute(owned_tasks(user, EVERY).with_only_columns(func.min(Task.position))).scalar_one()


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
    seq = next_change(user, live=1)
    position = positions.between(None, first_position(user))
    if position is None:
        rebalance(user, seq, [])
        position = positions.between(None, first_position(user))
    task = new_task(user, fields, seq, position)
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


def _next_position(user, task, after):
    """The position following `after`'s (or the first), among every other task of the user, trash included."""
    query = owned_tasks(user, EVERY).where(Task.id != task.id).with_only_columns(func.min(Task.position))
    if after is not None:
        query = query.where(Task.position > after.position)
    return db.session.execute(query).scalar_one()


def move_task(user, task_id, after_id, expected_versions=None):
    """Put the task right after `after_id` (None: first). Usually one row is written: the task's."""
    seq = next_change(user)
    task = get_task(user, task_id)
    check_version(task, expected_versions)
    after = _after_task(user, task, after_id)
    position = positions.between(after and after.position, _next_position(user, task, after))
    if position is None:
        rebalance(user, seq, [task.id])
        position = positions.between(after and after.position, _next_position(user, task, after))
    _write([task], {"position": position}, seq)
    commit_write()
    return task


def rebalance(user, seq, leaving):
    """Rewrite the user's positions evenly (trash included), in their order.

    Tasks in `leaving` are about to get a new position: they are set aside, not numbered. Each
    task whose position changes gets version + 1 and `seq`. The unique index is checked row by
    row, so the rows first step aside onto keys no real position can have ("!" sorts before every
    digit of a key), then take their new ones.
    """
    order = db.session.execute(
        owned_tasks(user, EVERY).where(Task.id.not_in(leaving)).with_only_columns(Task.id, Task.position)
        .order_by(Task.position)
    ).all()
    new = dict(zip((row.id for row in order), positions.evenly(len(order)), strict=True))
    moving = [row.id for row in order if new[row.id] != row.position]
    stepping_aside = moving + list(leaving)
    users_rows = update(TASKS).where(owned_tasks(user, EVERY).whereclause)
    if stepping_aside:
        db.session.execute(users_rows.where(TASKS.c.id.in_(stepping_aside))
                           .values(position=literal("!") + cast(TASKS.c.id, String)))
    if moving:
        db.session.execute(
            users_rows.where(TASKS.c.id == bindparam("task_id"))
            .values(position=bindparam("new_position"), version=TASKS.c.version + 1, change_seq=seq),
            [{"task_id": task_id, "new_position": new[task_id]} for task_id in moving],
        )
    # What the session holds of these rows is stale now: read them again when next used.
    for task_id in stepping_aside:
        cached = db.session.identity_map.get(db.session.identity_key(Task, task_id))
        if cached is not None:
            db.session.expire(cached)


def _filter_params(filters):
    """The values of `filters`, named as _filtered() binds them."""
    params = {}
    for name in ("status", "priority"):
        if filters.get(name):
            params[name] = list(filters[name])
    for i, tag in enumerate(filters.get("tag") or ()):
        params[f"tag_{i}"] = tag
    if filters.get("q"):
        params["pattern"] = contains_pattern(filters["q"])
        params["q_length"] = len(filters["q"])
    for name in ("due_after", "due_before"):
        if filters.get(name) is not None:
            params[name] = filters[name]
    return params


def _filtered(params):
    """The user's live tasks matching the filters named in `params` (their values bound at execution)."""
    query = owned_tasks(EACH_USER)
    if "status" in params:
        query = query.where(Task.status.in_(bindparam("status", expanding=True)))
    if "priority" in params:
        query = query.where(Task.priority.in_(bindparam("priority", expanding=True)))
    for name in sorted(name for name in params if name.startswith("tag_")):
        tagged = select(TaskTag.task_id).where(TaskTag.user_id == EACH_USER.id, TaskTag.tag == bindparam(name))
        query = query.where(Task.id.in_(tagged))
    if "pattern" in params:
        # A text shorter than q cannot contain it: comparing lengths first spares ILIKE's scan of every long
        # row for a long q (case folding maps one character to one, in SQLite and PostgreSQL's libc locales).
        pattern, length = bindparam("pattern"), bindparam("q_length")
        query = query.where(
            and_(func.length(Task.title) >= length, Task.title.ilike(pattern, escape="\\"))
            | and_(func.length(Task.description) >= length, Task.description.ilike(pattern, escape="\\")))
    if "due_after" in params:
        query = query.where(Task.due_at >= bindparam("due_after", type_=Task.due_at.type))
    if "due_before" in params:
        query = query.where(Task.due_at < bindparam("due_before", type_=Task.due_at.type))
    return query


def _sort_key(sort):
    """(the column or expression sorted on, descending?) of a `sort` value."""
    key = sort.lstrip("-")
    if key == "priority":
        column = case({Priority.low: 1, Priority.medium: 2, Priority.high: 3}, value=Task.priority)
    else:
        column = getattr(Task, key)
    return column, sort.startswith("-")


def _ordering(value, row_id, descending, nulls_last):
    order = [value.desc() if descending else value.asc(), row_id.desc() if descending else row_id.asc()]
    if nulls_last:
        order.insert(0, value.is_(None))  # tasks without a due date last, either way
    return order


def _past(column, descending, after_null):
    """The rows after (:last_value, :last_id) in the list's order: the keyset of a cursor page."""
    later = operator.lt if descending else operator.gt
    last_id = bindparam("last_id")
    if after_null:  # only tasks without a due date come after one
        return and_(column.is_(None), later(Task.id, last_id))
    after = later(tuple_(column, Task.id), tuple_(bindparam("last_value", type_=column.type), last_id))
    return or_(after, column.is_(None)) if column is Task.due_at else after


def _page_with_total(counted, paged, ordering_of, extra_columns=()):
    """A statement for one page of `paged` (:limit rows from :offset) and the count of every row of
    `counted`, in ONE statement.

    The count is a one-row subquery the page is LEFT JOINed to, so it comes back even when the
    page is empty. `ordering_of(entity, *extra)` orders by the task's and the extra columns.
    Its rows have `.total`, `.Task` (None on an empty page) and the extra columns.
    """
    total = counted.with_only_columns(func.count().label("total")).subquery("total")
    page = (
        paged.add_columns(*extra_columns).order_by(*ordering_of(Task, *extra_columns))
        .limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    )
    task = aliased(Task, page, name="Task")
    extra = [page.c[column.name] for column in extra_columns]
    return (
        select(total.c.total, task, *extra).select_from(total).outerjoin(page, true())
        .order_by(*ordering_of(task, *extra))
    )


def _total_and_rows(statement, params):
    rows = db.session.execute(statement, params).all()
    return rows[0].total, [row for row in rows if row.Task is not None]


def _list_state(user, args):
    """(filters, offset, the last row's (sort value, id) or None) of a first page, or of a cursor's."""
    if "cursor" not in args:
        return {name: args[name] for name in FILTERS if name in args}, args.get("offset", 0), None
    state = cursors.load(cursors.LIST_SALT, user, args["cursor"], "cursor")
    filters = FILTER_SCHEMA.load(state["filters"])
    value = state["value"]
    if value is not None and filters["sort"].endswith("_at"):
        value = datetime.fromisoformat(value)
    return filters, state["offset"], (value, state["id"])


@functools.lru_cache(maxsize=512)
def _list_statement(sort, filter_names, cursor):
    """The list's statement for one shape: a sort, the filters given, and where a cursor page starts
    (None: at an offset; "value" or "null": after a row with or without a sort value)."""
    column, descending = _sort_key(sort)
    matching = _filtered(dict.fromkeys(filter_names))
    # A cursor page starts after the last row it saw (by index, whatever its depth), not at an offset.
    page = matching if cursor is None else matching.where(_past(column, descending, cursor == "null"))

    def ordering_of(entity, sort_value):
        return _ordering(sort_value, entity.id, descending, nulls_last=column is Task.due_at)

    return _page_with_total(matching, page, ordering_of, [column.label("sort_value")])


def list_tasks(user, args):
    """One page of `user`'s matching tasks, their total and the next page's cursor, in one query."""
    limit = args["limit"]
    filters, offset, last = _list_state(user, args)
    params = _filter_params(filters)
    cursor = None if last is None else "null" if last[0] is None else "value"
    statement = _list_statement(filters["sort"], tuple(sorted(params)), cursor)
    params.update(user_id=user.id, limit=limit + 1, offset=0 if last else offset)
    if last is not None:
        params.update(last_value=last[0], last_id=last[1])
    total, rows = _total_and_rows(statement, params)
    next_cursor = None
    if len(rows) > limit:
        value, task_id = rows[limit - 1].sort_value, rows[limit - 1].Task.id
        next_cursor = cursors.dump(cursors.LIST_SALT, user, {
            "filters": FILTER_SCHEMA.dump(filters), "offset": offset + limit, "id": task_id,
            "value": value.isoformat() if isinstance(value, datetime) else value,
        })
    return {"items": [row.Task for row in rows[:limit]], "total": total, "limit": limit, "offset": offset,
            "next_cursor": next_cursor}


def list_trash(user, args):
    """A page of the user's trash, latest deletion first, with its total, in one query."""

    params = {"user_id": user.id, "limit": args["limit"], "offset": args["offset"]}
    total, rows = _total_and_rows(_trash_statement(), params)
    return {"items": [row.Task for row in rows], "total": total, "limit": args["limit"], "offset": args["offset"]}


@functools.cache
def _trash_statement():
    trash = owned_tasks(EACH_USER, TRASH)
    return _page_with_total(trash, trash, lambda entity: _ordering(entity.deleted_at, entity.id, True, False))


def tag_counts(user):
    """The tags of the user's live tasks, with how many carry each, by name."""
    query = (
        owned_tasks(user).join(TaskTag, TaskTag.task_id == Task.id).where(TaskTag.user_id == user.id)
        .with_only_columns(TaskTag.tag, func.count()).group_by(TaskTag.tag).order_by(TaskTag.tag)
    )
    return [{"name": tag, "count": count} for tag, count in db.session.execute(query)]
