"""Writes of lists and their members: each takes the list's change lock, then judges the caller's role under it."""

from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update

from taskapi.activity.models import Action
from taskapi.activity.record import entry, record, record_many
from taskapi.auth.models import User
from taskapi.exceptions import (
    ConflictError,
    ForbiddenError,
    NotAllowedError,
    NotFoundError,
    VersionMismatchError,
)
from taskapi.extensions import db
from taskapi.lists.access import LISTS, Permission, list_and_role, next_change, require, restricted_list, role_in
from taskapi.lists.models import INBOX_NAME, Membership, Role, TaskList
from taskapi.lists.queries import get_list
from taskapi.models import utcnow
from taskapi.tasks.models import Task
from taskapi.tasks.trash import delete_list_tasks

TASKS = Task.__table__
MEMBERS = Membership.__table__
TOO_MANY_LISTS = "You own as many lists as one account may; delete one first."
INBOX_NOT_SHARED = "The inbox cannot be shared."


def make_inbox(user):
    """The user's inbox, made with the account (inside its transaction)."""
    inbox = TaskList(owner_id=user.id, name=INBOX_NAME, inbox=True, version=1)
    db.session.add(inbox)
    db.session.flush()
    db.session.add(Membership(list_id=inbox.id, user_id=user.id, role=Role.owner))


def _locked(user, list_id, permission):
    """Lock the list, then judge the caller's role under the lock: (their role, the sequence number)."""
    list_and_role(user, list_id, permission)  # 404 (or 403) before any lock, for lists the caller cannot see
    seq = next_change(list_id)
    role = role_in(user, list_id)
    if role is None:
        raise NotFoundError()
    require(role, permission)
    return role, seq


def create_list(user, name):
    """A new list, owned by its maker: at most MAX_LISTS_PER_USER of them (the inbox not counted).
    Not with a personal token made for one list: it reaches no other (403)."""
    if restricted_list() is not None:
        raise ForbiddenError("This token reaches only its own list.")
    owned = select(func.count()).where(TaskList.owner_id == user.id, TaskList.inbox.is_(False))
    # The user's inbox row is their lock for making lists: two creates at once count each other.
    db.session.execute(update(LISTS).where(LISTS.c.owner_id == user.id, LISTS.c.inbox)
                       .values(version=LISTS.c.version))
    if db.session.execute(owned).scalar_one() >= current_app.config["MAX_LISTS_PER_USER"]:
        raise ConflictError(TOO_MANY_LISTS)
    task_list = TaskList(owner_id=user.id, name=name, inbox=False, version=1)
    db.session.add(task_list)
    db.session.flush()
    db.session.add(Membership(list_id=task_list.id, user_id=user.id, role=Role.owner))
    db.session.commit()
    return get_list(user, task_list.id)


def _check_version(list_id, expected_versions):
    """Under the list's lock (next_change has added one to its version): refuse the write unless the version
    before it is one the caller expects (None: any). Judged under the lock, so no change slips in between."""
    if expected_versions is None:
        return
    current = db.session.execute(select(TaskList.version).where(TaskList.id == list_id)).scalar_one()
    if current - 1 not in expected_versions:
        db.session.rollback()
        raise VersionMismatchError()


def rename_list(user, list_id, name, expected_versions=None):
    """Rename a list (list.update)."""
    _locked(user, list_id, Permission.update)
    _check_version(list_id, expected_versions)
    # Read under the lock: the name this rename replaces, whatever renamed it meanwhile.
    old_name = db.session.execute(select(TaskList.name).where(TaskList.id == list_id)).scalar_one()
    db.session.execute(update(LISTS).where(LISTS.c.id == list_id).values(name=name))
    if old_name != name:
        record(Action.list_updated, list_id, user, changes={"name": [old_name, name]})
    db.session.commit()
    db.session.expire_all()
    return get_list(user, list_id)


