"""flask users create EMAIL, flask tokens prune, and the revoked-tokens and reset-tokens jobs."""

import os
import pty
import select
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from taskapi.auth.models import PasswordReset, RevokedToken, User
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer
from tests.helpers.auth import AUTH, count, login, me, refresh, stored_user
from tests.test_maintenance import every_coin_heads, run_job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def flask(app, runner):
    """Run `flask ARGS…` as the flask command does: inside the app's context."""

    def invoke(*args, **kwargs):
        with app.app_context():
            return runner.invoke(args=list(args), **kwargs)

    return invoke


def create(flask, *args, password=PASSWORD):
    """`flask users create ARGS`, the password piped in on standard input (not a terminal)."""
    return flask("users", "create", *args, input=f"{password}\n")


def test_users_create_makes_a_user_who_can_log_in(client, flask):
    result = create(flask, "ada@example.com")
    assert result.exit_code == 0, result.output
    assert "ada@example.com" in result.output
    assert login(client).status_code == 200


def test_users_create_stores_only_a_hash(app, flask):
    create(flask, "ada@example.com")
    password_hash = stored_user(app).password_hash
    assert password_hash != PASSWORD and PasswordHasher().verify(password_hash, PASSWORD)


def test_users_create_normalises_the_email_and_takes_a_name(app, flask):
    assert create(flask, "  Ada@Example.COM ", "--name", "Ada").exit_code == 0
    user = stored_user(app)
    assert (user.email, user.name) == ("ada@example.com", "Ada")


def test_users_create_name_defaults_to_empty(app, flask):
    create(flask, "ada@example.com")
    assert stored_user(app).name == ""


def test_users_create_refuses_a_taken_email(app, flask):
    create(flask, "ada@example.com")
    result = create(flask, "ADA@example.com", password="another password")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(app, User) == 1


def test_users_create_refuses_a_password_breaking_the_rules(app, flask):
    result = create(flask, "ada@example.com", password="short")
    assert result.exit_code != 0
    assert "password" in result.output
    assert count(app, User) == 0


def test_users_create_refuses_an_invalid_email(app, flask):
    result = create(flask, "not-an-email")
    assert result.exit_code != 0
    assert "email" in result.output
    assert count(app, User) == 0


def test_users_create_checks_the_email_before_asking_for_a_password(app, flask):
    create(flask, "ada@example.com")
    for email, says in (("not-an-email", "email"), ("ada@example.com", "already exists")):
        result = flask("users", "create", email, input="")  # no password on stdin: never asked for it
        assert result.exit_code == 1 and says in result.output and "No password" not in result.output
    assert count(app, User) == 1


def test_users_create_without_a_password_on_stdin_says_so(app, flask):
    result = flask("users", "create", "ada@example.com", input="")
    assert result.exit_code == 1 and "No password" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert count(app, User) == 0


def test_users_create_asks_twice_on_a_terminal(app, environ, tmp_path):
    """On a real terminal the password is asked for, hidden, and again to confirm."""
    master, slave = pty.openpty()
    env = {**os.environ, **environ, "FLASK_APP": "wsgi", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "flask", "users", "create", "ada@example.com"], cwd=ROOT,
                               env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    screen = b""
    for answer in (PASSWORD, "something else", PASSWORD, PASSWORD):
        screen += _read_until(master, b": ")
        os.write(master, answer.encode() + b"\n")
    assert process.wait(timeout=60) == 0
    screen += _read_until(master, b">.")
    os.close(master)
    assert b"Repeat for confirmation" in screen and b"do not match" in screen
    assert PASSWORD.encode() not in screen  # never echoed
    assert count(app, User) == 1


def _read_until(fd, end, timeout=60):
    seen, deadline = b"", time.monotonic() + timeout
    while not seen.rstrip().endswith(end.rstrip()) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                seen += os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
    return seen


def test_users_create_admin(app, flask, client):
    assert create(flask, "root@example.com", "--admin").exit_code == 0
    assert stored_user(app, "root@example.com").role == "admin"
    pair = login(client, "root@example.com").get_json()
    assert pair["user"]["role"] == "admin"


def revoke_another_sessions_refresh_token(client, user):
    """Logout with the refresh token of another of the user's sessions: that token is revoked by its jti."""
    other = login(client).get_json()
    response = client.post(f"{AUTH}/logout", json={"refresh_token": other["refresh_token"]},
                           headers=bearer(user["access_token"]))
    assert response.status_code == 204
    return other


