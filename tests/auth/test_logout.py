"""POST /api/v1/auth/logout: revokes the access token, and the refresh token when one is given."""

import pytest

from tests.helpers.api import assert_error, bearer
from tests.helpers.auth import AUTH, OTHER_KEY, claims, login, me, refresh, revocations, sign


def logout(client, access_token, **kwargs):
    return client.post(f"{AUTH}/logout", headers=bearer(access_token), **kwargs)


def test_logout_answers_204_with_an_empty_body(client, user):
    response = logout(client, user["access_token"])
    assert response.status_code == 204
    assert response.get_data() == b""


def test_logout_revokes_the_access_token(client, user):
    logout(client, user["access_token"])
    assert_error(me(client, user["access_token"]), 401, "token_revoked")


def test_logout_revokes_the_refresh_token_given(client, user):
    assert logout(client, user["access_token"], json={"refresh_token": user["refresh_token"]}).status_code == 204
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")
    assert_error(me(client, user["access_token"]), 401, "token_revoked")


def test_logout_ends_the_session_so_its_refresh_token_stops_even_when_not_sent(client, user):
    logout(client, user["access_token"])
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")


def test_logout_leaves_other_sessions_alone(client, user):
    other = login(client).get_json()
    logout(client, user["access_token"], json={"refresh_token": user["refresh_token"]})
    assert me(client, other["access_token"]).status_code == 200
    assert refresh(client, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("kwargs", [
    {},
    {"data": b"", "content_type": "application/json"},
    {"json": {}},
    {"json": {"refresh_token": None}},
], ids=["no body", "empty body", "empty object", "null refresh_token"])
def test_logout_body_is_optional(client, user, kwargs):
    assert logout(client, user["access_token"], **kwargs).status_code == 204
    assert_error(me(client, user["access_token"]), 401, "token_revoked")


def test_logout_of_a_refresh_token_already_rotated_away_is_204(client, user):
    pair = refresh(client, user["refresh_token"]).get_json()
    assert logout(client, pair["access_token"], json={"refresh_token": user["refresh_token"]}).status_code == 204
    assert_error(me(client, pair["access_token"]), 401, "token_revoked")


def bogus_refresh_tokens(app, user, bob):
    return {
        "garbage": "not-a-token",
        "empty": "",
        "access token": user["access_token"],
        "another user's": bob["refresh_token"],
        "another key": sign(app, claims(user["refresh_token"]), key=OTHER_KEY),
    }


@pytest.mark.parametrize("kind", ["garbage", "empty", "access token", "another user's", "another key"])
def test_logout_with_a_bogus_refresh_token_is_422_and_revokes_nothing(app, client, user, bob, kind):
    token = bogus_refresh_tokens(app, user, bob)[kind]
    body = assert_error(logout(client, user["access_token"], json={"refresh_token": token}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"refresh_token"}
    assert revocations(app) == 0
    assert me(client, user["access_token"]).status_code == 200
    assert me(client, bob["access_token"]).status_code == 200
    assert refresh(client, bob["refresh_token"]).status_code == 200


def test_logout_with_a_refresh_token_of_the_wrong_type_is_422(client, user):
    body = assert_error(logout(client, user["access_token"], json={"refresh_token": 42}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"refresh_token"}


def test_logout_unknown_field_is_422(app, client, user):
    assert_error(logout(client, user["access_token"], json={"everywhere": True}), 422, "validation_error")
    assert revocations(app) == 0


def test_logout_needs_an_access_token(client, user):
    assert_error(client.post(f"{AUTH}/logout"), 401, "token_missing")
    assert_error(logout(client, user["refresh_token"]), 401, "wrong_token_type")


def test_logout_twice_is_token_revoked(client, user):
    logout(client, user["access_token"])
    assert_error(logout(client, user["access_token"]), 401, "token_revoked")