def delete_list(user, list_id, expected_versions=None):
    """The list and every task in it gone for good; its former members' feeds report them deleted."""
    if list_and_role(user, list_id, Permission.delete)[0].inbox:
        raise NotAllowedError("path", "list_id", "The inbox cannot be deleted.")
    _, seq = _locked(user, list_id, Permission.delete)
    _check_version(list_id, expected_versions)
    _delete_locked_list(list_id, seq)
    db.session.commit()


def _delete_locked_list(list_id, seq):
    delete_list_tasks(list_id, seq)
    db.session.execute(delete(LISTS).where(LISTS.c.id == list_id))


def members(user, list_id):
    """The members of a list the user can see, by when they joined."""
    list_and_role(user, list_id)
    rows = db.session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.list_id == list_id).order_by(Membership.joined_at, Membership.user_id)).all()
    return [_member(row.Membership, row.User) for row in rows]


def _member(membership, user):
    membership.user = user
    return membership


def _membership(list_id, user_id):
    if not 0 < user_id <= 2**31 - 1:
        return None
    query = select(Membership).where(Membership.list_id == list_id, Membership.user_id == user_id)
    return db.session.execute(query).scalar_one_or_none()


def _may_manage(actor_role, target_role, new_role=None):
    """members.manage changes and removes members below admin; only the owner manages admins."""
    require(actor_role, Permission.manage_members)
    ranks = [target_role] + ([new_role] if new_role is not None else [])
    if any(Role(role).rank >= Role.admin.rank for role in ranks) and actor_role != Role.owner:
        raise ForbiddenError("Only the list's owner manages its admins.")


def change_role(user, list_id, member_id, new_role):
    """Change a member's role; "owner" (by the owner) hands the list over, the former owner becoming admin."""
    actor_role, _ = _locked(user, list_id, Permission.manage_members)
    target = _membership(list_id, member_id)
    if target is None:
        raise NotFoundError()
    new_role = Role(new_role)
    old_role = Role(target.role)
    entries = []
    if new_role == Role.owner:
        if actor_role != Role.owner:
            raise ForbiddenError("Only the list's owner can hand it over.")
        if db.session.execute(select(TaskList.inbox).where(TaskList.id == list_id)).scalar_one():
            raise NotAllowedError("json", "role", INBOX_NOT_SHARED)
        if member_id != user.id:
            db.session.execute(update(MEMBERS).where(MEMBERS.c.list_id == list_id, MEMBERS.c.user_id == user.id)
                               .values(role=Role.admin))
            entries.append(_role_entry(user, list_id, user.id, Role.owner, Role.admin))
            db.session.execute(update(LISTS).where(LISTS.c.id == list_id).values(owner_id=member_id))
            target.role = Role.owner
    else:
        _may_manage(actor_role, target.role, new_role)  # the owner is above admin: only they get past this
        if target.role == Role.owner:
            raise NotAllowedError("json", "role", "The owner's role changes only by handing the list over.")
        target.role = new_role
    if new_role != old_role:
        entries.insert(0, _role_entry(user, list_id, member_id, old_role, new_role))
    record_many(entries)
    db.session.commit()
    return [member for member in members(user, list_id) if member.user_id == member_id][0]


def _role_entry(actor, list_id, member_id, old_role, new_role):
    """member.role_changed: whose role (user_id, the same before and after) and the role."""
    return entry(Action.member_role_changed, list_id, actor,
                 changes={"user_id": [member_id, member_id], "role": [str(old_role), str(new_role)]})


def _member_entries(action, actor, list_id, member_id, role, unassigned):
    """A member gone (`action`), and each task of theirs that was unassigned by it (task.updated)."""
    gone = entry(action, list_id, actor, changes={"user_id": [member_id, None], "role": [str(role), None]})
    return [gone] + [entry(Action.task_updated, list_id, actor, task_id=task_id,
                           changes={"assignee_id": [member_id, None]}) for task_id in unassigned]


