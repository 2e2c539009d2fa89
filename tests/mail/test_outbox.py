"""The outbox: stored with the caller's transaction, claimed once, retried with growing delays, then given up."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi.extensions import db
from taskapi.mail import outbox
from taskapi.mail.models import Delivery, OutboxMessage
from taskapi.models import utcnow
from tests.smtp import mail_settings, text_of
from tests.test_maintenance import every_coin_heads, run_job

NOTE = "test_note"


@outbox.template(NOTE)
def render_note(context, secret):
    return "A note", f"{context['text']} / secret: {secret}"


@pytest.fixture
def app(make_app, smtp):
    return make_app(**mail_settings(smtp))


def put(app, text="hello", expires_in=timedelta(hours=1), with_secret=False):
    """Enqueue one note and commit; returns (message id, secret or None)."""
    with app.app_context():
        nonce, secret = outbox.new_secret() if with_secret else (None, None)
        message = outbox.enqueue(NOTE, "ada@example.com", {"text": text}, utcnow() + expires_in, nonce=nonce)
        db.session.commit()
        return message.id, secret


def stored(app, message_id):
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


def deliver(app, **kwargs):
    with app.app_context():
        return outbox.deliver_due(**kwargs)


def make_due(app, message_id):
    """Skip the wait before the next attempt."""
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(next_attempt_at=utcnow()))
        db.session.commit()


def make_old(app, message_id):
    """Move a message's creation eight days back: past the week `flask mail prune` keeps."""
    with app.app_context():
        week_ago = utcnow() - timedelta(days=8)
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(created_at=week_ago))
        db.session.commit()


def test_a_message_is_sent_once_and_recorded(app, smtp):
    message_id, _ = put(app)
    assert deliver(app) == 1
    assert deliver(app) == 0
    (message,) = smtp.wait_for(1)
    assert message["Subject"] == "A note" and text_of(message).startswith("hello")
    sent = stored(app, message_id)
    assert sent.status == Delivery.sent and sent.attempts == 1 and sent.sent_at is not None


def test_a_message_rolled_back_with_its_transaction_never_exists(app):
    with app.app_context():
        outbox.enqueue(NOTE, "ada@example.com", {"text": "x"}, utcnow() + timedelta(hours=1))
        db.session.rollback()
        assert db.session.execute(select(OutboxMessage)).first() is None


def test_the_secret_is_not_stored_but_arrives(app, smtp):
    message_id, secret = put(app, with_secret=True)
    assert secret not in repr(stored(app, message_id).__dict__)
    deliver(app)
    assert f"secret: {secret}" in text_of(smtp.wait_for(1)[0])
    assert stored(app, message_id).secret is None  # the nonce goes once the message is sent


def test_secrets_depend_on_the_secret_key(app, make_app):
    with app.app_context():
        nonce, secret = outbox.new_secret()
        assert outbox.reveal(nonce) == secret and nonce != secret
    with make_app(SECRET_KEY="another-secret-key-that-is-32-chars-long").app_context():
        assert outbox.reveal(nonce) != secret


def test_failed_attempts_wait_longer_each_time(app, smtp):
    smtp.refuse = True
    message_id, _ = put(app)
    waits = []
    for _ in range(4):
        before = utcnow()
        deliver(app, include_not_yet_due=True)
        message = stored(app, message_id)
        waits.append(round((message.next_attempt_at - before).total_seconds()))
    assert waits == [5, 10, 20, 40]
    assert message.status == Delivery.pending and message.attempts == 4
    assert message.last_error.startswith("SMTPDataError: 451")


def test_a_message_not_yet_due_waits(app, smtp):
    smtp.refuse = True
    message_id, _ = put(app)
    deliver(app)
    smtp.refuse = False
    assert deliver(app) == 0  # its next attempt is seconds away
    make_due(app, message_id)
    assert deliver(app) == 1
    assert stored(app, message_id).status == Delivery.sent


