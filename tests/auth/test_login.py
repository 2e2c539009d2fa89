"""POST /api/v1/auth/login: a token pair for the right email and password, one 401 for any mistake."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from taskapi.auth import passwords
from taskapi.auth.models import User
from taskapi.extensions import db
from tests.helpers.api import PASSWORD, assert_error
from tests.helpers.auth import AUTH, claims, login, stored_user


def test_login_answers_200_with_a_token_pair(client, user):
    response = login(client)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert body["user"] == user["user"]
    assert claims(body["access_token"])["sub"] == str(user["user"]["id"])


def test_login_issues_new_tokens(client, user):
    body = login(client).get_json()
    assert body["access_token"] != user["access_token"]
    assert body["refresh_token"] != user["refresh_token"]


@pytest.mark.parametrize("email", ["ADA@EXAMPLE.COM", "Ada@Example.com", "  ada@example.com\t"])
def test_login_email_is_trimmed_and_case_insensitive(client, user, email):
    assert login(client, email=email).status_code == 200


def test_wrong_password_is_401_invalid_credentials(client, user):
    assert_error(login(client, password=PASSWORD + "!"), 401, "invalid_credentials")


def test_unknown_email_is_401_invalid_credentials(client, user):
    assert_error(login(client, email="nobody@example.com"), 401, "invalid_credentials")


def test_unknown_email_and_wrong_password_answer_the_same(client, user):
    unknown = assert_error(login(client, email="nobody@example.com"), 401, "invalid_credentials")
    wrong = assert_error(login(client, password="wrong password"), 401, "invalid_credentials")
    del unknown["request_id"], wrong["request_id"]
    assert unknown == wrong


def test_a_short_password_is_just_incorrect(client, user):
    assert_error(login(client, password="x"), 401, "invalid_credentials")


def test_login_of_an_invalid_email_is_422(client):
    body = assert_error(login(client, email="not-an-email"), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email"}


def test_missing_password_is_422(client, user):
    body = assert_error(client.post(f"{AUTH}/login", json={"email": "ada@example.com"}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"password"}


def test_unknown_email_costs_one_verification_like_a_wrong_password(client, user, monkeypatch):
    calls = []
    verify = PasswordHasher.verify

    def counting_verify(self, password_hash, password):
        calls.append(password_hash)
        return verify(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    login(client, email="nobody@example.com")
    login(client, password="wrong password")
    assert len(calls) == 2
    assert all(h.startswith("$argon2id$") for h in calls)


def test_verify_password_without_a_hash_is_false(app):
    with app.app_context():
        assert passwords.verify_password(None, "x") is False
        # Not even the password behind the dummy hash gets through.
        assert passwords.verify_password(None, passwords.DUMMY_PASSWORD) is False


def test_hash_is_upgraded_on_login_when_argon2_parameters_change(app, client, user):
    old_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.execute(update(User).values(password_hash=old_hash))
        db.session.commit()
    assert login(client).status_code == 200
    new_hash = stored_user(app).password_hash
    assert new_hash != old_hash
    with app.app_context():
        assert passwords.verify_password(new_hash, PASSWORD)
        assert not passwords.needs_rehash(new_hash)


def test_hash_is_kept_when_argon2_parameters_are_current(app, client, user):
    before = stored_user(app).password_hash
    assert login(client).status_code == 200
    assert stored_user(app).password_hash == before


def test_failed_login_leaves_an_old_hash_alone(app, client, user):
    old_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.execute(update(User).values(password_hash=old_hash))
        db.session.commit()
    assert_error(login(client, password="wrong password"), 401, "invalid_credentials")
    assert stored_user(app).password_hash == old_hash
