"""POST /api/v1/auth/password: a new password, and every token issued before it revoked."""

import pytest

from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, login, me, refresh, stored_user

NEW = "a brand new password"


def change(client, access_token, current=PASSWORD, new=NEW):
    body = {"current_password": current, "new_password": new}
    return client.post(f"{AUTH}/password", json=body, headers=bearer(access_token))


def test_password_change_answers_204(client, user):
    response = change(client, user["access_token"])
    assert response.status_code == 204
    assert response.get_data() == b""


def test_new_password_logs_in_and_the_old_does_not(client, user):
    change(client, user["access_token"])
    assert login(client, password=NEW).status_code == 200
    assert_error(login(client, password=PASSWORD), 401, "invalid_credentials")


def test_every_earlier_access_token_is_revoked(client, user):
    other = login(client).get_json()
    change(client, user["access_token"])
    assert_error(me(client, user["access_token"]), 401, "token_revoked")
    assert_error(me(client, other["access_token"]), 401, "token_revoked")


def test_every_earlier_refresh_token_is_revoked(client, user):
    other = login(client).get_json()
    change(client, user["access_token"])
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")
    assert_error(refresh(client, other["refresh_token"]), 401, "token_revoked")


def test_tokens_issued_after_the_change_work(client, user):
    change(client, user["access_token"])
    pair = login(client, password=NEW).get_json()
    assert me(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_a_second_change_revokes_the_tokens_of_the_first(client, user):
    change(client, user["access_token"])
    pair = login(client, password=NEW).get_json()
    assert change(client, pair["access_token"], current=NEW, new="yet another password").status_code == 204
    assert_error(me(client, pair["access_token"]), 401, "token_revoked")
    assert_error(refresh(client, pair["refresh_token"]), 401, "token_revoked")


def test_other_users_tokens_are_untouched(client, user, bob):
    change(client, user["access_token"])
    assert me(client, bob["access_token"]).status_code == 200
    assert refresh(client, bob["refresh_token"]).status_code == 200


def test_wrong_current_password_is_401_invalid_credentials(client, user):
    assert_error(change(client, user["access_token"], current="wrong password"), 401, "invalid_credentials")


def test_wrong_current_password_changes_nothing(app, client, user):
    before = stored_user(app).password_hash
    change(client, user["access_token"], current="wrong password")
    assert stored_user(app).password_hash == before
    assert me(client, user["access_token"]).status_code == 200
    assert refresh(client, user["refresh_token"]).status_code == 200
    assert login(client, password=PASSWORD).status_code == 200
    assert_error(login(client, password=NEW), 401, "invalid_credentials")


@pytest.mark.parametrize("new", ["short", "p" * 129, " " * 12])
def test_new_password_follows_the_password_rules(app, client, user, new):
    before = stored_user(app).password_hash
    body = assert_error(change(client, user["access_token"], new=new), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"new_password"}
    assert stored_user(app).password_hash == before
    assert me(client, user["access_token"]).status_code == 200


def test_whitespace_of_the_new_password_is_kept(client, user):
    change(client, user["access_token"], new=f"  {NEW}  ")
    assert_error(login(client, password=NEW), 401, "invalid_credentials")
    assert login(client, password=f"  {NEW}  ").status_code == 200


def test_missing_fields_are_422(client, user):
    response = client.post(f"{AUTH}/password", json={}, headers=bearer(user["access_token"]))
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == {"current_password", "new_password"}


def test_password_change_needs_an_access_token(client, user):
    assert_error(client.post(f"{AUTH}/password", json={"current_password": PASSWORD, "new_password": NEW}),
                 401, "token_missing")
    assert_error(change(client, user["refresh_token"]), 401, "wrong_token_type")


# -- guessing behind a stolen access token ------------------------------------------


def test_wrong_current_passwords_count_in_the_login_throttle(make_app):
    app = make_app(LOGIN_FAILURE_LIMIT=3)
    client = app.test_client()
    pair = register(client)
    for _ in range(3):
        assert_error(change(client, pair["access_token"], current="a wrong guess"), 401, "invalid_credentials")
    throttled = change(client, pair["access_token"])  # the right password no longer gets checked
    assert_error(throttled, 429, "rate_limited")
    assert int(throttled.headers["Retry-After"]) > 890
    assert_error(login(client), 429, "rate_limited")  # the same count as the login form's
    assert login(client, password=PASSWORD).status_code == 429


@pytest.mark.parametrize("path, method, body", [
    (f"{AUTH}/password", "post", {"current_password": "a wrong guess", "new_password": NEW}),
    (f"{AUTH}/me", "delete", {"password": "a wrong guess"}),
])
def test_password_checks_are_rate_limited_per_user_and_per_client_address(make_app, path, method, body):
    app = make_app(AUTH_RATE_LIMIT="2 per minute")
    client = app.test_client()
    first, second = register(client), register(client, email="bob@example.com")
    send = getattr(client, method)
    for _ in range(2):
        assert send(path, json=body, headers=bearer(first["access_token"]),
                    environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code == 401
    # Same user from another address: the per-user limit.
    limited = send(path, json=body, headers=bearer(first["access_token"]), environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert_error(limited, 429, "rate_limited")
    # Another user from the first address: the per-address limit.
    limited = send(path, json=body, headers=bearer(second["access_token"]),
                   environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert_error(limited, 429, "rate_limited")
