"""Invitations to lists: sent to an email address, waiting for whoever holds it, accepted by them signed in.

An invitation grants nothing by itself: its link (INVITATION_URL with the invitation's id for
{token}) only tells the frontend which one to show; accepting needs the invited address signed in.
So the id is no secret, and the message needs none. Inviting answers alike for every well-formed
address, with or without an account, member or not: nothing here looks the address up.
"""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from taskapi import background
from taskapi.activity.models import Action
from taskapi.activity.record import record
from taskapi.auth.models import User
from taskapi.exceptions import ConflictError, ForbiddenError, NotAllowedError, NotFoundError, RateLimitedError
from taskapi.extensions import db
from taskapi.lists import commands, queries
from taskapi.lists.access import Permission, list_and_role, lock, require, role_in
from taskapi.lists.models import Invitation, InvitationState, Role, TaskList
from taskapi.mail import configured as mail_configured
from taskapi.mail import outbox
from taskapi.models import rowcount, utcnow
from taskapi.tasks.models import MAX_ID

TEMPLATE = "list_invitation"
WINDOW = timedelta(hours=1)
KEEP_ENDED = timedelta(days=30)
INVITATIONS = Invitation.__table__
INBOX_NOT_SHARED = "The inbox cannot be shared."
NOT_OWNER_ROLE = "An invitation is for a role below owner: hand a list over by changing a member's role."
ADMINS_BY_OWNER = "Only the list's owner invites admins."
TOO_MANY = "This list has sent as many invitations as it may in an hour; try again later."
ALREADY_ACCEPTED = "This invitation has been accepted already."


def _judged(user, list_id, role):
    """The caller's role under the list's lock, allowed to invite for `role`: 404, 403 otherwise."""
    actor_role = role_in(user, list_id)
    if actor_role is None:
        raise NotFoundError()
    require(actor_role, Permission.manage_members)
    if role == Role.admin and actor_role != Role.owner:
        raise ForbiddenError(ADMINS_BY_OWNER)
    return actor_role


def invite(user, list_id, email, role):
    """Invite `email` (normalised, as accounts are) to the list with `role`, replacing its pending invitation.

    members.manage; a role below owner (422 json.role), admin by the owner only (403); never the inbox
    (422 path.list_id). At most INVITATIONS_PER_HOUR made per list in any hour, however they ended (429).
    The message is stored in the outbox in the same transaction, when mail can reach anyone; without
    MAIL_SERVER in production the invitation only waits in GET /api/v1/invitations.
    """
    task_list, actor_role = list_and_role(user, list_id, Permission.manage_members)
    if task_list.inbox:
        raise NotAllowedError("path", "list_id", INBOX_NOT_SHARED)
    role = Role(role)
    if role == Role.owner:
        raise NotAllowedError("json", "role", NOT_OWNER_ROLE)
    if role == Role.admin and actor_role != Role.owner:
        raise ForbiddenError(ADMINS_BY_OWNER)
    # Under the lock, concurrent invitations to the list count each other, and the role is the current one.
    lock(list_id)
    try:
        _judged(user, list_id, role)
        _within_limit(list_id)
    except Exception:
        db.session.rollback()
        raise
    now = utcnow()
    db.session.execute(
        update(INVITATIONS)
        .where(INVITATIONS.c.list_id == list_id, INVITATIONS.c.email == email,
               INVITATIONS.c.state == InvitationState.pending)
        .values(state=InvitationState.replaced, ended_at=now))
    days = current_app.config["INVITATION_DAYS"]
    invitation = Invitation(list_id=list_id, email=email, role=role, invited_by=user.id, created_at=now,
                            expires_at=now + timedelta(days=days), state=InvitationState.pending)
    db.session.add(invitation)
    db.session.flush()
    # The address is in the entry: the activity answers show it only to members who manage members.
    record(Action.invitation_sent, list_id, user, changes={"email": [None, email], "role": [None, str(role)]})
    mailed = mail_configured(current_app)
    if mailed:
        context = {"invitation": invitation.id, "list": task_list.name, "invited_by": user.name,
                   "role": str(role), "days": days}
        outbox.enqueue(TEMPLATE, email, context, invitation.expires_at)
    db.session.commit()
    if mailed:
        background.wake(current_app)


def _within_limit(list_id):
    """429 once INVITATIONS_PER_HOUR were made for the list in the last hour; Retry-After: when the oldest of
    them leaves the window."""
    since = utcnow() - WINDOW
    made = (select(func.count(), func.min(Invitation.created_at))
            .where(Invitation.list_id == list_id, Invitation.created_at > since))
    count, oldest = db.session.execute(made).one()
    if count >= current_app.config["INVITATIONS_PER_HOUR"]:
        retry_after = (oldest + WINDOW - utcnow()).total_seconds() if oldest is not None else WINDOW.total_seconds()
        raise RateLimitedError(math.ceil(retry_after), TOO_MANY)


