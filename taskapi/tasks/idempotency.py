"""Idempotent creates: the same key and body within 24 hours gets the first answer again."""

import hashlib
import json

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow
from taskapi.tasks.models import IdempotentCreate


def fingerprint(body):
    """The same JSON, whatever its key order or spacing, gives the same fingerprint."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _find(user, key):
    query = select(IdempotentCreate).where(IdempotentCreate.user_id == user.id, IdempotentCreate.key == key)
    return db.session.execute(query).scalar_one_or_none()


def _expired(record):
    return record.created_at < utcnow() - current_app.config["IDEMPOTENCY_TTL"]


def _replay(record, body_fingerprint):
    if record.fingerprint != body_fingerprint:
        raise ApiError(409, "idempotency_conflict", "This Idempotency-Key was used with a different body.")
    return record.status_code, json.loads(record.response_body)


def create_once(user, key, body_fingerprint, create):
    """Run `create()` (which adds to the session and returns (status, body)) once per key.

    Returns (status, body) of the first answer. Two concurrent requests with
    one key both insert; the unique (user_id, key) lets exactly one commit.
    """
    record = _find(user, key)
    if record is not None:
        if not _expired(record):
            return _replay(record, body_fingerprint)
        db.session.delete(record)
    status, body = create()
    db.session.add(
        IdempotentCreate(
            user_id=user.id,
            key=key,
            fingerprint=body_fingerprint,
            status_code=status,
            response_body=json.dumps(body),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the task goes with it: nothing is created twice
        record = _find(user, key)
        if record is None:
            raise
        return _replay(record, body_fingerprint)
    return status, body


def prune():
    """Delete records older than the replay window; return how many."""
    cutoff = utcnow() - current_app.config["IDEMPOTENCY_TTL"]
    return rowcount(db.session.execute(delete(IdempotentCreate).where(IdempotentCreate.created_at < cutoff)))
