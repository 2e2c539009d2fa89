"""Tokens: the claims they carry, their lifetime, and the 401 code of each way one can fail."""

import time
from datetime import timedelta

import jwt as pyjwt
import pytest

from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, OTHER_KEY, claims, login, me, sign


def expired(payload):
    """The same claims, issued an hour ago and expired a minute ago."""
    now = int(time.time())
    return {**payload, "iat": now - 3600, "nbf": now - 3600, "exp": now - 60}


# -- claims and lifetime -------------------------------------------------------


def test_access_token_claims(user):
    payload = claims(user["access_token"])
    assert payload["sub"] == str(user["user"]["id"])
    assert payload["type"] == "access"
    assert isinstance(payload["jti"], str) and payload["jti"]
    assert isinstance(payload["iat"], int) and isinstance(payload["exp"], int)
    assert abs(payload["iat"] - time.time()) < 60


def test_refresh_token_claims(user):
    payload = claims(user["refresh_token"])
    assert payload["sub"] == str(user["user"]["id"])
    assert payload["type"] == "refresh"
    assert isinstance(payload["jti"], str) and payload["jti"]
    assert payload["exp"] > payload["iat"]


def test_every_token_has_its_own_jti(client, user):
    again = login(client).get_json()
    jtis = {claims(t)["jti"] for t in (user["access_token"], user["refresh_token"],
                                        again["access_token"], again["refresh_token"])}
    assert len(jtis) == 4


def test_expires_in_is_the_access_token_lifetime(user):
    payload = claims(user["access_token"])
    assert user["expires_in"] == payload["exp"] - payload["iat"] == 900


def test_expires_in_follows_the_configured_lifetime(make_app):
    client = make_app(JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=5)).test_client()
    pair = register(client)
    payload = claims(pair["access_token"])
    assert pair["expires_in"] == payload["exp"] - payload["iat"] == 300
    assert login(client).get_json()["expires_in"] == 300


def test_refresh_token_lives_the_configured_refresh_lifetime(make_app):
    pair = register(make_app(JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=2)).test_client())
    payload = claims(pair["refresh_token"])
    assert payload["exp"] - payload["iat"] == 2 * 24 * 3600


def test_a_token_is_accepted(client, user):
    assert me(client, user["access_token"]).status_code == 200


# -- token_missing -------------------------------------------------------------


def test_no_authorization_header_is_token_missing(client, user):
    assert_error(client.get(f"{AUTH}/me"), 401, "token_missing")


@pytest.mark.parametrize("scheme", ["Basic x", "Basic YWRhOnBhc3N3b3Jk", "Token {access}", "{access}"])
def test_authorization_without_bearer_is_token_missing(client, user, scheme):
    header = scheme.format(access=user["access_token"])
    assert_error(client.get(f"{AUTH}/me", headers={"Authorization": header}), 401, "token_missing")


# -- token_invalid -------------------------------------------------------------


def test_token_signed_with_another_key_is_token_invalid(app, client, user):
    forged = sign(app, claims(user["access_token"]), key=OTHER_KEY)
    assert_error(me(client, forged), 401, "token_invalid")


def test_unsigned_alg_none_token_is_token_invalid(app, client, user):
    forged = pyjwt.encode(claims(user["access_token"]), None, algorithm="none")
    assert_error(me(client, forged), 401, "token_invalid")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_token_of_another_algorithm_is_token_invalid(app, client, user):
    other = sign(app, claims(user["access_token"]), algorithm="HS512")
    assert_error(me(client, other), 401, "token_invalid")


def test_tampered_token_is_token_invalid(app, client, user, bob):
    header, _, signature = user["access_token"].split(".")
    _, bobs_payload, _ = bob["access_token"].split(".")
    assert_error(me(client, f"{header}.{bobs_payload}.{signature}"), 401, "token_invalid")


