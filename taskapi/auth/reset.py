"""Password reset by email: requests stored alike for every address, tokens mailed through the outbox, used once."""

import functools
import hashlib
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from taskapi import background
from taskapi.auth import accounts, events, throttle
from taskapi.auth.models import PasswordReset, PasswordResetRequest, User
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.mail import configured as mail_configured
from taskapi.mail import outbox
from taskapi.models import rowcount, utcnow

TEMPLATE = "password_reset"
REQUESTED = "If an account uses this address, a message with a link to reset its password is on its way."
NOT_CONFIGURED = "Password reset by email is not configured."
INVALID_TOKEN = ("invalid_reset_token", "This password reset link is not valid: it is unknown, expired or used.")
# Tokens are 43 URL-safe characters; anything else cannot be one, and is answered like an unknown token.
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{20,128}")
CAP_WINDOW = timedelta(hours=1)
BATCH = 50


def mail_required(view):
    """503 before anything else when password-reset messages could reach no one (production without MAIL_SERVER)."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not mail_configured(current_app):
            raise ApiError(503, message=NOT_CONFIGURED, cause="mail_not_configured")
        return view(*args, **kwargs)

    return checked


def hash_token(token):
    """Tokens carry 256 random bits, so a fast hash is enough to keep them unusable if the table leaks."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(email):
    """Store a reset request: one row, whether or not the address has an account (the answer times alike)."""
    client, user_agent, rid = events.origin()
    db.session.add(PasswordResetRequest(email=email, ip=client, user_agent=user_agent, request_id=rid))
    db.session.commit()
    background.wake(current_app)


def resolve_requests():
    """Background job: turn stored requests into a token and a message each, where the address has an account.

    The requests are deleted in the transaction that stores what they became, so each
    is handled exactly once across every worker and instance.
    """
    queued = select(PasswordResetRequest.id).order_by(PasswordResetRequest.id).limit(BATCH)
    claim = (
        delete(PasswordResetRequest)
        .where(PasswordResetRequest.id.in_(queued.with_for_update(skip_locked=True)))
        .returning(PasswordResetRequest.email, PasswordResetRequest.ip, PasswordResetRequest.user_agent,
                   PasswordResetRequest.request_id)
    )
    requests = db.session.execute(claim).all()
    for asked in requests:
        _resolve(asked)
    db.session.commit()
    return len(requests)


def _resolve(asked):
    # The row lock makes concurrent requests for one address count each other's messages.
    user = db.session.execute(select(User).where(User.email == asked.email).with_for_update()).scalar_one_or_none()
    events.record("password_reset_requested", user.id if user else None, client=asked.ip,
                  user_agent=asked.user_agent, request_id=asked.request_id)
    if user is None or user.disabled or _sent_recently(user) >= current_app.config["PASSWORD_RESET_PER_EMAIL"]:
        return
    nonce, token = outbox.new_secret()
    expires_at = utcnow() + current_app.config["PASSWORD_RESET_EXPIRES"]
    db.session.add(PasswordReset(user_id=user.id, token_hash=hash_token(token), expires_at=expires_at))
    outbox.enqueue(TEMPLATE, user.email, {"name": user.name}, expires_at, user_id=user.id, nonce=nonce)


def _sent_recently(user):
    since = utcnow() - CAP_WINDOW
    count = select(func.count()).where(PasswordReset.user_id == user.id, PasswordReset.created_at > since)
    return db.session.execute(count).scalar_one()


@outbox.template(TEMPLATE)
def render_message(context, token):
    """The reset message: plain text holding the link, worked out at send time from the message's secret."""
    link = current_app.config["PASSWORD_RESET_URL"].replace("{token}", token)
    minutes = int(current_app.config["PASSWORD_RESET_EXPIRES"].total_seconds() // 60)
    greeting = f"Hello {context['name']}," if context.get("name") else "Hello,"
    text = (
        f"{greeting}\n\n"
        "Someone, hopefully you, asked to reset the password of your taskapi account.\n"
        f"Open this link within {minutes} minutes to choose a new one:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n"
    )
    return "Reset your taskapi password", text


def confirm(token, new_password):
    """Use a reset token: set the new password as a password change does. 400 alike for unknown, expired, used."""
    user_id = None
    if TOKEN_FORMAT.fullmatch(token):
        now = utcnow()
        # One UPDATE decides: of two concurrent uses of one token, exactly one finds it unused.
        use = (
            update(PasswordReset)
            .where(PasswordReset.token_hash == hash_token(token), PasswordReset.used_at.is_(None),
                   PasswordReset.expires_at > now)
            .values(used_at=now)
            .returning(PasswordReset.user_id)
        )
        user_id = db.session.execute(use).scalar_one_or_none()
    if user_id is None:
        db.session.rollback()
        raise ApiError(400, *INVALID_TOKEN)
    user = db.session.get_one(User, user_id, with_for_update=True)  # the reset's foreign key: it exists
    accounts.set_password(user, new_password, "password_reset")
    throttle.clear(user.email)
    db.session.commit()


def prune():
    """Delete reset tokens that expired a day ago or more; return how many."""
    cutoff = utcnow() - timedelta(days=1)
    return rowcount(db.session.execute(delete(PasswordReset).where(PasswordReset.expires_at < cutoff)))
