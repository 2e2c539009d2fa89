"""Idempotent creates: the same key and body within 24 hours gets the first answer again, byte for byte."""

import functools
import hashlib
import json

from flask import Response, current_app, request
from flask_jwt_extended import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from taskapi import transactions
from taskapi.exceptions import IdempotencyConflictError
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow
from taskapi.tasks.models import IdempotentCreate

# Set per answer, by the serving layers after the view: not part of what is stored and replayed.
NOT_STORED = frozenset({"Content-Length"})


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
    """The stored answer again; the same key with another body is refused."""
    if record.fingerprint != body_fingerprint:
        raise IdempotencyConflictError("This Idempotency-Key was used with a different body.")
    return Response(record.response_body, record.status_code, json.loads(record.response_headers),
                    mimetype="application/json")


def _record(user, key, body_fingerprint, response):
    headers = {name: value for name, value in response.headers.items() if name not in NOT_STORED}
    return IdempotentCreate(user_id=user.id, key=key, fingerprint=body_fingerprint, status_code=response.status_code,
                            response_body=response.get_data(as_text=True), response_headers=json.dumps(headers))


def idempotent(view):
    """Run the view once per Idempotency-Key: its answer is stored in the same commit as its work.

    Stacked under the `arguments` that parse the key from the headers (the wrapper takes them) and
    above `response`, so it stores the final response. Two concurrent requests with one key both
    run; the unique (user_id, key) lets exactly one commit, and the other answers what it stored.
    """

    @functools.wraps(view)
    def wrapper(headers, *args, **kwargs):
        key = headers.get("idempotency_key")
        if key is None:
            return view(*args, **kwargs)
        body_fingerprint = fingerprint(request.get_json())
        record = _find(current_user, key)
        if record is not None:
            if not _expired(record):
                return _replay(record, body_fingerprint)
            db.session.delete(record)
        with transactions.deferred():
            response = view(*args, **kwargs)
        db.session.add(_record(current_user, key, body_fingerprint, response))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # the work goes with it: nothing is done twice
            record = _find(current_user, key)
            if record is None:
                raise
            return _replay(record, body_fingerprint)
        return response

    return wrapper


def prune():
    """Delete records older than the replay window; return how many."""
    cutoff = utcnow() - current_app.config["IDEMPOTENCY_TTL"]
    return rowcount(db.session.execute(delete(IdempotentCreate).where(IdempotentCreate.created_at < cutoff)))