def add_expired_revocation(app, user):
    """A revocation, `expired-one`, of a token that has expired anyway."""
    with app.app_context():
        db.session.add(RevokedToken(jti="expired-one", user_id=user["user"]["id"],
                                    expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_tokens_prune_deletes_only_expired_revocations(app, client, flask, user):
    other = revoke_another_sessions_refresh_token(client, user)
    add_expired_revocation(app, user)
    assert count(app, RevokedToken) == 2
    result = flask("tokens", "prune")
    assert result.exit_code == 0, result.output
    assert "Pruned 1 " in result.output
    assert count(app, RevokedToken) == 1
    assert count(app, RevokedToken, RevokedToken.jti == "expired-one") == 0
    assert_error(refresh(client, other["refresh_token"]), 401, "token_revoked")


def test_tokens_prune_with_nothing_expired_keeps_everything(app, client, flask, user):
    revoke_another_sessions_refresh_token(client, user)
    result = flask("tokens", "prune")
    assert result.exit_code == 0
    assert "Pruned 0 " in result.output
    assert count(app, RevokedToken) == 1


def test_the_revoked_tokens_job_drops_only_expired_revocations(app, client, user):
    other = revoke_another_sessions_refresh_token(client, user)
    add_expired_revocation(app, user)
    assert run_job(app, "revoked-tokens") == "1 revocation(s) of expired tokens dropped"
    assert count(app, RevokedToken, RevokedToken.jti == "expired-one") == 0
    assert count(app, RevokedToken) == 1
    assert_error(refresh(client, other["refresh_token"]), 401, "token_revoked")


def test_revoking_never_prunes(app, client, user, monkeypatch):
    add_expired_revocation(app, user)
    every_coin_heads(monkeypatch)
    for _ in range(10):
        revoke_another_sessions_refresh_token(client, login(client).get_json())
    assert count(app, RevokedToken, RevokedToken.jti == "expired-one") == 1
    assert count(app, RevokedToken) == 11


def add_reset_tokens_a_day_and_23_hours_past_expiry(app, user):
    now = utcnow()
    user_id = user["user"]["id"]
    with app.app_context():
        db.session.add_all([
            PasswordReset(user_id=user_id, token_hash="a" * 64, expires_at=now - timedelta(days=1, seconds=1)),
            PasswordReset(user_id=user_id, token_hash="b" * 64, expires_at=now - timedelta(hours=23)),
        ])
        db.session.commit()


def test_tokens_prune_deletes_reset_tokens_a_day_past_expiry(app, flask, user):
    add_reset_tokens_a_day_and_23_hours_past_expiry(app, user)
    result = flask("tokens", "prune")
    assert "and 1 expired reset token(s)" in result.output, result.output
    assert count(app, PasswordReset) == 1
    assert count(app, PasswordReset, PasswordReset.token_hash == "b" * 64) == 1


def test_the_reset_tokens_job_deletes_reset_tokens_a_day_past_expiry(app, user):
    add_reset_tokens_a_day_and_23_hours_past_expiry(app, user)
    assert run_job(app, "reset-tokens") == "1 reset token(s) a day past expiry dropped"
    assert count(app, PasswordReset) == 1
    assert count(app, PasswordReset, PasswordReset.token_hash == "b" * 64) == 1


def test_users_set_role_disable_enable_and_list(app, flask, client, user):
    create(flask, "root@example.com", "--admin")
    assert "now admin" in flask("users", "set-role", "ada@example.com", "admin").output
    assert stored_user(app).role == "admin"
    assert "now user" in flask("users", "set-role", "ada@example.com", "user").output
    assert flask("users", "disable", "ada@example.com").exit_code == 0
    assert_error(me(client, user["access_token"]), 401, "token_revoked")
    assert_error(login(client), 403, "account_disabled")
    assert flask("users", "enable", "ada@example.com").exit_code == 0
    assert login(client).status_code == 200
    lines = flask("users", "list").output.splitlines()
    assert lines[0].startswith(f"{user['user']['id']}\tada@example.com\tuser\tactive")
    assert "root@example.com\tadmin\tactive" in lines[1] and lines[1].endswith("last login never")


def test_the_last_admin_can_be_neither_demoted_nor_disabled(app, flask):
    create(flask, "root@example.com", "--admin")
    for args in (("set-role", "root@example.com", "user"), ("disable", "root@example.com")):
        result = flask("users", *args)
        assert result.exit_code == 1 and "last admin" in result.output
    assert stored_user(app, "root@example.com").role == "admin"
    create(flask, "second@example.com", "--admin")
    assert flask("users", "set-role", "root@example.com", "user").exit_code == 0


def test_users_commands_name_an_unknown_email(flask):
    for args in (("set-role", "x@example.com", "admin"), ("disable", "x@example.com"), ("enable", "x@example.com")):
        result = flask("users", *args)
        assert result.exit_code == 1 and "No account with the email x@example.com" in result.output
