"""Retention: activity entries older than ACTIVITY_RETENTION_DAYS are deleted, in bounded batches."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from taskapi.activity.models import Activity
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow

BATCH = 5000  # entries per DELETE: each batch commits, so no transaction holds a long list of row locks


def prune(batch=BATCH):
    """Delete the entries older than ACTIVITY_RETENTION_DAYS, oldest first, `batch` at a time (a maintenance job);
    returns how many."""
    cutoff = utcnow() - timedelta(days=current_app.config["ACTIVITY_RETENTION_DAYS"])
    dropped = 0
    while True:
        # Through the `at` index; the ids of one batch, so each DELETE touches at most `batch` rows.
        oldest = select(Activity.id).where(Activity.at < cutoff).order_by(Activity.at).limit(batch)
        count = rowcount(db.session.execute(delete(Activity).where(Activity.id.in_(oldest.scalar_subquery()))))
        db.session.commit()
        dropped += count
        if count < batch:
            return dropped
