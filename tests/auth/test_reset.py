"""POST /password-reset and /password-reset/confirm: one answer for every address, real SMTP, tokens used once."""

import hashlib
import logging
import os
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from taskapi import background
from taskapi.auth import reset
from taskapi.auth.models import PasswordReset, PasswordResetRequest
from taskapi.extensions import db
from taskapi.mail import outbox
from taskapi.mail.models import OutboxMessage
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, count, login, me, refresh
from tests.smtp import RESET_URL, SENDER, mail_settings, reset_token, text_of
from tests.test_errors import unavailable_counts
from tests.test_maintenance import every_coin_heads

RESET = f"{AUTH}/password-reset"
CONFIRM = f"{AUTH}/password-reset/confirm"
NEW = "a brand new password"
POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


@pytest.fixture
def app(make_app, smtp):
    """The app, sending its mail to the test's SMTP server."""
    return make_app(**mail_settings(smtp))


def ask(client, email="ada@example.com", **kwargs):
    return client.post(RESET, json={"email": email}, **kwargs)


def confirm(client, token, new_password=NEW):
    return client.post(CONFIRM, json={"token": token, "new_password": new_password})


def deliver(app):
    """Do what each serving process's background thread does, once, now."""
    with app.app_context():
        background.run_jobs(app)


def mailed_token(app, client, smtp, email="ada@example.com"):
    """Ask for a reset and deliver it; returns the token from the link that arrived."""
    before = len(smtp.received)
    assert ask(client, email).status_code == 202
    deliver(app)
    return reset_token(smtp.wait_for(before + 1)[-1])


@pytest.fixture
def running(app):
    """The app's background thread, running as in a gunicorn worker, stopped after the test."""
    app.config.update(BACKGROUND_WORK=True)
    app.extensions[background.EXTENSION].interval = 0.1
    background.start(app)
    yield app
    background.stop(app)


# The answer


def test_every_well_formed_address_gets_the_same_answer(client, user):
    known, unknown = ask(client), ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert known.get_json() == {"message": reset.REQUESTED}
    headers = [{k: v for k, v in r.headers.items() if k != "X-Request-ID"} for r in (known, unknown)]
    assert headers[0] == headers[1]


def test_the_request_only_stores_itself(app, client, user, smtp):
    ask(client)
    ask(client, "nobody@example.com")
    assert smtp.received == []  # nothing is sent inside the request
    assert count(app, PasswordResetRequest) == 2  # one row each, known or not
    assert count(app, PasswordReset) == count(app, OutboxMessage) == 0


