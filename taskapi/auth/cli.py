"""flask users create|set-role|disable|enable|list; flask tokens prune; flask events prune."""

import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select

from taskapi.auth import accounts, reset
from taskapi.auth import events as event_rules
from taskapi.auth import tokens as token_rules
from taskapi.auth.models import Role, User
from taskapi.auth.schemas import EmailSchema, RegisterSchema, normalise_email
from taskapi.errors import ApiError
from taskapi.extensions import db


@click.group(cls=AppGroup, help="Manage user accounts.")
def users():
    pass


def _problems(exc):
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.messages.items())


def _new_email(email):
    """The normalised address, checked before anyone is asked for a password."""
    try:
        email = EmailSchema().load({"email": email})["email"]
    except ValidationError as exc:
        raise click.ClickException(_problems(exc)) from None
    if accounts.find_by_email(email) is not None:
        raise click.ClickException("An account with this email already exists.")
    return email


def _read_password():
    """Asked for twice on a terminal; otherwise one line of standard input (`echo … | flask users create`)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("No password: type it at the prompt, or give it as a line on standard input.")
    return line.rstrip("\r\n")


@users.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
def create_user(email, name, admin):
    """Create a user with EMAIL; the password is asked for (or read from standard input)."""
    email = _new_email(email)
    try:
        data = RegisterSchema().load({"email": email, "password": _read_password(), "name": name})
        user = accounts.create_user(**data, role=Role.admin if admin else Role.user)
    except ValidationError as exc:
        raise click.ClickException(_problems(exc)) from None
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.id} <{user.email}>.")


def _user(email):
    user = accounts.find_by_email(normalise_email(email))
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    return user


def _refuse_to_leave_no_admin(user):
    """Under the admins' lock the admin routes take too, so a command and a request cannot both remove the
    last two admins; the caller's commit lets it go."""
    accounts.lock_admins()
    db.session.refresh(user)
    if accounts.is_last_admin(user):
        raise click.ClickException(f"{user.email} is the last admin; make another admin first.")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([role.value for role in Role]))
def set_role(email, role):
    """Make EMAIL an admin or a user."""
    user = _user(email)
    if role != Role.admin:
        _refuse_to_leave_no_admin(user)
    accounts.set_role(user, Role(role))
    db.session.commit()
    click.echo(f"{user.email} is now {user.role}.")


@users.command("disable")
@click.argument("email")
def disable(email):
    """Disable EMAIL: every session ends now, and login answers 403 account_disabled."""
    user = _user(email)
    _refuse_to_leave_no_admin(user)
    accounts.set_disabled(user, True)
    db.session.commit()
    click.echo(f"{user.email} is disabled.")


@users.command("enable")
@click.argument("email")
def enable(email):
    """Let EMAIL log in again."""
    user = _user(email)
    accounts.set_disabled(user, False)
    db.session.commit()
    click.echo(f"{user.email} is enabled.")


@users.command("list")
def list_users():
    """List every user: id, email, role, disabled or not, created, last login."""
    for user in db.session.execute(select(User).order_by(User.id)).scalars():
        state = "disabled" if user.disabled else "active"
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}\t"
                   f"created {user.created_at.isoformat(timespec='seconds')}\tlast login {last}")


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


@click.group(cls=AppGroup, help="Manage security events.")
def events():
    pass


@events.command("prune")
def prune_events():
    """Delete security events older than SECURITY_EVENT_RETENTION_DAYS."""
    count = event_rules.prune()
    db.session.commit()
    click.echo(f"Pruned {count} security event(s).")
