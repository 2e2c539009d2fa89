"""DELETE /api/v1/auth/me: the account, its tasks and its tokens are gone."""

from sqlalchemy import update

from taskapi.auth.models import RevokedToken, Role, SecurityEvent, User, UserSession
from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.admin import make_admin
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, app_losing_users, count, login, me, refresh, stored_user


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
    assert count(app, Task, Task.created_by == user["user"]["id"]) == 3
    delete(client, user["access_token"])
    assert count(app, Task) == 0  # the lists it owned went, with every task in them


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
    assert count(app, Task, Task.created_by == bob["user"]["id"]) == 2
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
    assert count(app, Task, Task.created_by == user["user"]["id"]) == 2
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


# The last admin


def test_the_last_admin_cannot_delete_their_account(app, client, user):
    make_admin(app, user)
    create_tasks(client, user["access_token"], 2)
    body = assert_error(delete(client, user["access_token"]), 422, "validation_error")
    assert set(body["errors"]) == {"json"} and set(body["errors"]["json"]) == {"password"}
    assert stored_user(app).role == Role.admin
    assert count(app, Task, Task.created_by == user["user"]["id"]) == 2
    assert me(client, user["access_token"]).status_code == 200


def test_an_admin_who_is_not_the_last_may_delete_their_account(app, client, user, bob):
    make_admin(app, user)
    make_admin(app, bob)
    assert delete(client, user["access_token"]).status_code == 204
    assert stored_user(app) is None
    assert stored_user(app, "bob@example.com").role == Role.admin


def test_a_disabled_admin_does_not_count_as_another(app, client, user, bob):
    make_admin(app, user)
    make_admin(app, bob)
    with app.app_context():
        db.session.execute(update(User).where(User.id == bob["user"]["id"]).values(disabled=True))
        db.session.commit()
    assert_error(delete(client, user["access_token"]), 422, "validation_error")
    assert stored_user(app) is not None


def test_a_user_deleted_meanwhile_is_401_token_invalid(monkeypatch, make_app):
    app, doomed = app_losing_users(monkeypatch, make_app)
    client = app.test_client()
    pair = register(client)
    doomed.add(pair["user"]["id"])
    assert_error(delete(client, pair["access_token"]), 401, "token_invalid")
