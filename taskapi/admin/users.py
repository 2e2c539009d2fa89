"""User administration rules: the list and view with task counts, changes, deletion, and keeping one admin."""

from sqlalchemy import func, or_, select

from taskapi.auth import accounts
from taskapi.auth.models import Role, User
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.lists.models import Role as ListRole
from taskapi.models import contains_pattern
from taskapi.tasks.queries import role_in_list, visible_tasks

MAX_ID = 2**31 - 1
# The live tasks of the lists each user owns, counted through the tasks' one door (correlated to the users row).
TASK_COUNT = (visible_tasks(User).where(role_in_list(User) == ListRole.owner).with_only_columns(func.count())
              .correlate(User).scalar_subquery().label("task_count"))


def _with_count(row):
    user, user.task_count = row.User, row.task_count
    return user


def page(args):
    """One page of users by id, filtered, with the total, in one query."""
    query = select(User, TASK_COUNT)
    if args.get("q"):
        pattern = contains_pattern(args["q"])
        query = query.where(or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\")))
    if args.get("role") is not None:
        query = query.where(User.role == args["role"])
    if args.get("disabled") is not None:
        query = query.where(User.disabled == args["disabled"])
    counted = query.add_columns(func.count().over().label("total"))
    rows = db.session.execute(counted.order_by(User.id).limit(args["limit"]).offset(args["offset"])).all()
    if rows or args["offset"] == 0:
        total = rows[0].total if rows else 0
    else:  # past the last page no row carries the total
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return {"items": [_with_count(row) for row in rows], "total": total, "limit": args["limit"],
            "offset": args["offset"]}


def get(user_id, for_update=False):
    """The user with the task count, or 404."""
    row = None
    if 0 < user_id <= MAX_ID:
        query = select(User, TASK_COUNT).where(User.id == user_id)
        row = db.session.execute(query.with_for_update(of=User) if for_update else query).first()
    if row is None:
        raise ApiError(404)
    return _with_count(row)


def _still_admin(admin):
    """Lock every admin row, then check the acting admin still is one (401 when deleted meanwhile).

    Changes to admins run one at a time, so two admins demoting each other at once
    cannot leave the service without one.
    """
    accounts.lock_admins()
    if accounts.reload(admin).role != Role.admin or admin.disabled:
        raise ApiError(403, "forbidden", "This needs the admin role.")


def _refuse(location, field, message):
    raise ApiError(422, message="The request is not valid.", errors={location: {field: [message]}})


def change(admin, user_id, changes):
    """Change a user's name, role or disabled state; an admin cannot demote or disable themselves."""
    _still_admin(admin)
    user = get(user_id, for_update=True)
    if user.id == admin.id:
        if changes.get("role", Role.admin) != Role.admin:
            _refuse("json", "role", "You cannot take the admin role from yourself.")
        if changes.get("disabled"):
            _refuse("json", "disabled", "You cannot disable your own account.")
    if "name" in changes:
        user.name = changes["name"]
    if "role" in changes:
        accounts.set_role(user, changes["role"])
    if "disabled" in changes:
        accounts.set_disabled(user, changes["disabled"])
    db.session.commit()
    return user


def delete(admin, user_id):
    """Delete a user and everything of theirs; not oneself."""
    if user_id == admin.id:
        _refuse("path", "user_id", "You cannot delete your own account here.")
    _still_admin(admin)
    accounts.delete_user(get(user_id, for_update=True))
    db.session.commit()
