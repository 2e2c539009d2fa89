"""flask users create EMAIL and flask tokens prune."""

from datetime import timedelta

import pytest

from taskapi.auth.models import PasswordReset, RevokedToken, User
from taskapi.auth.passwords import hasher
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.auth.conftest import AUTH, count, login, me, stored_user
from tests.conftest import PASSWORD, assert_error


@pytest.fixture
def flask(app, runner):
    """Run `flask ARGS…` as the flask command does: inside the app's context."""

    def invoke(*args, **kwargs):
        with app.app_context():
            return runner.invoke(args=list(args), **kwargs)

    return invoke


def create(flask, *args, password=PASSWORD, confirm=None):
    answers = f"{password}\n{password if confirm is None else confirm}\n"
    return flask("users", "create", *args, input=answers)


def test_users_create_makes_a_user_who_can_log_in(client, flask):
    result = create(flask, "ada@example.com")
    assert result.exit_code == 0, result.output
    assert "ada@example.com" in result.output
    assert login(client).status_code == 200


def test_users_create_stores_only_a_hash(app, flask):
    create(flask, "ada@example.com")
    password_hash = stored_user(app).password_hash
    assert password_hash != PASSWORD and hasher.verify(password_hash, PASSWORD)


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


def test_users_create_asks_for_the_password_twice(app, flask):
    result = create(flask, "ada@example.com", confirm="something else")
    assert result.exit_code != 0
    assert count(app, User) == 0


def test_tokens_prune_deletes_only_expired_revocations(app, client, flask, user, auth):
    assert client.post(f"{AUTH}/logout", headers=auth).status_code == 204
    with app.app_context():
        db.session.add(RevokedToken(jti="expired-one", user_id=user["user"]["id"],
                                    expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert count(app, RevokedToken) == 2
    result = flask("tokens", "prune")
    assert result.exit_code == 0, result.output
    assert "Pruned 1 " in result.output
    assert count(app, RevokedToken) == 1
    assert count(app, RevokedToken, RevokedToken.jti == "expired-one") == 0
    assert_error(me(client, user["access_token"]), 401, "token_revoked")


def test_tokens_prune_with_nothing_expired_keeps_everything(app, client, flask, auth):
    client.post(f"{AUTH}/logout", headers=auth)
    result = flask("tokens", "prune")
    assert result.exit_code == 0
    assert "Pruned 0 " in result.output
    assert count(app, RevokedToken) == 1


def test_tokens_prune_deletes_reset_tokens_a_day_past_expiry(app, flask, user):
    now = utcnow()
    user_id = user["user"]["id"]
    with app.app_context():
        db.session.add_all([
            PasswordReset(user_id=user_id, token_hash="a" * 64, expires_at=now - timedelta(days=1, seconds=1)),
            PasswordReset(user_id=user_id, token_hash="b" * 64, expires_at=now - timedelta(hours=23)),
        ])
        db.session.commit()
    result = flask("tokens", "prune")
    assert "and 1 expired reset token(s)" in result.output, result.output
    assert count(app, PasswordReset) == 1
    assert count(app, PasswordReset, PasswordReset.token_hash == "b" * 64) == 1