def remove_member(user, list_id, member_id):
    """Remove a member (members.manage; the owner for admins), or leave (anyone but the owner).
    Their tasks in the list are unassigned."""
    actor_role, seq = _locked(user, list_id, Permission.read)
    target = _membership(list_id, member_id)
    if target is None:
        raise NotFoundError()
    if member_id != user.id:
        _may_manage(actor_role, target.role)  # removing the owner: 403, as for any member above the actor's reach
    elif target.role == Role.owner:
        raise NotAllowedError("path", "user_id", "The owner cannot leave: hand the list over first.")
    role = target.role
    unassigned = leave(list_id, member_id, seq)
    action = Action.member_left if member_id == user.id else Action.member_removed
    record_many(_member_entries(action, user, list_id, member_id, role, unassigned))
    db.session.commit()


def leave(list_id, user_id, seq):
    """The member goes (under the list's lock, numbered `seq`); the tasks assigned to them are unassigned.
    Returns the ids of those tasks."""
    db.session.execute(delete(MEMBERS).where(MEMBERS.c.list_id == list_id, MEMBERS.c.user_id == user_id))
    return unassign(list_id, user_id, seq)


# Bound names differ from the tasks table's columns: an UPDATE reserves those for its SET clause.
UNASSIGN = (
    update(TASKS).where(TASKS.c.list_id == bindparam("in_list"), TASKS.c.assignee_id == bindparam("member"))
    .values(assignee_id=None, version=TASKS.c.version + 1, change_seq=bindparam("seq"),
            updated_at=bindparam("now", type_=TASKS.c.updated_at.type))
    .returning(TASKS.c.id)
)


def unassign(list_id, user_id, seq):
    """Unassign the user's tasks in the list; their ids, in order."""
    params = {"in_list": list_id, "member": user_id, "seq": seq, "now": utcnow()}
    return sorted(db.session.execute(UNASSIGN, params).scalars().all())


def join(user, list_id, role):
    """Make the user a member (accepting an invitation): 409 when the list is full or they are one already;
    never of an inbox (422), whatever let the invitation through. With a personal token made for another
    list, 404: it reaches no other list."""
    if restricted_list() not in (None, list_id):
        raise NotFoundError()
    next_change(list_id)
    if db.session.execute(select(TaskList.inbox).where(TaskList.id == list_id)).scalar_one():
        raise NotAllowedError("path", "list_id", INBOX_NOT_SHARED)
    if role_in(user, list_id) is not None:
        raise ConflictError("You are a member of this list already.")
    count = db.session.execute(select(func.count()).where(Membership.list_id == list_id)).scalar_one()
    if count >= current_app.config["MAX_MEMBERS_PER_LIST"]:
        raise ConflictError("This list has as many members as a list may have.")
    db.session.add(Membership(list_id=list_id, user_id=user.id, role=Role(role)))
    record(Action.member_joined, list_id, user, changes={"user_id": [None, user.id], "role": [None, str(Role(role))]})


FORGET_CREATOR = (
    update(TASKS).where(TASKS.c.list_id == bindparam("in_list"), TASKS.c.created_by == bindparam("member"))
    .values(created_by=None, version=TASKS.c.version + 1, change_seq=bindparam("seq"))
)


def account_deleting(user):
    """Before an account goes: the lists it owns go (with their tasks), it leaves the others, and the tasks it
    made elsewhere lose their creator (created_by null), each list's members told through its feed."""
    roles = dict(db.session.execute(select(Membership.list_id, Membership.role)
                                    .where(Membership.user_id == user.id)).all())
    made_in = set(db.session.execute(select(Task.list_id).where(Task.created_by == user.id).distinct()).scalars())
    for list_id in sorted(set(roles) | made_in):
        try:
            seq = next_change(list_id)
        except NotFoundError:
            continue
        if roles.get(list_id) == Role.owner:
            _delete_locked_list(list_id, seq)
            continue
        if list_id in roles:
            # Recorded as the service's (actor null): the account is being deleted, its entries keep no actor.
            unassigned = leave(list_id, user.id, seq)
            record_many(_member_entries(Action.member_left, None, list_id, user.id, roles[list_id], unassigned))
        db.session.execute(FORGET_CREATOR, {"in_list": list_id, "member": user.id, "seq": seq})
