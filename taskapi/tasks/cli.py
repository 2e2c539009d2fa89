"""flask seed (the demo account); flask idempotency-keys prune."""

from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import delete

from taskapi.auth import accounts
from taskapi.auth.passwords import hash_password
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks import idempotency
from taskapi.tasks.models import Priority, Status, Task

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


def demo_tasks(user_id, now):
    """About 25 tasks across every status, priority and kind of due date."""
    statuses, priorities = list(Status), list(Priority)
    tasks = []
    for i, title in enumerate(DEMO_TITLES):
        status = statuses[i % 3]
        due = None if i % 4 == 0 else now + timedelta(days=(i % 9) - 3, hours=i)
        tasks.append(
            Task(
                user_id=user_id,
                title=title,
                description=None if i % 3 == 0 else f"Demo task {i + 1}: {title.lower()}.",
                status=status,
                priority=priorities[(i * 2) % 3],
                due_at=due,
                completed_at=now - timedelta(hours=i) if status == Status.completed else None,
                created_at=now - timedelta(days=len(DEMO_TITLES) - i),
                updated_at=now - timedelta(days=len(DEMO_TITLES) - i),
            )
        )
    return tasks


@click.command("seed")
@with_appcontext
def seed():
    """Create or refresh the demo account and its tasks."""
    user = accounts.find_by_email(DEMO_EMAIL)
    if user is None:
        user = accounts.create_user(DEMO_EMAIL, DEMO_PASSWORD, "Demo User")
    else:
        user.password_hash = hash_password(DEMO_PASSWORD)
        db.session.execute(delete(Task).where(Task.user_id == user.id))
    db.session.add_all(demo_tasks(user.id, utcnow()))
    db.session.commit()
    click.echo(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD} ({len(DEMO_TITLES)} tasks)")


@click.group("idempotency-keys", cls=AppGroup, help="Manage stored Idempotency-Key answers.")
def idempotency_keys():
    pass


@idempotency_keys.command("prune")
def prune_keys():
    """Delete answers older than the 24-hour replay window."""
    count = idempotency.prune()
    db.session.commit()
    click.echo(f"Pruned {count} expired idempotency key(s).")
