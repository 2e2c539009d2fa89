"""POST /api/v1/auth/refresh: a new pair for a refresh token, which is revoked by the exchange."""

from tests.helpers.api import assert_error
from tests.helpers.auth import AUTH, claims, me, refresh


def test_refresh_answers_200_with_a_new_pair(client, user):
    response = refresh(client, user["refresh_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert body["user"] == user["user"]
    assert body["access_token"] != user["access_token"]
    assert body["refresh_token"] != user["refresh_token"]
    assert claims(body["access_token"])["sub"] == str(user["user"]["id"])


def test_the_new_pair_works(client, user):
    pair = refresh(client, user["refresh_token"]).get_json()
    assert me(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_used_refresh_token_is_then_token_revoked(client, user):
    assert refresh(client, user["refresh_token"]).status_code == 200
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")


def test_a_replayed_refresh_token_ends_the_whole_session(client, user):
    pair = refresh(client, user["refresh_token"]).get_json()
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")
    assert_error(refresh(client, pair["refresh_token"]), 401, "token_revoked")
    assert_error(me(client, pair["access_token"]), 401, "token_revoked")


def test_refresh_without_a_token_is_token_missing(client, user):
    assert_error(client.post(f"{AUTH}/refresh"), 401, "token_missing")
