"""Sessions: one per sign-in, listed to their owner, ended one by one, all but this one, or all at once."""

import uuid

from sqlalchemy import delete, select

from taskapi.auth import events
from taskapi.auth.models import UserSession
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow


def new_jti():
    return uuid.uuid4().hex


def begin(user):
    """Start a session for `user` (register, login); flushed, so it has its id."""
    client, user_agent, _ = events.origin()
    now = utcnow()
    session = UserSession(user_id=user.id, refresh_jti=new_jti(), created_at=now, last_used_at=now, ip=client,
                          user_agent=user_agent)
    db.session.add(session)
    db.session.flush()
    return session


def active(user, current_id):
    """The user's sessions, newest first, the one asking marked `current`."""
    query = select(UserSession).where(UserSession.user_id == user.id)
    sessions = db.session.execute(query.order_by(UserSession.id.desc())).scalars().all()
    for session in sessions:
        session.current = session.id == current_id
    return sessions


def end(user, session_id, event="session_ended"):
    """End one of the user's sessions; False when it is not theirs or has ended already."""
    ended = rowcount(db.session.execute(delete(UserSession).where(UserSession.id == session_id,
                                                         UserSession.user_id == user.id)))
    if ended:
        events.record(event, user.id)
    return bool(ended)


def end_session(user, session_id):
    """End one of the user's sessions: 404 for one that is unknown, ended or someone else's."""
    if not end(user, session_id):
        raise ApiError(404)
    db.session.commit()


def end_others(user, current_id):
    """End every session of the user but the current one."""
    ended = db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.id != current_id)
        .returning(UserSession.id)
    ).scalars().all()
    for _ in ended:
        events.record("session_ended", user.id)
    db.session.commit()


def end_all(user):
    """End every session of the user (password change, reset, disabling): every token stops at once."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
