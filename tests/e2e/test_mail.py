"""Password reset end to end: gunicorn workers deliver through a real SMTP server, once each, and log no secret."""

import json
import time

import pytest

from tests.e2e.helpers import AUTH, PASSWORD, Client, assert_error, unique_email
from tests.smtp import INVITATION_URL, RESET_URL, SENDER, SMTPServer, reset_token

NEW = "a brand new password for e2e"


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


def mail_env(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_DEFAULT_SENDER": SENDER,
            "PASSWORD_RESET_URL": RESET_URL, "INVITATION_URL": INVITATION_URL, "BACKGROUND_INTERVAL": 1,
            "AUTH_RATE_LIMIT": "1000 per minute"}


def test_a_reset_from_request_to_new_password(start_server, smtp):
    server = start_server(**mail_env(smtp))
    client = Client(server)
    email = unique_email("reset")
    old = client.register(email=email)
    asked = client.post(AUTH + "/password-reset", json={"email": email})
    assert asked.status_code == 202, asked.text
    (message,) = smtp.wait_for(1, timeout=20)
    assert message["To"] == email and message["From"] == SENDER
    token = reset_token(message)
    assert client.post(AUTH + "/password-reset/confirm", json={"token": token, "new_password": NEW},
                       token=None).status_code == 204
    assert_error(client.get(AUTH + "/me", token=old["access_token"]), 401, "token_revoked")
    assert client.post(AUTH + "/login", json={"email": email, "password": NEW}).status_code == 200
    assert_error(client.post(AUTH + "/password-reset/confirm", json={"token": token, "new_password": NEW}), 400,
                 "invalid_reset_token")
    printed = "\n".join(server.lines)
    for secret in (token, RESET_URL.replace("{token}", token), NEW, PASSWORD):
        assert secret not in printed
    assert server.non_json_lines() == []


def test_two_workers_send_each_message_once(start_server, smtp):
    server = start_server(**mail_env(smtp))
    client = Client(server)
    emails = [unique_email("many") for _ in range(12)]
    for email in emails:
        client.register(email=email)
        client.post(AUTH + "/password-reset", json={"email": email})
    smtp.wait_for(len(emails), timeout=30)
    time.sleep(2.5)  # two more intervals: a second copy would have been sent by now
    assert sorted(rcpt for _, rcpts, _ in smtp.received for rcpt in rcpts) == sorted(emails)


def test_production_without_mail_server_warns_at_start_and_answers_503(start_server):
    server = start_server()
    warnings = [line for line in server.lines if "MAIL_SERVER is not set" in line]
    assert warnings and json.loads(warnings[0])["level"] == "WARNING"
    response = Client(server).post(AUTH + "/password-reset", json={"email": unique_email()})
    body = assert_error(response, 503, "service_unavailable")
    assert body["message"] == "Password reset by email is not configured."
