"""Periodic maintenance: each area's prune or purge, run once per MAINTENANCE_INTERVAL by one process of all.

Requests never prune. Every serving process's background thread (taskapi/background.py)
looks at the `maintenance_jobs` table each round, and runs a job whose period has come
only if it wins that period's claim: a conditional UPDATE setting `last_started_at`,
which matches only while the stored time is a period old, so of every worker and
instance sharing the database exactly one sees it change a row. The claim is committed
before the job runs, in one short transaction: it needs no session state, so it works
on SQLite, on PostgreSQL and through PgBouncer in transaction pooling mode, where a
session-level advisory lock would not (and pg_try_advisory_xact_lock would only keep
claimers apart while the job runs, not remember that this period's run is done).

A job that fails is logged and tried again once its next period comes (its claim is
not given back, so a job that always fails does not fail every round); the others run
regardless. `last_succeeded_at` is what the metric
taskapi_maintenance_last_success_timestamp_seconds{job} reports, as read from the table,
so each process reports the latest success whichever instance ran the job. Periods are
measured by the claimer's own clock: instances whose clocks differ by a few seconds run
a job a few seconds early or late, never twice in one period by the same clock.
"""

import logging
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from prometheus_client import Gauge
from sqlalchemy import String, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from taskapi import background
from taskapi.activity import retention
from taskapi.auth import events, reset, throttle, tokens
from taskapi.extensions import Model, db
from taskapi.lists import invitations
from taskapi.mail import outbox
from taskapi.models import UTCDateTime, rowcount, utcnow
from taskapi.tasks import idempotency, trash
from taskapi.webhooks import delivery

log = logging.getLogger(__name__)
GAUGE = "taskapi-maintenance-last-success"

# name → (the area's prune or purge, what its result says). Each function leaves its deletions in the
# session (the runner commits) and returns a count, or a tuple of counts for the sentence's fields.
JOBS = {
    "trash": (trash.purge, "{} task(s) deleted from the trash for good, {} feed tombstone(s) dropped"),
    "login-failures": (throttle.prune, "{} failed login(s) older than 15 minutes dropped"),
    "security-events": (events.prune, "{} security event(s) past SECURITY_EVENT_RETENTION_DAYS dropped"),
    "revoked-tokens": (tokens.prune, "{} revocation(s) of expired tokens dropped"),
    "reset-tokens": (reset.prune, "{} reset token(s) a day past expiry dropped"),
    "idempotency-keys": (idempotency.prune, "{} Idempotency-Key answer(s) older than 24 hours dropped"),
    "mail-outbox": (outbox.prune, "{} message(s) sent or given up over a week ago dropped"),
    "invitations": (invitations.prune, "{} invitation(s) ended or expired over 30 days ago dropped"),
    "activity": (retention.prune, "{} activity entr(y/ies) past ACTIVITY_RETENTION_DAYS dropped"),
    "webhook-events": (delivery.prune, "{} webhook event(s) done over a week ago, with no attempt kept, dropped"),
}


class MaintenanceJob(Model):
    """When each job was last claimed and last finished without error, by whichever process ran it."""

    __tablename__ = "maintenance_jobs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_started_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    last_succeeded_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)


def _interval():
    return timedelta(seconds=current_app.config["MAINTENANCE_INTERVAL"])


def _rows():
    """Every job's row, those missing (a new job, a new database) added first."""
    rows = {row.name: row for row in db.session.execute(select(MaintenanceJob)).scalars()}
    missing = [{"name": name} for name in JOBS if name not in rows]
    if missing:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(MaintenanceJob).values(missing).on_conflict_do_nothing())
        db.session.commit()
        rows = {row.name: row for row in db.session.execute(select(MaintenanceJob)).scalars()}
    db.session.commit()  # end the read: a job must not run inside a transaction begun before its claim
    for row in rows.values():
        _report(row)
    return rows


def _claim(name, now, due_before=None):
    """Set the job's last_started_at to `now`; with `due_before`, only if it started before then (or never).
    True when this process changed the row: the job is its to run."""
    claim = update(MaintenanceJob).where(MaintenanceJob.name == name).values(last_started_at=now)
    if due_before is not None:
        claim = claim.where(or_(MaintenanceJob.last_started_at.is_(None), MaintenanceJob.last_started_at <= due_before))
    won = rowcount(db.session.execute(claim)) == 1
    db.session.commit()
    return won


def _run(name):
    """Run one job now; its sentence, or None when it failed (logged)."""
    prune, sentence = JOBS[name]
    try:
        result = prune()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("maintenance job %s failed; it runs again in its next period", name)
        return None
    done = utcnow()
    db.session.execute(update(MaintenanceJob).where(MaintenanceJob.name == name).values(last_succeeded_at=done))
    db.session.commit()
    _gauge().labels(name).set(done.timestamp())
    said = sentence.format(*result) if isinstance(result, tuple) else sentence.format(result)
    log.info("maintenance %s: %s", name, said)
    return said


def _report(row):
    if row.last_succeeded_at is not None:
        _gauge().labels(row.name).set(row.last_succeeded_at.timestamp())


def _gauge():
    return current_app.extensions[GAUGE]


def run_due():
    """Background job: run each job whose period has come and whose claim this process wins.

    Returns False: what was due is done, so nothing calls for another round at once.
    """
    rows = _rows()
    now = utcnow()
    due_before = now - _interval()
    for name in JOBS:
        started = rows[name].last_started_at
        if (started is None or started <= due_before) and _claim(name, now, due_before):
            _run(name)
    return False


def run_now(names):
    """Run the named jobs now, whatever their period: [(name, sentence or None when it failed)]."""
    _rows()
    results = []
    for name in names:
        _claim(name, utcnow())
        results.append((name, _run(name)))
    return results


@click.group(cls=AppGroup, help="Periodic maintenance: each kind of old row, pruned.")
def maintenance():
    pass


@maintenance.command("run", help="Run JOB, or every job, now; the background runs each once per "
                     f"MAINTENANCE_INTERVAL. The jobs: {', '.join(JOBS)}.")
@click.argument("job", required=False)
def run_command(job):
    if job is not None and job not in JOBS:
        raise click.BadParameter(f"no job is named {job!r}; the jobs are {', '.join(JOBS)}.", param_hint="JOB")
    failed = []
    for name, said in run_now([job] if job else list(JOBS)):
        click.echo(f"{name}: {said if said is not None else 'failed (see the log)'}")
        if said is None:
            failed.append(name)
    if failed:
        raise click.ClickException(f"{len(failed)} job(s) failed: {', '.join(failed)}")


def init_app(app):
    # Under gunicorn each worker writes its own value; /metrics shows the largest, the latest success.
    app.extensions[GAUGE] = Gauge(
        "taskapi_maintenance_last_success_timestamp_seconds",
        "When each maintenance job last finished without error (Unix time), whichever instance ran it.",
        ["job"], registry=app.extensions["taskapi-metrics"].registry, multiprocess_mode="max")
    background.register(app, run_due)
    app.cli.add_command(maintenance)
