"""Putting messages in the outbox, and sending what is due: claimed safely, retried with growing delays
(the lease, the delays and pruning are taskapi/outbox.py's, shared with the webhooks' outbox)."""

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_mailman import EmailMessage
from sqlalchemy import func, select

from taskapi import outbox as shared
from taskapi.extensions import db, mail
from taskapi.mail.models import ERROR_MAX, Delivery, OutboxMessage
from taskapi.models import utcnow

log = logging.getLogger("taskapi.mail")

BATCH = 20
# Longer than a batch can take to send (MAIL_TIMEOUT per message): a lease never lapses mid-send.
LEASE = timedelta(minutes=10)
LONGEST_RETRY = timedelta(minutes=10)
KEEP_DELIVERED = timedelta(days=7)
# template name → render(context, secret) → (subject, text); registered by the areas that send mail.
TEMPLATES: dict[str, Callable[[dict, str | None], tuple[str, str]]] = {}


def template(name):
    """Register a function rendering the message `name` from its context (and secret) at send time."""

    def register(render):
        TEMPLATES[name] = render
        return render

    return register


def new_secret():
    """A secret for a message: (the nonce the outbox stores, the secret).

    The secret is an HMAC of the nonce under SECRET_KEY, worked out again at send
    time: the database alone never holds it, and the nonce is cleared once the
    message is sent or given up.
    """
    nonce = secrets.token_urlsafe(32)
    return nonce, reveal(nonce)


def reveal(nonce):
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"taskapi-mail-secret\0" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def enqueue(template_name, recipient, context, expires_at, user_id=None, nonce=None):
    """Add a message to the session: it is stored with whatever the caller commits, or not at all."""
    message = OutboxMessage(template=template_name, recipient=recipient, context=context, secret=nonce,
                            expires_at=expires_at, user_id=user_id, next_attempt_at=utcnow())
    db.session.add(message)
    return message


def _claim(include_not_yet_due):
    """Lease up to BATCH pending messages to this process; other processes skip them."""
    return shared.claim(OutboxMessage, Delivery.pending, BATCH, LEASE, include_not_yet_due)


def _email(message):
    subject, text = TEMPLATES[message.template](message.context, reveal(message.secret) if message.secret else None)
    return EmailMessage(subject=subject, body=text, to=[message.recipient])


def _sent(message):
    message.status = Delivery.sent
    message.sent_at = utcnow()
    message.secret = None
    message.claimed_until = None
    message.last_error = None
    log.info("mail %s sent (%s, attempt %d)", message.id, message.template, message.attempts)


def _not_sent(message, error):
    """Retry with growing delays while the message is still worth sending; give up after."""
    now = utcnow()
    delay = shared.retry_delay(current_app.config["MAIL_RETRY_FIRST"], message.attempts, LONGEST_RETRY)
    message.claimed_until = None
    message.last_error = error[:ERROR_MAX]
    if now + delay >= message.expires_at:
        message.status = Delivery.failed
        message.secret = None
        log.error("mail %s given up after %d attempt(s): %s", message.id, message.attempts, error)
    else:
        message.next_attempt_at = now + delay
        log.warning("mail %s not sent (attempt %d): %s; next attempt in %.0f s", message.id, message.attempts,
                    error, delay.total_seconds())


def _describe(exc):
    """What went wrong, for the log and the outbox: the error's class and the server's words, never the message."""
    words = getattr(exc, "smtp_error", None)
    if isinstance(words, bytes):
        words = words.decode("utf-8", "replace")
    code = getattr(exc, "smtp_code", None)
    detail = f"{code} {words}" if code else (words or str(exc))
    return f"{exc.__class__.__name__}: {detail}".strip()


def _send(messages):
    """Send each message on one connection; record each outcome as soon as it is known."""
    unsent = [m for m in messages if m.expires_at > utcnow()]
    for message in messages:
        if message not in unsent:
            _not_sent(message, "expired before it could be sent")
    try:
        with mail.get_connection() as connection:
            while unsent:
                message = unsent[0]
                try:
                    connection.send_messages([_email(message)])
                except OSError as exc:  # refused, dropped, timed out (smtplib's errors are OSErrors)
                    _not_sent(message, _describe(exc))
                else:
                    _sent(message)
                unsent.pop(0)
                db.session.commit()
    except OSError as exc:  # the server could not be reached at all
        for message in unsent:
            _not_sent(message, _describe(exc))
    db.session.commit()


def deliver_due(include_not_yet_due=False):
    """Send the messages that are due (a background job); returns how many were attempted."""
    messages = _claim(include_not_yet_due)
    if messages:
        _send(messages)
    return len(messages)


def counts():
    """How many messages are pending, sent and failed."""
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    found = {Delivery(status): number for status, number in rows}
    return {status.value: found.get(status, 0) for status in Delivery}


def prune():
    """Delete messages sent or given up more than KEEP_DELIVERED ago; return how many."""
    return shared.prune(OutboxMessage, OutboxMessage.status != Delivery.pending, OutboxMessage.created_at,
                        utcnow() - KEEP_DELIVERED)
