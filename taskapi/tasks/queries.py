"""Reads of tasks; every one a user asks for starts from visible_tasks(), which joins their memberships, so
authorization cannot be forgotten. Code that already holds a list's lock reads through list_tasks_of()."""

import functools
import operator
from datetime import datetime

from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, true, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import BindParameter

from taskapi.exceptions import NotFoundError
from taskapi.extensions import db
from taskapi.lists.access import require
from taskapi.lists.models import Membership, Role
from taskapi.models import InSelect, contains_pattern
from taskapi.tasks import cursors
from taskapi.tasks.models import MAX_ID, Priority, Task, TaskTag
from taskapi.tasks.schemas import ListCursorSchema, TaskFilterSchema

FILTER_SCHEMA = TaskFilterSchema()
LIST_CURSOR_SCHEMA = ListCursorSchema()
FILTERS = ("list_id", "assignee", "status", "priority", "tag", "q", "due_before", "due_after", "sort")
# List statements kept built, by shape (sort, filters given, cursor kind): thousands of shapes exist and each
# kept one holds ~0.09 MiB, its compiled form in SQLAlchemy's cache ~0.2 MiB more. 32 covers a client's
# usual few sorts and filters; one cycling through more builds a statement again (a few ms), and a worker
# that has seen hundreds of shapes holds ~43 MiB less than with 512 (docs/performance.md, Memory).
LIST_STATEMENTS_KEPT = 32

# What the doors select: the live tasks (every route but the trash's), the trash, or both.
LIVE, TRASH, EVERY = "live", "trash", "every"
TASKS = Task.__table__


def _scoped(query, scope):
    if scope == LIVE:
        return query.where(Task.deleted_at.is_(None))
    if scope == TRASH:
        return query.where(Task.deleted_at.is_not(None))
    return query


def visible_tasks(user, scope=LIVE):
    """The only way to select tasks for a user: those of the lists they are a member of, live (by default),
    in the trash, or both. role_in_list(user) adds their role in each task's list.
    """
    lists = select(Membership.list_id).where(Membership.user_id == user.id)
    return _scoped(select(Task).where(InSelect(Task.list_id, lists)), scope)


def role_in_list(user):
    """The user's role in the list of each task visible_tasks() selects: a column to add."""
    role = select(Membership.role).where(Membership.list_id == Task.list_id, Membership.user_id == user.id)
    return role.scalar_subquery().label("role")


def list_tasks_of(list_id, scope=LIVE):
    """The tasks of one list, for code that has authorized the caller and holds the list's lock
    (taskapi.lists.access.next_change), or works for no user (maintenance)."""
    return _scoped(select(Task).where(Task.list_id == list_id), scope)


class _EachUser:
    """A stand-in user whose id is a bound parameter: statements built once from visible_tasks() serve every
    user (SQLAlchemy keeps a built statement's compiled form; rebuilding one costs each request ~0.5 ms)."""

    id: BindParameter[int] = bindparam("user_id")


EACH_USER = _EachUser()


@functools.cache
def _one_task(scope, with_role):
    query = visible_tasks(EACH_USER, scope).where(Task.id == bindparam("task_id"))
    return query.add_columns(role_in_list(EACH_USER)) if with_role else query


def get_task(user, task_id, scope=LIVE, permission=None):
    """`user`'s task `task_id`: 404 exactly as for a task that does not exist unless they are a member of its
    list, 403 unless their role there allows `permission` (None: reading, which any member may)."""
    row = None
    if 0 < task_id <= MAX_ID:
        statement = _one_task(scope, with_role=permission is not None)
        row = db.session.execute(statement, {"user_id": user.id, "task_id": task_id}).one_or_none()
    if row is None:
        raise NotFoundError()
    if permission is not None:
        require(row.role, permission)
    return row.Task


def _filter_params(user, filters):
    """The values of `filters`, named as _filtered() binds them."""
    params: dict[str, object] = {}
    for name in ("list_id", "status", "priority"):
        if filters.get(name):
            params[name] = list(filters[name])
    assignee = filters.get("assignee")
    if assignee == "none":
        params["unassigned"] = True
    elif assignee is not None:
        params["assignee"] = user.id if assignee == "me" else int(assignee)
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
    query = visible_tasks(EACH_USER)
    if "list_id" in params:
        query = query.where(Task.list_id.in_(bindparam("list_id", expanding=True)))
    if "unassigned" in params:
        query = query.where(Task.assignee_id.is_(None))
    if "assignee" in params:
        query = query.where(Task.assignee_id == bindparam("assignee", type_=Integer))
    if "status" in params:
        query = query.where(Task.status.in_(bindparam("status", expanding=True)))
    if "priority" in params:
        query = query.where(Task.priority.in_(bindparam("priority", expanding=True)))
    for name in sorted(name for name in params if name.startswith("tag_")):
        query = query.where(select(TaskTag.task_id).where(TaskTag.task_id == Task.id, TaskTag.tag == bindparam(name))
                            .exists())
    if "pattern" in params:
        # A text shorter than q cannot contain it: comparing lengths first spares ILIKE's scan of every long
        # row for a long q (case folding maps one character to one, in SQLite and PostgreSQL's libc locales).
        pattern: BindParameter[str] = bindparam("pattern")
        length: BindParameter[int] = bindparam("q_length")
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
    last_id: BindParameter[int] = bindparam("last_id")
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
    state = cursors.load(cursors.LIST_SALT, LIST_CURSOR_SCHEMA, user, args["cursor"], "cursor")
    return state["filters"], state["offset"], (state["value"], state["id"])


@functools.lru_cache(maxsize=LIST_STATEMENTS_KEPT)
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
    params = _filter_params(user, filters)
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
    trash = visible_tasks(EACH_USER, TRASH)
    return _page_with_total(trash, trash, lambda entity: _ordering(entity.deleted_at, entity.id, True, False))


def tag_counts(user):
    """The tags of the user's live tasks, with how many carry each, by name."""
    query = (
        visible_tasks(user).join(TaskTag, TaskTag.task_id == Task.id)
        .with_only_columns(TaskTag.tag, func.count()).group_by(TaskTag.tag).order_by(TaskTag.tag)
    )
    return [{"name": tag, "count": count} for tag, count in db.session.execute(query)]


def owned_list_tasks(user):
    """Every task, live and trashed, of the lists `user` owns, oldest first (the account export)."""
    owned = visible_tasks(user, EVERY).where(role_in_list(user) == Role.owner)
    return db.session.execute(owned.order_by(Task.id)).scalars().all()