@pytest.mark.parametrize("token", ["abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "not a token at all"])
def test_malformed_token_is_token_invalid(client, user, token):
    assert_error(me(client, token), 401, "token_invalid")


@pytest.mark.parametrize("sub", ["999999", "not-an-id", ""])
def test_token_of_an_unknown_user_is_token_invalid(app, client, user, sub):
    forged = sign(app, {**claims(user["access_token"]), "sub": sub})
    assert_error(me(client, forged), 401, "token_invalid")


# -- token_expired -------------------------------------------------------------


def test_expired_access_token_is_token_expired(app, client, user):
    token = sign(app, expired(claims(user["access_token"])))
    assert_error(me(client, token), 401, "token_expired")


def test_expired_refresh_token_is_token_expired(app, client, user):
    token = sign(app, expired(claims(user["refresh_token"])))
    assert_error(client.post(f"{AUTH}/refresh", headers=bearer(token)), 401, "token_expired")


def test_access_token_expires_after_its_lifetime(make_app):
    # JWT times are whole seconds: a 1 s token issued at x.999 is already
    # expired at (x+1).001, so the lifetime leaves room for the first use.
    client = make_app(JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=3)).test_client()
    pair = register(client)
    assert pair["expires_in"] == 3
    assert me(client, pair["access_token"]).status_code == 200
    time.sleep(max(0.0, claims(pair["access_token"])["exp"] + 1.1 - time.time()))
    assert_error(me(client, pair["access_token"]), 401, "token_expired")


# -- token_revoked -------------------------------------------------------------


def test_logged_out_token_is_token_revoked(client, user, auth):
    assert client.post(f"{AUTH}/logout", headers=auth).status_code == 204
    assert_error(client.get(f"{AUTH}/me", headers=auth), 401, "token_revoked")


# -- wrong_token_type ----------------------------------------------------------


def test_refresh_token_used_as_access_token_is_wrong_token_type(client, user):
    assert_error(me(client, user["refresh_token"]), 401, "wrong_token_type")


def test_access_token_used_as_refresh_token_is_wrong_token_type(client, user):
    response = client.post(f"{AUTH}/refresh", headers=bearer(user["access_token"]))
    assert_error(response, 401, "wrong_token_type")


# -- revocation across instances -----------------------------------------------


def test_logout_on_one_instance_holds_on_another(make_app):
    a, b = make_app().test_client(), make_app().test_client()
    pair = register(a)
    assert me(b, pair["access_token"]).status_code == 200
    assert a.post(f"{AUTH}/logout", headers=bearer(pair["access_token"])).status_code == 204
    assert_error(me(b, pair["access_token"]), 401, "token_revoked")


def test_rotation_on_one_instance_holds_on_another(make_app):
    a, b = make_app().test_client(), make_app().test_client()
    pair = register(a)
    assert a.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"])).status_code == 200
    assert_error(b.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"])), 401, "token_revoked")


def test_password_change_on_one_instance_holds_on_another(make_app):
    a, b = make_app().test_client(), make_app().test_client()
    pair = register(a)
    body = {"current_password": PASSWORD, "new_password": "a brand new password"}
    assert a.post(f"{AUTH}/password", json=body, headers=bearer(pair["access_token"])).status_code == 204
    assert_error(me(b, pair["access_token"]), 401, "token_revoked")
    assert_error(b.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"])), 401, "token_revoked")


# -- claims are enforced, whatever the signature -----------------------------------


def without(payload, claim):
    return {key: value for key, value in payload.items() if key != claim}


@pytest.mark.parametrize("claim", ["jti", "exp", "type", "sub"])
def test_a_token_missing_a_claim_is_token_invalid(app, client, user, claim):
    forged = sign(app, without(claims(user["access_token"]), claim))
    assert_error(me(client, forged), 401, "token_invalid")


@pytest.mark.parametrize("claim, value", [
    ("type", "admin"), ("type", None), ("jti", "x" * 100), ("jti", ""), ("jti", 7), ("exp", 1e30),
    ("exp", 10**20), ("exp", "soon"), ("exp", True), ("sub", "1e3"), ("sub", str(2**40)), ("sub", 1),
    ("sid", "1"), ("sid", 2**40), ("gen", -1), ("gen", 1.5),
])
def test_a_claim_with_an_impossible_value_is_token_invalid(app, client, user, claim, value):
    forged = sign(app, {**claims(user["access_token"]), claim: value})
    assert_error(me(client, forged), 401, "token_invalid")


@pytest.mark.parametrize("claim, value", [("jti", None), ("jti", "x" * 100), ("exp", 1e30), ("type", "other")])
def test_logout_never_fails_on_a_claim_of_the_refresh_token_given(app, client, user, claim, value):
    forged = sign(app, {**claims(user["refresh_token"]), claim: value})
    response = client.post(f"{AUTH}/logout", json={"refresh_token": forged}, headers=bearer(user["access_token"]))
    assert "refresh_token" in assert_error(response, 422, "validation_error")["errors"]["json"]
    assert me(client, user["access_token"]).status_code == 200  # nothing ended


def test_a_refresh_token_with_an_impossible_claim_is_token_invalid(app, client, user):
    forged = sign(app, {**claims(user["refresh_token"]), "exp": 1e30})
    assert_error(client.post(f"{AUTH}/refresh", headers=bearer(forged)), 401, "token_invalid")
