"""Security events: stored for the account's owner, and one `taskapi.audit` log line each once committed.

What anyone can cause knowing only an address (a failed or throttled login, a reset
request) is stored as one entry per account, kind and clock hour carrying a count,
so a flood cannot push the owner's other events off the first page; the audit log
still has one line per occurrence.
"""

import logging
from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite

from taskapi.auth.models import USER_AGENT_MAX, SecurityEvent
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow
from taskapi.requestid import request_id
from taskapi.sessions import Session

audit_log = logging.getLogger("taskapi.audit")
EVENTS = (
    "registered", "login", "login_failed", "login_throttled", "logout", "session_ended", "refresh_reuse",
    "password_changed", "password_reset_requested", "password_reset", "account_disabled", "account_enabled",
    "role_changed", "token_created", "token_first_use_from_new_address", "token_revoked",
)
COLLAPSED = ("login_failed", "login_throttled", "password_reset_requested")
PENDING = "taskapi.audit"  # key in Session.info: lines waiting for their transaction to commit
NEWEST_FIRST = (SecurityEvent.created_at.desc(), SecurityEvent.id.desc())


def origin():
    """(client address, user agent, request id) of the request being answered, or Nones outside one."""
    if not has_request_context():
        return None, None, None
    return request.remote_addr, request.user_agent.string[:USER_AGENT_MAX] or None, request_id()


def record(name, user_id, *, client=None, user_agent=None, request_id=None):
    """Add an event to the caller's transaction; its log line is written when that transaction commits.

    `user_id` is None for an address without an account. Outside a request (the
    background thread) the request's origin is given by the caller.
    """
    assert name in EVENTS, name
    if client is None and user_agent is None and request_id is None:
        client, user_agent, request_id = origin()
    now = utcnow()
    db.session.execute(_add_or_count(user_id=user_id, event=name, created_at=now, ip=client, user_agent=user_agent,
                                     hour=hour_of(now) if name in COLLAPSED else None))
    log_line(name, user_id, client, request_id, session=db.session)


def hour_of(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _add_or_count(**row):
    """Insert the event, or count it in its hour's row: one statement, so concurrent repeats make one row."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(SecurityEvent).values(**row, count=1)
    latest = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["user_id", "event", "hour"],
        set_={"count": SecurityEvent.count + 1, "created_at": latest.created_at, "ip": latest.ip,
              "user_agent": latest.user_agent},
    )


def log_line(name, user_id, client=None, request_id=None, session=None):
    """The audit line alone (`account_deleted`, whose account is gone), after `session` commits if given."""
    if client is None and request_id is None:
        client, _, request_id = origin()
    line = {"event": name, "user_id": user_id, "client": client, "request_id": request_id}
    if session is None:
        _write(line)
    else:
        session.info.setdefault(PENDING, []).append(line)


def _write(line):
    # No password, token or link ever reaches here: an event is its name, an id and where it came from.
    audit_log.info("security event %s", line["event"], extra=line)


@event.listens_for(Session, "after_commit")
def _write_committed(session):
    for line in session.info.pop(PENDING, []):
        _write(line)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session):
    session.info.pop(PENDING, None)


def page(user, limit, offset):
    """One page of the user's events, newest first (a collapsed one by its latest occurrence), with their total."""
    query = (
        select(SecurityEvent, func.count().over().label("total"))
        .where(SecurityEvent.user_id == user.id)
        .order_by(*NEWEST_FIRST)
        .limit(limit)
        .offset(offset)
    )
    rows = db.session.execute(query).all()
    total = rows[0].total if rows else 0 if offset == 0 else _count(user)  # past the end: no row carries it
    return {"items": [row.SecurityEvent for row in rows], "total": total, "limit": limit, "offset": offset}


def _count(user):
    return db.session.execute(select(func.count()).where(SecurityEvent.user_id == user.id)).scalar_one()


def of(user):
    """Every stored event of the user, newest first (the export)."""
    query = select(SecurityEvent).where(SecurityEvent.user_id == user.id).order_by(*NEWEST_FIRST)
    return db.session.execute(query).scalars().all()


def prune():
    """Delete events older than SECURITY_EVENT_RETENTION_DAYS; return how many."""
    cutoff = utcnow() - timedelta(days=current_app.config["SECURITY_EVENT_RETENTION_DAYS"])
    return rowcount(db.session.execute(delete(SecurityEvent).where(SecurityEvent.created_at < cutoff)))
