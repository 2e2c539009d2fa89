"""Who may do what in a list: the roles' permissions, the one door to lists, and each list's change lock."""

import enum

from flask import current_app
from sqlalchemy import and_, bindparam, event, select, update
from sqlalchemy.orm import with_loader_criteria

from taskapi.auth.personal_tokens import restricted_list
from taskapi.exceptions import AccountGoneError, ForbiddenError, LimitReachedError, NotFoundError
from taskapi.extensions import db
from taskapi.lists.models import Membership, Role, TaskList
from taskapi.models import UTCDateTime, utcnow
from taskapi.sessions import Session
from taskapi.tasks.models import MAX_ID


class Permission(enum.StrEnum):
    read = "tasks.read"
    complete = "tasks.complete"
    write = "tasks.write"
    manage_members = "members.manage"
    update = "list.update"
    delete = "list.delete"


# The contract's table: each role has what the one below it has, and more.
PERMISSIONS = {
    Role.viewer: (Permission.read,),
    Role.completer: (Permission.read, Permission.complete),
    Role.editor: (Permission.read, Permission.complete, Permission.write),
    Role.admin: (Permission.read, Permission.complete, Permission.write, Permission.manage_members,
                 Permission.update),
    Role.owner: tuple(Permission),
}


def permissions(role):
    """What `role` allows, in the contract's order: what a list's answer shows the caller."""
    return [str(permission) for permission in PERMISSIONS[Role(role)]]


def require(role, permission):
    """Refuse (403) unless `role` allows `permission`; the caller is a member, or they would have had a 404."""
    if permission not in PERMISSIONS[Role(role)]:
        raise ForbiddenError("Your role in this list does not allow this.")


def member_lists(user):
    """The only way to select lists for a user: theirs, each with the user's role (`.role`).

    `user` may be a stand-in whose id is a bound parameter (taskapi.tasks.queries.EACH_USER).
    """
    member = and_(Membership.list_id == TaskList.id, Membership.user_id == user.id)
    return select(TaskList, Membership.role).join(Membership, member)


@event.listens_for(Session, "do_orm_execute")
def _only_the_tokens_list(state):
    """A personal token made for one list reaches only that list: every statement reading or writing
    memberships in its request sees that list's alone, so every list and task selected through the doors
    (member_lists, visible_tasks, role_in) is of that list, and any other is 404 as for a non-member.

    Requests with an access token (the rest) keep their statements as built: nothing is added to them.
    """
    list_id = restricted_list()
    if list_id is not None and not state.is_insert:
        state.statement = state.statement.options(
            with_loader_criteria(Membership, Membership.list_id == list_id, include_aliases=True))


def list_and_role(user, list_id, permission=Permission.read):
    """(the list, the caller's role): 404 unless they are a member, 403 unless their role allows `permission`."""
    row = None
    if 0 < list_id <= MAX_ID:
        row = db.session.execute(member_lists(user).where(TaskList.id == list_id)).one_or_none()
    if row is None:
        raise NotFoundError()
    require(row.role, permission)
    return row.TaskList, row.role


def role_in(user, list_id):
    """The user's role in a list now (None: not a member), read afresh: after next_change() it is the
    role the write is judged by, whatever changed while it waited for the lock."""
    query = select(Membership.role).where(Membership.list_id == list_id, Membership.user_id == user.id)
    return db.session.execute(query).scalar_one_or_none()


LISTS = TaskList.__table__
# Every change to a list, its members or its tasks changes its answer (counts, roles): a new version, as a
# task's, so its ETag changes with it.
CHANGE_VALUES = {"task_seq": LISTS.c.task_seq + 1, "task_count": LISTS.c.task_count + bindparam("added"),
         "version": LISTS.c.version + 1, "updated_at": bindparam("now", type_=UTCDateTime)}
NEXT_CHANGE = (update(LISTS).where(LISTS.c.id == bindparam("list_id")).values(CHANGE_VALUES)
               .returning(LISTS.c.id, LISTS.c.task_seq, LISTS.c.task_count, LISTS.c.webhook_count))
NEXT_INBOX_CHANGE = (update(LISTS).where(LISTS.c.owner_id == bindparam("user_id"), LISTS.c.inbox)
                     .values(CHANGE_VALUES)
                     .returning(LISTS.c.id, LISTS.c.task_seq, LISTS.c.task_count, LISTS.c.webhook_count))