@outbox.template(TEMPLATE)
def render_message(context, secret):
    """The invitation: plain text, who invited whom to what, and the link (which grants nothing alone)."""
    link = current_app.config["INVITATION_URL"].replace("{token}", str(context["invitation"]))
    inviter = context.get("invited_by") or "Someone"
    role = context["role"]
    article = "an" if role[0] in "aeiou" else "a"
    text = (
        "Hello,\n\n"
        f"{inviter} invited you to the list \"{context['list']}\" on taskapi, as {article} {role}.\n"
        f"To accept, open this link and sign in with this email address:\n\n"
        f"{link}\n\n"
        f"The invitation expires in {context['days']} days. If you do not want to join, ignore this message.\n"
    )
    return "An invitation to a list on taskapi", text


def list_invitations(user, list_id):
    """The list's pending, unexpired invitations, oldest first (members.manage)."""
    list_and_role(user, list_id, Permission.manage_members)
    query = (select(Invitation).where(Invitation.list_id == list_id, *_waiting())
             .order_by(Invitation.created_at, Invitation.id))
    return db.session.execute(query).scalars().all()


def _waiting():
    return Invitation.state == InvitationState.pending, Invitation.expires_at > utcnow()


def withdraw(user, list_id, invitation_id):
    """Withdraw a pending invitation of the list (members.manage): 404 unless it is one."""
    list_and_role(user, list_id, Permission.manage_members)
    lock(list_id)
    try:
        actor_role = role_in(user, list_id)
        if actor_role is None:
            raise NotFoundError()
        require(actor_role, Permission.manage_members)
        ended = _end(invitation_id, InvitationState.withdrawn, Invitation.list_id == list_id)
        if ended is None:
            raise NotFoundError()
        record(Action.invitation_withdrawn, list_id, user,
               changes={"email": [ended.email, None], "role": [str(Role(ended.role)), None]})
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()


def _end(invitation_id, state, *where):
    """End a pending, unexpired invitation as `state`: its (email, role), or None when there is no such one."""
    if not 0 < invitation_id <= MAX_ID:
        return None
    end = (update(INVITATIONS).where(INVITATIONS.c.id == invitation_id, *where,
                                     INVITATIONS.c.state == InvitationState.pending,
                                     INVITATIONS.c.expires_at > utcnow())
           .values(state=state, ended_at=utcnow())
           .returning(INVITATIONS.c.email, INVITATIONS.c.role))
    return db.session.execute(end).first()


def my_invitations(user):
    """The invitations waiting for the caller's email: [{"id", "list", "role", "invited_by", "expires_at"}]."""
    query = (select(Invitation, TaskList.name, User.id.label("inviter_id"), User.name.label("inviter_name"))
             .join(TaskList, TaskList.id == Invitation.list_id)
             .outerjoin(User, User.id == Invitation.invited_by)
             .where(Invitation.email == user.email, *_waiting())
             .order_by(Invitation.created_at, Invitation.id))
    return [{"id": row.Invitation.id, "list": {"id": row.Invitation.list_id, "name": row.name},
             "role": row.Invitation.role, "expires_at": row.Invitation.expires_at,
             "invited_by": {"id": row.inviter_id, "name": row.inviter_name} if row.inviter_id is not None else None}
            for row in db.session.execute(query)]


def _mine(user, invitation_id):
    """The invitation if it is for the caller's email (whatever its state), else None."""
    if not 0 < invitation_id <= MAX_ID:
        return None
    query = select(Invitation).where(Invitation.id == invitation_id, Invitation.email == user.email)
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def _refuse(invitation):
    """Why an invitation of the caller's cannot be accepted now (None: it can): 409 accepted, else 404."""
    if invitation is None:
        return NotFoundError()
    if invitation.state == InvitationState.accepted:
        return ConflictError(ALREADY_ACCEPTED)
    if invitation.state != InvitationState.pending or invitation.expires_at <= utcnow():
        return NotFoundError()
    return None


def accept(user, invitation_id):
    """Join the list with the invited role: the list as the caller now sees it.

    404 unless the invitation is pending, unexpired and for the caller's email; 409 when it was accepted
    already, the caller is a member already, or the list is full (taskapi.lists.commands.join, under the
    list's lock).
    """
    invitation = _mine(user, invitation_id)
    refusal = _refuse(invitation)
    if refusal is not None:
        raise refusal
    list_id = invitation.list_id
    try:
        commands.join(user, list_id, invitation.role)
        # Under the lock; a decline (or a second accept) may still have ended it since it was read.
        if not _end(invitation_id, InvitationState.accepted, INVITATIONS.c.email == user.email):
            raise _refuse(_mine(user, invitation_id)) or NotFoundError()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return queries.get_list(user, list_id)


def decline(user, invitation_id):
    """Decline a pending invitation for the caller's email: 404 like accept."""
    if not _end(invitation_id, InvitationState.declined, INVITATIONS.c.email == user.email):
        db.session.rollback()
        raise NotFoundError()
    db.session.commit()


def prune():
    """Delete invitations ended or expired more than 30 days ago; return how many (a maintenance job)."""
    cutoff = utcnow() - KEEP_ENDED
    old = delete(Invitation).where(or_(Invitation.ended_at < cutoff, Invitation.expires_at < cutoff))
    return rowcount(db.session.execute(old))
