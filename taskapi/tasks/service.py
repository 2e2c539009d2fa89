"""Task rules and queries; every query starts from owned_tasks(), so isolation cannot be forgotten."""

from sqlalchemy import case, func, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.http import parse_etags

from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks import idempotency
from taskapi.tasks.models import Priority, Status, Task
from taskapi.tasks.schemas import TaskSchema

MAX_ID = 2**31 - 1  # beyond the INTEGER column: no such task, not a database error
TASK_SCHEMA = TaskSchema()
PRIORITY_RANK = case({Priority.low: 1, Priority.medium: 2, Priority.high: 3}, value=Task.priority)


def owned_tasks(user):
    """The only way to select tasks: those of `user`."""
    return select(Task).where(Task.user_id == user.id)


def every_task(user):
    """All of `user`'s tasks, oldest first (the account export)."""
    return db.session.execute(owned_tasks(user).order_by(Task.id)).scalars().all()


def get_task(user, task_id, *, for_update=False):
    """`user`'s task `task_id`, or 404 exactly as for a task that does not exist."""
    task = None
    if 0 < task_id <= MAX_ID:
        query = owned_tasks(user).where(Task.id == task_id)
        if for_update:
            query = query.with_for_update()
        task = db.session.execute(query).scalar_one_or_none()
    if task is None:
        raise ApiError(404)
    return task


def check_if_match(task, if_match):
    """412 unless the If-Match header (when sent) names the task's current ETag."""
    if if_match is not None and not parse_etags(if_match).contains(task.etag.strip('"')):
        raise ApiError(412)


def not_modified(task, if_none_match):
    return if_none_match is not None and parse_etags(if_none_match).contains_weak(task.etag.strip('"'))


def _apply(task, changes):
    """Set the fields that really change; status moves completed_at with it."""
    changed = {field: value for field, value in changes.items() if getattr(task, field) != value}
    if not changed:
        return
    now = utcnow()
    for field, value in changed.items():
        setattr(task, field, value)
    if "status" in changed:
        task.completed_at = now if task.status == Status.completed else None
    task.updated_at = now


def _commit_write():
    try:
        db.session.commit()
    except StaleDataError:
        # Another writer changed the row between our read and our write.
        db.session.rollback()
        raise ApiError(412) from None


def new_task(user, fields):
    now = utcnow()  # one instant: a new task is not completed before it is created
    task = Task(user_id=user.id, created_at=now, updated_at=now, **fields)
    if task.status == Status.completed:
        task.completed_at = now
    db.session.add(task)
    return task


def create_task(user, fields, idempotency_key=None, body_fingerprint=None):
    """Create a task; returns the answer (status, body), replayed for a repeated key."""

    def create():
        task = new_task(user, fields)
        db.session.flush()
        return 201, TASK_SCHEMA.dump(task)

    if idempotency_key is None:
        answer = create()
        db.session.commit()
        return answer
    return idempotency.create_once(user, idempotency_key, body_fingerprint, create)


def update_task(user, task_id, changes, if_match=None):
    task = get_task(user, task_id, for_update=True)
    check_if_match(task, if_match)
    _apply(task, changes)
    _commit_write()
    return task


def toggle_task(user, task_id, if_match=None):
    task = get_task(user, task_id, for_update=True)
    check_if_match(task, if_match)
    _apply(task, {"status": Status.pending if task.status == Status.completed else Status.completed})
    _commit_write()
    return task


def delete_task(user, task_id, if_match=None):
    task = get_task(user, task_id, for_update=True)
    check_if_match(task, if_match)
    db.session.delete(task)
    _commit_write()


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(user, args):
    query = owned_tasks(user)
    if args.get("status"):
        query = query.where(Task.status.in_(args["status"]))
    if args.get("priority"):
        query = query.where(Task.priority.in_(args["priority"]))
    if args.get("q"):
        pattern = f"%{_escape_like(args['q'])}%"
        query = query.where(Task.title.ilike(pattern, escape="\\") | Task.description.ilike(pattern, escape="\\"))
    if args.get("due_after") is not None:
        query = query.where(Task.due_at >= args["due_after"])
    if args.get("due_before") is not None:
        query = query.where(Task.due_at < args["due_before"])
    return query


def _ordering(sort):
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = PRIORITY_RANK if key == "priority" else getattr(Task, key)
    order = [column.desc() if descending else column.asc()]
    if key == "due_at":
        order.insert(0, Task.due_at.is_(None))  # tasks without a due date last, either way
    order.append(Task.id.desc() if descending else Task.id.asc())
    return order


def list_tasks(user, args):
    """One page of `user`'s matching tasks and their total, in one query."""
    query = _filtered(user, args)
    page = query.add_columns(func.count().over().label("total"))
    page = page.order_by(*_ordering(args["sort"])).limit(args["limit"]).offset(args["offset"])
    rows = db.session.execute(page).all()
    if rows:
        total = rows[0].total
    elif args["offset"] == 0:
        total = 0
    else:
        # Past the last page the window has no row to carry the total on.
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return {"items": [row.Task for row in rows], "total": total, "limit": args["limit"], "offset": args["offset"]}
