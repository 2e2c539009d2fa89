"""flask mail status; flask mail send (deliver pending messages now); flask mail prune."""

import click
from flask import current_app
from flask.cli import AppGroup

from taskapi import background
from taskapi.extensions import db
from taskapi.mail import outbox


@click.group(cls=AppGroup, help="The outbox of password-reset messages.")
def mail():
    pass


@mail.command("status")
def status():
    """Count the outbox's pending, sent and failed messages."""
    for state, number in outbox.counts().items():
        click.echo(f"{state}: {number}")


@mail.command("send")
def send():
    """Deliver every pending message now, without waiting for its next attempt."""
    background.run_jobs(current_app)
    attempted = outbox.deliver_due(include_not_yet_due=True)
    counts = outbox.counts()
    click.echo(f"Attempted {attempted} message(s); now pending {counts['pending']}, sent {counts['sent']}, "
               f"failed {counts['failed']}.")


@mail.command("prune")
def prune():
    """Delete messages sent or given up more than a week ago."""
    count = outbox.prune()
    db.session.commit()
    click.echo(f"Pruned {count} delivered or failed message(s).")
