"""flask users create EMAIL; flask tokens prune."""

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from taskapi.auth import accounts, reset
from taskapi.auth import tokens as token_rules
from taskapi.auth.schemas import RegisterSchema
from taskapi.errors import ApiError
from taskapi.extensions import db


@click.group(cls=AppGroup, help="Manage user accounts.")
def users():
    pass


@users.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.password_option(help="Asked for when not given.")
def create_user(email, name, password):
    """Create a user with EMAIL."""
    try:
        data = RegisterSchema().load({"email": email, "password": password, "name": name})
        user = accounts.register(**data)
    except ValidationError as exc:
        raise click.ClickException("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.messages.items())) from None
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created user {user.id} <{user.email}>.")


@click.group(cls=AppGroup, help="Manage revoked tokens.")
def tokens():
    pass


@tokens.command("prune")
def prune_tokens():
    """Delete revocations of tokens that have expired anyway, and reset tokens a day past expiry."""
    count = token_rules.prune()
    resets = reset.prune()
    db.session.commit()
    click.echo(f"Pruned {count} expired revocation(s) and {resets} expired reset token(s).")
