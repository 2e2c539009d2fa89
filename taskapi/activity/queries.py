"""Reads of activity: a list's, or a task's in the lists the caller is a member of; newest first, by keyset."""

from sqlalchemy import select

from taskapi.activity.models import Activity
from taskapi.activity.schemas import ActivityCursorSchema
from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists.access import PERMISSIONS, Permission, list_and_role
from taskapi.lists.models import Membership, Role
from taskapi.tasks import cursors
from taskapi.tasks.queries import EVERY, get_task

SALT = "taskapi.activity.cursor"
CURSOR_SCHEMA = ActivityCursorSchema()
# Who was invited is shown to those who may invite, withdraw and see the pending invitations.
EMAIL_READERS = {role for role, allowed in PERMISSIONS.items() if Permission.manage_members in allowed}


def list_activity(user, list_id, limit, cursor=None):
    """A page of a list's activity: 404 unless the user is a member (as for a list that does not exist)."""
    _, role = list_and_role(user, list_id)
    roles = {list_id: Role(role)}
    return _page(user, (Activity.list_id == list_id,), ("list", list_id), roles, limit, cursor)


def task_activity(user, task_id, limit, cursor=None):
    """A page of a task's activity in the lists the user is a member of (a move between lists leaves an
    entry in each): 404 unless they can see the task, live or in the trash."""
    get_task(user, task_id, EVERY)
    memberships = select(Membership.list_id, Membership.role).where(Membership.user_id == user.id)
    roles = {list_id: Role(role) for list_id, role in db.session.execute(memberships)}
    where = Activity.task_id == task_id, Activity.list_id.in_(sorted(roles))
    return _page(user, where, ("task", task_id), roles, limit, cursor)


def _page(user, where, scope, roles, limit, cursor):
    """A page of the entries meeting every condition of `where`, newest first; the cursor is bound to `scope`."""
    of, key = scope
    query = (select(Activity, User.name).outerjoin(User, User.id == Activity.actor_id)
             .where(*where).order_by(Activity.id.desc()).limit(limit + 1))
    if cursor is not None:
        state = cursors.load(SALT, CURSOR_SCHEMA, user, cursor, "cursor")
        if (state["of"], state["key"]) != scope:
            raise cursors.invalid("cursor")
        query = query.where(Activity.id < state["id"])
    rows = db.session.execute(query).all()
    items = [_item(row.Activity, row.name, roles) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.dump(SALT, user, {"of": of, "key": key, "id": items[-1]["id"]})
    return {"items": items, "next_cursor": next_cursor}


def _item(activity, actor_name, roles):
    changes = activity.changes or {}
    if activity.action.startswith("invitation.") and roles.get(activity.list_id) not in EMAIL_READERS:
        changes = {field: values for field, values in changes.items() if field != "email"}
    actor = {"id": activity.actor_id, "name": actor_name} if activity.actor_id is not None else None
    return {"id": activity.id, "at": activity.at, "actor": actor, "action": activity.action,
            "task_id": activity.task_id, "changes": changes}
