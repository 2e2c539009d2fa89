"""GET and PATCH /api/v1/auth/me: the signed-in user, and changing their name."""

from datetime import datetime

import pytest

from tests.helpers.api import PASSWORD, assert_error, bearer
from tests.helpers.auth import AUTH, stored_user


def patch(client, auth, body):
    return client.patch(f"{AUTH}/me", json=body, headers=auth)


def test_me_answers_the_user(client, user, auth):
    response = client.get(f"{AUTH}/me", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == user["user"]
    assert set(response.get_json()) == {"id", "email", "name", "role", "created_at"}
    assert response.get_json()["role"] == "user"


def test_me_is_the_token_owner(client, user, bob):
    assert client.get(f"{AUTH}/me", headers=bearer(bob["access_token"])).get_json()["email"] == "bob@example.com"


def test_me_created_at_has_an_explicit_offset(client, auth):
    created_at = client.get(f"{AUTH}/me", headers=auth).get_json()["created_at"]
    assert datetime.fromisoformat(created_at).utcoffset() is not None


def test_me_never_shows_the_password_or_its_hash(client, auth):
    text = client.get(f"{AUTH}/me", headers=auth).get_data(as_text=True)
    assert PASSWORD not in text and "$argon2" not in text and "password" not in text


def test_patch_me_changes_the_name(app, client, user, auth):
    response = patch(client, auth, {"name": "Ada Lovelace"})
    assert response.status_code == 200
    assert response.get_json() == {**user["user"], "name": "Ada Lovelace"}
    assert client.get(f"{AUTH}/me", headers=auth).get_json()["name"] == "Ada Lovelace"
    assert stored_user(app).name == "Ada Lovelace"


@pytest.mark.parametrize("name", ["", "n" * 100])
def test_patch_me_accepts_names_of_0_to_100_characters(client, auth, name):
    assert patch(client, auth, {"name": name}).get_json()["name"] == name


def test_patch_me_name_over_100_characters_is_422(app, client, auth):
    body = assert_error(patch(client, auth, {"name": "n" * 101}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"name"}
    assert stored_user(app).name == "Ada"


def test_patch_me_cannot_change_the_email(app, client, auth):
    body = assert_error(patch(client, auth, {"name": "Ada", "email": "eve@example.com"}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email"}
    assert stored_user(app).email == "ada@example.com"


def test_patch_me_without_a_name_is_422(client, auth):
    body = assert_error(patch(client, auth, {}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"name"}


def test_patch_me_needs_a_body(client, auth):
    assert_error(client.patch(f"{AUTH}/me", headers=auth), 400, "bad_request")


def test_me_needs_an_access_token(client, user):
    assert_error(client.get(f"{AUTH}/me"), 401, "token_missing")
    assert_error(client.patch(f"{AUTH}/me", json={"name": "Eve"}), 401, "token_missing")
