"""DELETE /api/v1/auth/me: the account, its tasks and its tokens are gone."""

from taskapi.auth.models import RevokedToken, SecurityEvent, User, UserSession
from taskapi.tasks.models import Task
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, count, login, me, refresh, stored_user


def delete(client, access_token, password=PASSWORD):
    return client.delete(f"{AUTH}/me", json={"password": password}, headers=bearer(access_token))


def create_tasks(client, access_token, n=2):
    for i in range(n):
        response = client.post("/api/v1/tasks", json={"title": f"task {i}"}, headers=bearer(access_token))
        assert response.status_code == 201, response.get_json()


def test_delete_answers_204(client, user):
    response = delete(client, user["access_token"])
    assert response.status_code == 204
    assert response.get_data() == b""


def test_delete_removes_the_user(app, client, user):
    delete(client, user["access_token"])
    assert stored_user(app) is None
    assert count(app, User) == 0


def test_delete_removes_their_tasks(app, client, user):
    create_tasks(client, user["access_token"], 3)
    assert count(app, Task, Task.user_id == user["user"]["id"]) == 3
    delete(client, user["access_token"])
    assert count(app, Task, Task.user_id == user["user"]["id"]) == 0


def test_delete_removes_their_sessions_events_and_revocations(app, client, user):
    other = login(client).get_json()
    client.post(f"{AUTH}/logout", json={"refresh_token": other["refresh_token"]},
                headers=bearer(user["access_token"]))
    assert count(app, RevokedToken) == 1
    assert count(app, UserSession) == 1 and count(app, SecurityEvent) > 0
    delete(client, login(client).get_json()["access_token"])
    assert count(app, RevokedToken) == count(app, UserSession) == count(app, SecurityEvent) == 0


def test_delete_leaves_other_users_and_their_tasks(app, client, user, bob):
    create_tasks(client, user["access_token"])
    create_tasks(client, bob["access_token"])
    delete(client, user["access_token"])
    assert stored_user(app, "bob@example.com") is not None
    assert count(app, Task, Task.user_id == bob["user"]["id"]) == 2
    assert me(client, bob["access_token"]).status_code == 200


def test_deleted_users_tokens_are_token_invalid(client, user):
    delete(client, user["access_token"])
    assert_error(me(client, user["access_token"]), 401, "token_invalid")
    assert_error(refresh(client, user["refresh_token"]), 401, "token_invalid")


def test_deleted_user_cannot_log_in(client, user):
    delete(client, user["access_token"])
    assert_error(login(client), 401, "invalid_credentials")


def test_email_is_free_again(client, user):
    delete(client, user["access_token"])
    assert register(client)["user"]["id"] != user["user"]["id"]


def test_a_deleted_users_token_never_signs_in_the_next_user(app, client, user):
    delete(client, user["access_token"])
    newcomer = register(client, email="eve@example.com")
    assert newcomer["user"]["id"] > user["user"]["id"]
    assert_error(me(client, user["access_token"]), 401, "token_invalid")


def test_wrong_password_is_401_invalid_credentials(client, user):
    assert_error(delete(client, user["access_token"], password="wrong password"), 401, "invalid_credentials")


def test_wrong_password_deletes_nothing(app, client, user):
    create_tasks(client, user["access_token"], 2)
    delete(client, user["access_token"], password="wrong password")
    assert stored_user(app) is not None
    assert count(app, Task, Task.user_id == user["user"]["id"]) == 2
    assert me(client, user["access_token"]).status_code == 200
    assert login(client).status_code == 200


def test_delete_needs_a_body(app, client, user):
    assert_error(client.delete(f"{AUTH}/me", headers=bearer(user["access_token"])), 400, "bad_request")
    assert_error(client.delete(f"{AUTH}/me", json={}, headers=bearer(user["access_token"])), 422, "validation_error")
    assert count(app, User, User.id == user["user"]["id"]) == 1


def test_delete_needs_an_access_token(app, client, user):
    assert_error(client.delete(f"{AUTH}/me", json={"password": PASSWORD}), 401, "token_missing")
    assert_error(delete(client, user["refresh_token"]), 401, "wrong_token_type")
    assert stored_user(app) is not None
