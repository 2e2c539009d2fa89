"""What every outbox shares (mail, webhooks): leasing due rows to one process, retry delays, pruning.

An outbox table holds rows written in the transaction of their cause and sent later by the
background thread. Each such table has the columns `id`, `status` (pending until sent or given
up), `attempts`, `next_attempt_at` and `claimed_until`. A process claims a batch of due rows
by setting `claimed_until` (its lease) in one statement and commits at once: on PostgreSQL the
rows are picked with FOR UPDATE SKIP LOCKED, so processes claiming at the same moment take
different rows instead of waiting for each other; SQLite runs the whole UPDATE under its one
write lock. A process that dies while sending never records an outcome, and once its lease
lapses another process claims the row again.
"""

import functools
import random
from datetime import timedelta

from sqlalchemy import bindparam, delete, or_, select, update

from taskapi.extensions import db
from taskapi.models import UTCDateTime, rowcount, utcnow


def claim(model, pending, batch, lease, include_not_yet_due=False, detach=False, commit=True):
    """Lease up to `batch` rows of `model` whose status is `pending` to this process, oldest first; commits
    (unless `commit` is false: the caller reads what it needs for sending first, and commits before sending).

    A row is claimable when its lease is unset or lapsed and (unless `include_not_yet_due`) its
    next_attempt_at has come. Each claimed row's `attempts` grows by one.
    Returns the rows as they are after the claim: attached to the session (each read again when next
    used, the commit having expired it), or with `detach`, detached and holding the claim's values
    (`claimed_until` is then the lease as this process set it, whatever happens to the row since).
    """
    now = utcnow()
    leased = _claim_statement(model, pending, batch, include_not_yet_due)
    rows = db.session.scalars(leased, {"now": now, "leased_until": now + lease},
                              execution_options={"synchronize_session": False}).all()
    if detach:
        for row in rows:
            db.session.expunge(row)
    if commit:
        db.session.commit()
    return rows


@functools.cache
def _claim_statement(model, pending, batch, include_not_yet_due):
    """claim()'s UPDATE, built once for each outbox and way of claiming (the times bound at each claim)."""
    now = bindparam("now", type_=UTCDateTime)
    due = select(model.id).where(model.status == pending, or_(model.claimed_until.is_(None), model.claimed_until < now))
    if not include_not_yet_due:
        due = due.where(model.next_attempt_at <= now)
    due = due.order_by(model.id).limit(batch).with_for_update(skip_locked=True)
    return (update(model).where(model.id.in_(due))
            .values(claimed_until=bindparam("leased_until", type_=UTCDateTime), attempts=model.attempts + 1)
            .returning(model))


def retry_delay(first, attempts, longest, jitter=0.0):
    """The wait before the next attempt after `attempts` failed ones: `first`, doubling each time, at most
    `longest`; with `jitter` (a fraction), spread by up to that much either way, so that rows failing
    together (an endpoint down for everyone) do not all come back at the same instant."""
    delay = min(first * 2 ** max(attempts - 1, 0), longest)
    if jitter:
        delay *= 1 + random.uniform(-jitter, jitter)  # noqa: S311 - spreading load, no secret
    return timedelta(seconds=max(delay.total_seconds(), 0))


def prune(model, done, cutoff_column, cutoff, where=()):
    """Delete rows that are no longer pending (`done`) and whose `cutoff_column` is before `cutoff`; how many."""
    old = delete(model).where(done, cutoff_column < cutoff, *where)
    return rowcount(db.session.execute(old))