def test_it_is_given_up_once_the_next_attempt_would_be_too_late(app, smtp, caplog):
    smtp.refuse = True
    message_id, _ = put(app, expires_in=timedelta(seconds=9), with_secret=True)
    deliver(app)  # failed; the next attempt (5 s) is still in time
    assert stored(app, message_id).status == Delivery.pending
    make_due(app, message_id)
    deliver(app)  # failed; the next (10 s) would be after it expires
    message = stored(app, message_id)
    assert message.status == Delivery.failed and message.secret is None
    assert "given up after 2 attempt(s)" in caplog.text
    smtp.refuse = False
    assert deliver(app, include_not_yet_due=True) == 0
    assert smtp.received == []


def test_an_expired_message_is_not_sent(app, smtp):
    message_id, _ = put(app, expires_in=timedelta(seconds=-1))
    deliver(app)
    assert smtp.received == []
    assert stored(app, message_id).status == Delivery.failed


def test_an_unreachable_server_is_retried(app, smtp):
    smtp.stop()
    message_id, _ = put(app)
    deliver(app)
    message = stored(app, message_id)
    assert message.status == Delivery.pending and "ConnectionRefusedError" in message.last_error
    smtp.start()
    make_due(app, message_id)
    deliver(app)
    assert len(smtp.wait_for(1)) == 1


def test_a_message_another_process_is_sending_is_left_alone(app, smtp):
    message_id, _ = put(app)
    with app.app_context():
        lease = utcnow() + timedelta(minutes=1)
        db.session.execute(update(OutboxMessage).values(claimed_until=lease))
        db.session.commit()
    assert deliver(app) == 0
    with app.app_context():  # that process died: its lease lapses
        db.session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert deliver(app) == 1 and stored(app, message_id).status == Delivery.sent


def test_no_log_line_holds_the_message(app, smtp, caplog):
    caplog.set_level(logging.DEBUG, logger="taskapi")
    _, secret = put(app, text="private words", with_secret=True)
    smtp.refuse = True
    deliver(app)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("taskapi"))
    assert "not sent (attempt 1)" in logged
    assert secret not in logged and "private words" not in logged


def test_counts_and_prune(app, smtp):
    put(app)
    deliver(app)
    old_id, _ = put(app)
    deliver(app)
    put(app)
    make_old(app, old_id)
    with app.app_context():
        assert outbox.counts() == {"pending": 1, "sent": 2, "failed": 0}
        assert outbox.prune() == 1
        db.session.commit()
        assert outbox.counts() == {"pending": 1, "sent": 1, "failed": 0}


def test_flask_mail_status_send_and_prune(app, smtp, runner):
    smtp.refuse = True
    put(app)
    deliver(app)
    smtp.refuse = False
    with app.app_context():
        status = runner.invoke(args=["mail", "status"])
        assert status.exit_code == 0 and "pending: 1" in status.output
        sent = runner.invoke(args=["mail", "send"])  # by hand: without waiting for the next attempt
        assert sent.exit_code == 0 and "pending 0, sent 1, failed 0" in sent.output, sent.output
        assert runner.invoke(args=["mail", "prune"]).output.startswith("Pruned 0")
    assert len(smtp.wait_for(1)) == 1


def test_the_mail_outbox_job_drops_messages_delivered_over_a_week_ago(app, smtp):
    old_id, _ = put(app)
    deliver(app)
    make_old(app, old_id)
    put(app)
    deliver(app)
    put(app)
    assert run_job(app, "mail-outbox") == "1 message(s) sent or given up over a week ago dropped"
    with app.app_context():
        assert outbox.counts() == {"pending": 1, "sent": 1, "failed": 0}


def test_deliveries_never_prune(app, smtp, monkeypatch):
    old_id, _ = put(app)
    deliver(app)
    make_old(app, old_id)
    every_coin_heads(monkeypatch)
    for _ in range(10):
        put(app)
        assert deliver(app) == 1
    with app.app_context():
        assert outbox.counts() == {"pending": 0, "sent": 11, "failed": 0}
