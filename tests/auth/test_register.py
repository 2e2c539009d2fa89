"""POST /api/v1/auth/register: a new account and its first token pair."""

from datetime import datetime

import pytest
from argon2 import PasswordHasher

from taskapi.auth.models import User
from tests.helpers.api import PASSWORD, assert_error, register
from tests.helpers.auth import AUTH, count, login, stored_user

EMAIL_254 = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"


def post(client, **body):
    return client.post(f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD, **body})


def test_register_answers_201_with_a_token_pair(client):
    response = post(client, name="Ada")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert isinstance(body["access_token"], str) and isinstance(body["refresh_token"], str)
    assert body["access_token"] != body["refresh_token"]


def test_register_returns_the_user(app, client):
    user = post(client, name="Ada").get_json()["user"]
    assert set(user) == {"id", "email", "name", "role", "created_at"}
    assert user["role"] == "user"
    assert user["id"] == stored_user(app).id
    assert (user["email"], user["name"]) == ("ada@example.com", "Ada")


def test_created_at_has_an_explicit_offset(client):
    created_at = post(client).get_json()["user"]["created_at"]
    assert datetime.fromisoformat(created_at).utcoffset() is not None


def test_register_never_returns_the_password_or_its_hash(client):
    text = post(client).get_data(as_text=True)
    assert PASSWORD not in text
    assert "$argon2" not in text
    assert "password" not in text


def test_password_is_stored_as_an_argon2id_hash(app, client):
    post(client)
    password_hash = stored_user(app).password_hash
    assert password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(password_hash, PASSWORD)


def test_name_defaults_to_empty(client):
    assert post(client).get_json()["user"]["name"] == ""


def test_name_of_100_characters_is_accepted(client):
    assert post(client, name="n" * 100).get_json()["user"]["name"] == "n" * 100


def test_name_over_100_characters_is_422(app, client):
    body = assert_error(post(client, name="n" * 101), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"name"}
    assert count(app, User) == 0


def test_email_is_trimmed_and_stored_lowercase(app, client):
    user = post(client, email="  Ada@Example.COM \t").get_json()["user"]
    assert user["email"] == "ada@example.com"
    assert stored_user(app).email == "ada@example.com"


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@example.com", "  ada@example.com  "])
def test_email_in_use_is_409_email_taken(app, client, email):
    register(client)
    assert_error(post(client, email=email), 409, "email_taken")
    assert count(app, User) == 1


def test_email_taken_leaves_the_first_account_as_it_was(app, client):
    register(client, password=PASSWORD)
    post(client, email="ADA@example.com", password="another password")
    assert login(client).status_code == 200
    assert_error(login(client, password="another password"), 401, "invalid_credentials")


INVALID_EMAILS = ["not-an-email", "ada@", "@example.com", "ada example@example.com", "ada@@example.com",
                  "", "   ", 42, None]


@pytest.mark.parametrize("email", INVALID_EMAILS)
def test_invalid_email_is_422(app, client, email):
    body = assert_error(post(client, email=email), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email"}
    assert count(app, User) == 0


def test_email_of_254_characters_is_accepted(app, client):
    assert len(EMAIL_254) == 254
    assert post(client, email=EMAIL_254).status_code == 201
    assert stored_user(app, EMAIL_254) is not None


def test_email_over_254_characters_is_422(app, client):
    email = "e" + EMAIL_254
    assert len(email) == 255
    body = assert_error(post(client, email=email), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email"}
    assert count(app, User) == 0


@pytest.mark.parametrize("password", ["p" * 8, "p" * 128, "with spaces inside", "ünïcødé€€"])
def test_password_of_8_to_128_characters_is_accepted(client, password):
    assert post(client, password=password).status_code == 201
    assert login(client, password=password).status_code == 200


@pytest.mark.parametrize("password", ["", "p" * 7, "p" * 129])
def test_password_outside_8_to_128_characters_is_422(app, client, password):
    body = assert_error(post(client, password=password), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"password"}
    assert count(app, User) == 0


@pytest.mark.parametrize("password", [" " * 8, "\t \n \r \t \n", " " * 128])
def test_password_of_only_whitespace_is_422(app, client, password):
    body = assert_error(post(client, password=password), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"password"}
    assert count(app, User) == 0


@pytest.mark.parametrize("stored, other", [("password  ", "password"), ("  password", "password"),
                                           ("pass word1", "password1")])
def test_whitespace_in_a_password_is_significant(client, stored, other):
    post(client, password=stored)
    assert_error(login(client, password=other), 401, "invalid_credentials")
    assert login(client, password=stored).status_code == 200


def test_missing_email_and_password_are_422(app, client):
    body = assert_error(client.post(f"{AUTH}/register", json={"name": "Ada"}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email", "password"}
    assert count(app, User) == 0


def test_unknown_field_is_422(app, client):
    body = assert_error(post(client, is_admin=True), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"is_admin"}
    assert count(app, User) == 0


def test_register_needs_a_body(app, client):
    assert_error(client.post(f"{AUTH}/register"), 400, "bad_request")
    assert count(app, User) == 0


# -- look-alike and invisible characters ------------------------------------------


def test_a_fullwidth_address_is_the_same_account(app, client):
    post(client, email="victim@example.com")
    response = client.post(f"{AUTH}/register", json={"email": "ｖｉｃｔｉｍ@example.com", "password": PASSWORD})
    assert_error(response, 409, "email_taken")
    assert count(app, User) == 1
    assert client.post(f"{AUTH}/login", json={"email": "ｖictim@EXAMPLE.com", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("email", ["victim@example.com\u200b", "vic\u200btim@example.com", "victim\u202e@example.com",
                                   "vic\u00adtim@example.com", "vic\u0007tim@example.com"])
def test_an_address_with_invisible_characters_is_422(app, client, email):
    response = client.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD})
    assert "email" in assert_error(response, 422, "validation_error")["errors"]["json"]
    assert count(app, User) == 0