TOO_MANY_TASKS = "This list has as many tasks as one list may keep; delete some first."
# Session.info key: the lists this transaction changed, published to live streams once it commits
# (taskapi/stream/fanout.py); no statement of its own.
CHANGED_LISTS = "taskapi.changed-lists"


def _taken(row, added):
    list_id, seq, count, webhooks = row
    changing(list_id, webhooks)
    if added > 0 and count > current_app.config["MAX_TASKS_PER_LIST"]:
        db.session.rollback()
        raise LimitReachedError("too_many_tasks", TOO_MANY_TASKS)
    return list_id, seq


def next_change(list_id, added=0):
    """Take the list's next change number; every transaction writing a list's tasks, members or name starts here.

    The UPDATE locks the list's row until the commit: one list's writes run one at a time on every
    worker and instance, so its sequence order is commit order (the change feed misses nothing),
    positions computed under it are unique, and a membership read after it is the one the write is
    judged by (a removal takes the same lock). Several lists are locked in id order. `added` is how many
    tasks the write adds: past MAX_TASKS_PER_LIST, live and trashed, it is refused with 409.
    Returns the sequence number; 404 when the list is gone.
    """
    row = db.session.execute(NEXT_CHANGE, {"list_id": list_id, "added": added, "now": utcnow()}).first()
    if row is None:
        raise NotFoundError()
    return _taken(row, added)[1]


LOCK = (update(LISTS).where(LISTS.c.id == bindparam("list_id")).values(version=LISTS.c.version)
        .returning(LISTS.c.webhook_count))


def lock(list_id):
    """The lock next_change() takes, without a change number: for writes beside the list that change neither
    it, its members nor its tasks (invitations), so its version, ETag and feed stay as they are.

    An UPDATE setting nothing new: on PostgreSQL it holds the row until the commit, and on SQLite it
    takes the database's write lock first, so what the transaction counts after it stays counted.
    404 when the list is gone.
    """
    webhooks = db.session.execute(LOCK, {"list_id": list_id}).scalar_one_or_none()
    if webhooks is None:
        raise NotFoundError()
    learn_webhook_count(list_id, webhooks)


# Each list's number of webhooks as read under its lock (next_change, lock) in the session's transaction,
# forgotten when it ends: the webhooks' outbox learns that a write's list has none with no statement of its own.
# Exact, since registering or deleting a webhook changes the count under the same lock.
WEBHOOK_COUNTS = "taskapi-list-webhook-counts"


def changing(list_id, webhooks):
    """This transaction changes list `list_id`, whose lock it holds with `webhooks` read under it: live streams
    hear of the list once the transaction commits, and the webhooks' outbox knows whether to look for any."""
    db.session.info.setdefault(CHANGED_LISTS, set()).add(list_id)
    learn_webhook_count(list_id, webhooks)


def learn_webhook_count(list_id, count):
    db.session.info.setdefault(WEBHOOK_COUNTS, {})[list_id] = count


def webhook_count(list_id):
    """The list's number of webhooks as read under its lock in this transaction; None when it was not locked here."""
    return db.session.info.get(WEBHOOK_COUNTS, {}).get(list_id)


@event.listens_for(Session, "after_transaction_end")
def _forget_webhook_counts(session, transaction):
    if transaction.parent is None:
        session.info.pop(WEBHOOK_COUNTS, None)


def next_inbox_change(user, added=0):
    """next_change() on the user's inbox, found by its owner: (its id, the sequence number)."""
    row = db.session.execute(NEXT_INBOX_CHANGE, {"user_id": user.id, "added": added, "now": utcnow()}).first()
    if row is None:  # the account was deleted after this request authenticated
        raise AccountGoneError()
    return _taken(row, added)


ADJUST_TASK_COUNT = update(LISTS).where(LISTS.c.id == bindparam("list_id")).values(
    task_count=LISTS.c.task_count + bindparam("added"))


def adjust_task_count(list_id, added):
    """For writes that learn how many tasks they added or deleted for good only as they run (under the lock)."""
    if added:
        db.session.execute(ADJUST_TASK_COUNT, {"list_id": list_id, "added": added})
