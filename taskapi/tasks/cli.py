"""flask seed (the demo account); flask tasks purge; flask idempotency-keys prune."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from taskapi.auth import accounts
from taskapi.auth.passwords import hash_password
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.lists.access import adjust_task_count, next_inbox_change
from taskapi.models import utcnow
from taskapi.tasks import commands, idempotency, positions, queries, trash
from taskapi.tasks.models import Priority, Status

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_TITLES = [
    "Write quarterly report", "Review pull requests", "Plan sprint", "Book dentist appointment",
    "Renew passport", "Pay electricity bill", "Prepare slides for all-hands", "Call the plumber",
    "Update CV", "Read 'Designing Data-Intensive Applications'", "Fix flaky login test",
    "Water the plants", "Back up laptop", "Buy birthday present for Sam", "Migrate CI to new runners",
    "Clean up the garage", "Draft blog post on caching", "Order new keyboard", "Schedule 1:1s",
    "File expense report", "Research standing desks", "Rotate API keys", "Organise team lunch",
    "Archive old projects", "Learn 10 Spanish words",
]
DEMO_TAGS = [["work"], ["work", "code"], ["work"], ["health"], ["admin"], ["home", "bills"], ["work"],
             ["home"], ["career"], ["learning"], ["work", "code"], ["home"], ["admin"], ["errands"],
             ["work", "code"], ["home"], ["writing"], ["errands"], ["work"], ["work", "admin"], ["home"],
             ["work", "security"], ["work"], ["admin"], ["learning"]]
# The demo's manual order: what is under way first, then what is open, then what is done.
MANUAL_ORDER = {Status.in_progress: 0, Status.pending: 1, Status.completed: 2}


def demo_tasks(now):
    """About 25 tasks' fields across every status, priority, kind of due date and a few tags."""
    statuses, priorities = list(Status), list(Priority)
    tasks = []
    for i, title in enumerate(DEMO_TITLES):
        status = statuses[i % 3]
        created = now - timedelta(days=len(DEMO_TITLES) - i)
        tasks.append({
            "title": title,
            "description": None if i % 3 == 0 else f"Demo task {i + 1}: {title.lower()}.",
            "status": status,
            "priority": priorities[(i * 2) % 3],
            "due_at": None if i % 4 == 0 else now + timedelta(days=(i % 9) - 3, hours=i),
            "completed_at": now - timedelta(hours=i) if status == Status.completed else None,
            "created_at": created,
            "updated_at": created,
            "tags": DEMO_TAGS[i],
        })
    return tasks


def _add_demo_tasks(user, list_id, seq):
    fields = demo_tasks(utcnow())
    ordered = sorted(fields, key=lambda task: (MANUAL_ORDER[task["status"]], task["title"]))
    keys = dict(zip((task["title"] for task in ordered), positions.evenly(len(ordered)), strict=True))
    for task in fields:
        commands.new_task(list_id, user, task, seq, keys[task["title"]])
    adjust_task_count(list_id, len(fields))


def _demo_user(reset):
    user = accounts.find_by_email(DEMO_EMAIL)
    if user is None:
        try:
            user = accounts.create_user(DEMO_EMAIL, DEMO_PASSWORD, "Demo User")
            db.session.commit()
            return user, True
        except ApiError:  # another seed registered it meanwhile
            user = accounts.find_by_email(DEMO_EMAIL)
    if reset:
        user.password_hash = hash_password(DEMO_PASSWORD)
    return user, False


@click.command("seed")
@click.option("--reset", is_flag=True, help="Replace the demo account's tasks and password with fresh ones.")
@click.option("--force", is_flag=True, help="Seed even when TASKAPI_ENV is production.")
@with_appcontext
def seed(reset, force):
    """Create the demo account and its tasks when missing (--reset replaces them)."""
    if current_app.config["TASKAPI_ENV"] == "production" and not force:
        raise click.ClickException("refusing to seed demo data with TASKAPI_ENV=production (add --force to do it)")
    user, created = _demo_user(reset)
    inbox, seq = next_inbox_change(user)  # under the lock: two seeds at once add the tasks once
    has_tasks = db.session.execute(select(queries.list_tasks_of(inbox, queries.EVERY).exists())).scalar()
    if reset and has_tasks:
        trash.delete_list_tasks(inbox, seq)
    if reset or not has_tasks:
        _add_demo_tasks(user, inbox, seq)
    db.session.commit()
    if created or reset or not has_tasks:
        click.echo(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD} ({len(DEMO_TITLES)} tasks)")
    else:
        click.echo(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD} (already there, left as it is; --reset replaces it)")


@click.group("tasks", cls=AppGroup, help="Maintain the users' tasks.")
def tasks():
    pass


@tasks.command("purge")
def purge_tasks():
    """Delete for good what was trashed over TRASH_DAYS ago; drop tombstones past SYNC_RETENTION_DAYS."""
    deleted, dropped = trash.purge()
    click.echo(f"Purged {deleted} task(s) from the trash and {dropped} tombstone(s) of the change feed.")


@click.group("idempotency-keys", cls=AppGroup, help="Manage stored Idempotency-Key answers.")
def idempotency_keys():
    pass


@idempotency_keys.command("prune")
def prune_keys():
    """Delete answers older than the 24-hour replay window."""
    count = idempotency.prune()
    db.session.commit()
    click.echo(f"Pruned {count} expired idempotency key(s).")
