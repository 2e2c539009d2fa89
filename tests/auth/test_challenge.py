"""A 401 for a bearer token carries its RFC 6750 challenge; a wrong password in a body carries none."""

import pytest

from tests.auth.test_tokens import expired
from tests.helpers.api import assert_error, bearer
from tests.helpers.auth import AUTH, OTHER_KEY, claims, login, me, sign

CHALLENGE = 'Bearer realm="taskapi"'
INVALID_TOKEN = 'Bearer realm="taskapi", error="invalid_token"'


def test_no_token_is_challenged_without_an_error(client, user):
    response = client.get(f"{AUTH}/me")
    assert_error(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_a_scheme_other_than_bearer_is_challenged_without_an_error(client, user):
    response = client.get(f"{AUTH}/me", headers={"Authorization": "Basic YWRhOnB3"})
    assert_error(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
def test_a_malformed_token_is_invalid_token(client, user, token):
    response = me(client, token)
    assert_error(response, 401, "token_invalid")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_a_token_signed_with_another_key_is_invalid_token(app, client, user):
    response = me(client, sign(app, claims(user["access_token"]), key=OTHER_KEY))
    assert_error(response, 401, "token_invalid")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_an_expired_token_is_invalid_token(app, client, user):
    response = me(client, sign(app, expired(claims(user["access_token"]))))
    assert_error(response, 401, "token_expired")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_a_revoked_token_is_invalid_token(client, user, auth):
    assert client.post(f"{AUTH}/logout", headers=auth).status_code == 204
    response = client.get(f"{AUTH}/me", headers=auth)
    assert_error(response, 401, "token_revoked")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_a_refresh_token_where_an_access_token_belongs_is_invalid_token(client, user):
    response = me(client, user["refresh_token"])
    assert_error(response, 401, "wrong_token_type")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_an_access_token_at_refresh_is_invalid_token(client, user):
    response = client.post(f"{AUTH}/refresh", headers=bearer(user["access_token"]))
    assert_error(response, 401, "wrong_token_type")
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_wrong_credentials_at_login_are_no_bearer_challenge(client, user):
    # Login takes its credentials in the body: asking for a bearer token would send a client the wrong way.
    response = login(client, password="not the password")
    assert_error(response, 401, "invalid_credentials")
    assert "WWW-Authenticate" not in response.headers


def test_a_wrong_current_password_is_no_bearer_challenge(client, user, auth):
    response = client.post(f"{AUTH}/password", headers=auth,
                           json={"current_password": "not the password", "new_password": "another good one"})
    assert_error(response, 401, "invalid_credentials")
    assert "WWW-Authenticate" not in response.headers


def test_a_valid_token_gets_no_challenge(client, auth):
    assert "WWW-Authenticate" not in client.get(f"{AUTH}/me", headers=auth).headers