def test_a_known_address_is_sent_a_link(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    (mail_from, recipients, message), = smtp.received
    assert recipients == ["ada@example.com"] and message["To"] == "ada@example.com"
    assert mail_from == "no-reply@example.com" and message["From"] == SENDER
    assert message.get_content_type() == "text/plain"
    assert RESET_URL.replace("{token}", token) in text_of(message)
    assert len(token) >= 22 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert count(app, PasswordResetRequest) == 0


def test_an_unknown_address_is_sent_nothing_and_nothing_is_kept(app, client, user, smtp):
    ask(client, "nobody@example.com")
    deliver(app)
    assert smtp.received == []
    assert count(app, PasswordResetRequest) == count(app, PasswordReset) == count(app, OutboxMessage) == 0


def test_the_address_is_matched_as_login_matches_it(app, client, user, smtp):
    token = mailed_token(app, client, smtp, email="  ADA@Example.com ")
    assert confirm(client, token).status_code == 204


def test_the_token_is_stored_only_as_a_hash(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    with app.app_context():
        stored = db.session.execute(select(PasswordReset.token_hash)).scalar_one()
        everything = [db.session.execute(text(f"SELECT * FROM {table}")).all()
                      for table in ("password_resets", "mail_outbox", "password_reset_requests")]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(everything)


# Using the token


def test_confirm_sets_the_new_password_and_does_not_sign_in(app, client, user, smtp):
    response = confirm(client, mailed_token(app, client, smtp))
    assert response.status_code == 204 and response.get_data() == b""
    assert login(client, password=NEW).status_code == 200
    assert_error(login(client), 401, "invalid_credentials")


def test_confirm_revokes_every_earlier_token(app, client, user, smtp):
    other = login(client).get_json()
    confirm(client, mailed_token(app, client, smtp))
    for pair in (user, other):
        assert_error(me(client, pair["access_token"]), 401, "token_revoked")
        assert_error(refresh(client, pair["refresh_token"]), 401, "token_revoked")


def test_confirm_revokes_every_personal_access_token(app, client, user, smtp):
    auth = bearer(user["access_token"])
    made = client.post("/api/v1/auth/tokens", json={"name": "script", "scopes": ["tasks:read"],
                                                    "expires_in_days": 30}, headers=auth)
    personal = bearer(made.get_json()["token"])
    assert client.get("/api/v1/tasks", headers=personal).status_code == 200
    assert confirm(client, mailed_token(app, client, smtp)).status_code == 204
    assert_error(client.get("/api/v1/tasks", headers=personal), 401, "token_revoked")


def test_a_token_works_once(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    assert confirm(client, token).status_code == 204
    assert_error(confirm(client, token, "yet another password"), 400, "invalid_reset_token")
    assert login(client, password=NEW).status_code == 200  # the second use changed nothing


def test_an_expired_token_is_refused(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_error(confirm(client, token), 400, "invalid_reset_token")
    assert login(client).status_code == 200


def test_the_token_lives_password_reset_expires_seconds(make_app, smtp, user):
    app = make_app(**mail_settings(smtp), PASSWORD_RESET_EXPIRES=timedelta(seconds=120))
    mailed_token(app, app.test_client(), smtp)
    with app.app_context():
        reset_row = db.session.execute(select(PasswordReset)).scalar_one()
    assert timedelta(seconds=119) < reset_row.expires_at - reset_row.created_at <= timedelta(seconds=121)


@pytest.mark.parametrize("token", ["A" * 43, "x", "!" * 43, "", "A" * 129])
def test_unknown_and_malformed_tokens_are_one_answer(client, user, token):
    body = assert_error(confirm(client, token), 400, "invalid_reset_token")
    assert body["message"] == reset.INVALID_TOKEN[1]
    assert login(client).status_code == 200


def test_a_password_change_spends_every_reset_token(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    body = {"current_password": PASSWORD, "new_password": "changed by hand"}
    assert client.post(f"{AUTH}/password", json=body, headers=bearer(user["access_token"])).status_code == 204
    assert_error(confirm(client, token), 400, "invalid_reset_token")
    assert login(client, password="changed by hand").status_code == 200


def test_using_one_token_spends_the_others(app, client, user, smtp):
    first, second = mailed_token(app, client, smtp), mailed_token(app, client, smtp)
    assert confirm(client, second).status_code == 204
    assert_error(confirm(client, first, "yet another password"), 400, "invalid_reset_token")


def test_other_accounts_are_untouched(app, client, user, smtp):
    bob = register(client, email="bob@example.com", name="Bob")
    confirm(client, mailed_token(app, client, smtp))
    assert me(client, bob["access_token"]).status_code == 200
    assert login(client, "bob@example.com").status_code == 200


# Limits


def test_at_most_password_reset_per_email_messages_an_hour(make_app, smtp, user):
    app = make_app(**mail_settings(smtp), PASSWORD_RESET_PER_EMAIL=2)
    client = app.test_client()
    answers = [ask(client) for _ in range(4)]
    deliver(app)
    assert [answer.status_code for answer in answers] == [202] * 4
    assert len(smtp.received) == 2
    assert count(app, PasswordReset) == 2


@pytest.mark.parametrize("path, body", [(RESET, {"email": "ada@example.com"}),
                                        (CONFIRM, {"token": "A" * 43, "new_password": NEW})])
def test_both_routes_are_rate_limited_per_client_address(make_app, smtp, path, body):
    client = make_app(**mail_settings(smtp), AUTH_RATE_LIMIT="2 per minute").test_client()
    for _ in range(2):
        assert client.post(path, json=body).status_code in (202, 400)
    limited = client.post(path, json=body)
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_a_rate_limited_request_stores_nothing(make_app, smtp):
    app = make_app(**mail_settings(smtp), AUTH_RATE_LIMIT="1 per minute")
    client = app.test_client()
    ask(client)
    assert ask(client).status_code == 429
    assert count(app, PasswordResetRequest) == 1


# Bad input


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a" * 250 + "@example.com"}, "email"),
    ({}, "email"),
    ({"email": 5}, "email"),
    ({"email": "ada@example.com", "name": "Ada"}, "name"),
])
def test_a_bad_request_body_is_422_and_stores_nothing(app, client, user, body, field):
    response = client.post(RESET, json=body)
    assert field in assert_error(response, 422, "validation_error")["errors"]["json"]
    assert count(app, PasswordResetRequest) == 0


TOKEN = object()  # the test's real token


@pytest.mark.parametrize("body, field", [
    ({"new_password": NEW}, "token"),
    ({"token": None, "new_password": NEW}, "token"),
    ({"token": 42, "new_password": NEW}, "token"),
    ({"token": TOKEN}, "new_password"),
    ({"token": TOKEN, "new_password": "short"}, "new_password"),
    ({"token": TOKEN, "new_password": " " * 12}, "new_password"),
    ({"token": TOKEN, "new_password": "x" * 129}, "new_password"),
    ({"token": TOKEN, "new_password": NEW, "user_id": 1}, "user_id"),
])
def test_a_bad_confirm_body_is_422_and_changes_nothing(app, client, user, smtp, body, field):
    token = mailed_token(app, client, smtp)
    response = client.post(CONFIRM, json={key: token if value is TOKEN else value for key, value in body.items()})
    assert field in assert_error(response, 422, "validation_error")["errors"]["json"]
    assert login(client).status_code == 200
    assert confirm(client, token).status_code == 204  # the token was not spent


@pytest.mark.parametrize("path", [RESET, CONFIRM])
def test_a_body_that_is_not_json_is_refused(client, path):
    assert_error(client.post(path, data="email=ada@example.com", content_type="text/plain"), 415,
                 "unsupported_media_type")
    assert_error(client.post(path), 400, "bad_request")


# Delivery


def test_a_slow_mail_server_does_not_slow_the_answer(app, client, user, smtp, running):
    smtp.delay = 1.5
    started = time.monotonic()
    assert ask(client).status_code == 202
    assert time.monotonic() - started < 1.0  # sending inside the request would take 1.5 s
    smtp.wait_for(1)


def test_a_mail_server_down_at_request_time_gets_the_message_later(make_app, user, smtp):
    app = make_app(**mail_settings(smtp), MAIL_RETRY_FIRST=timedelta(seconds=0.2))
    smtp.stop()
    assert ask(app.test_client()).status_code == 202
    deliver(app)
    with app.app_context():
        message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    smtp.start()
    app.config.update(BACKGROUND_WORK=True)
    app.extensions[background.EXTENSION].interval = 0.1
    background.start(app)
    try:
        token = reset_token(smtp.wait_for(1)[0])
    finally:
        background.stop(app)
    assert confirm(app.test_client(), token).status_code == 204


def test_a_restart_loses_nothing(make_app, smtp, user):
    first = make_app(**mail_settings(smtp))
    ask(first.test_client())  # stored, then the process "stops" before its thread ran
    second = make_app(**mail_settings(smtp))
    deliver(second)
    assert confirm(second.test_client(), reset_token(smtp.wait_for(1)[0])).status_code == 204


def test_deleting_the_account_drops_its_unsent_message(app, client, user, smtp):
    smtp.stop()
    ask(client)
    deliver(app)
    assert count(app, OutboxMessage) == 1
    response = client.delete(f"{AUTH}/me", json={"password": PASSWORD}, headers=bearer(user["access_token"]))
    assert response.status_code == 204
    assert count(app, OutboxMessage) == count(app, PasswordReset) == 0


# Secrets stay out of the logs


def test_no_log_line_holds_the_token_the_link_or_a_password(app, client, user, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    token = mailed_token(app, client, smtp)
    confirm(client, token)
    login(client, password=NEW)
    # mail.log is the test SMTP server's own logger (aiosmtpd), which prints what it receives.
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name != "mail.log")
    assert any(record.name.startswith("taskapi") for record in caplog.records)
    for secret in (token, RESET_URL.replace("{token}", token), NEW, PASSWORD):
        assert secret not in logged


def test_without_mail_server_development_logs_the_whole_message(make_app, user, caplog):
    app = make_app()  # testing, no MAIL_SERVER
    caplog.set_level(logging.INFO, logger="taskapi.mail")
    ask(app.test_client())
    deliver(app)
    (record,) = [r for r in caplog.records if r.name == "taskapi.mail" and "logged instead of sent" in r.getMessage()]
    logged = record.getMessage()
    assert "To: ada@example.com" in logged
    token = logged.split("token=")[1].split()[0]
    assert confirm(app.test_client(), token).status_code == 204


@pytest.mark.parametrize("path, body", [(RESET, {"email": "ada@example.com"}), (RESET, {"email": "bad"}),
                                        (CONFIRM, {"token": "A" * 43, "new_password": NEW})])
def test_production_without_mail_server_answers_503(make_app, path, body):
    app = make_app(TASKAPI_ENV="production", MAIL_SERVER=None)
    body = assert_error(app.test_client().post(path, json=body), 503, "service_unavailable")
    assert body["message"] == "Password reset by email is not configured."
    assert count(app, PasswordResetRequest) == 0
    assert unavailable_counts(app.test_client()) == {"mail_not_configured": 1.0}


# Races (PostgreSQL)

needs_postgres = pytest.mark.skipif(not POSTGRES, reason="races need PostgreSQL (TEST_DATABASE_URL)")


@needs_postgres
def test_each_message_goes_out_once_with_several_processes_delivering(make_app, smtp):
    instances = [make_app(**mail_settings(smtp)) for _ in range(2)]
    client = instances[0].test_client()
    emails = [f"user{i}@example.com" for i in range(20)]
    for address in emails:
        register(client, email=address)
        ask(client, address)
    barrier = threading.Barrier(4)

    def deliverer(app):
        barrier.wait()
        for _ in range(5):
            with app.app_context():
                reset.resolve_requests()
                outbox.deliver_due()

    threads = [threading.Thread(target=deliverer, args=(instances[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliver(instances[0])  # whatever a lost race left for later
    recipients = sorted(rcpt for _, rcpts, _ in smtp.received for rcpt in rcpts)
    assert recipients == sorted(emails)


@needs_postgres
def test_one_token_used_concurrently_works_once(app, client, user, smtp):
    token = mailed_token(app, client, smtp)
    barrier = threading.Barrier(6)
    statuses = []

    def use(i):
        local = app.test_client()
        barrier.wait()
        statuses.append((i, confirm(local, token, f"new password number {i}").status_code))

    threads = [threading.Thread(target=use, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [i for i, status in statuses if status == 204]
    assert len(winners) == 1 and sorted(s for _, s in statuses) == [204] + [400] * 5
    assert login(client, password=f"new password number {winners[0]}").status_code == 200


def test_resolving_requests_never_prunes(app, client, user, smtp, monkeypatch):
    with app.app_context():
        db.session.add(PasswordReset(user_id=user["user"]["id"], token_hash="a" * 64,
                                     expires_at=utcnow() - timedelta(days=1, seconds=1)))
        db.session.commit()
    every_coin_heads(monkeypatch)
    for _ in range(5):  # two messages (the old token counts against the hourly cap), three requests capped
        assert ask(client).status_code == 202
        with app.app_context():
            assert reset.resolve_requests() == 1
            outbox.deliver_due()
    assert len(smtp.wait_for(2)) == 2
    assert count(app, PasswordReset) == 3
    assert count(app, PasswordReset, PasswordReset.token_hash == "a" * 64) == 1
