"""/api/v1/admin/users: admins list, read, change and delete users; everyone else is 403 and learns nothing."""

import os
import threading

import pytest

from taskapi.auth.models import PasswordResetRequest, Role, SecurityEvent, User
from taskapi.tasks.models import Task
from tests.helpers.admin import USERS, make_admin, user_url
from tests.helpers.api import assert_error, bearer, register
from tests.helpers.auth import app_losing_users, count, login, me, stored_user
from tests.helpers.tasks import create

ADMIN_VIEW = {"id", "email", "name", "role", "disabled", "created_at", "last_login_at", "task_count"}
POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


def listed(client, admin, **query):
    response = client.get(USERS, query_string=query, headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def patch(client, headers, user_id, **body):
    return client.patch(user_url(user_id), json=body, headers=headers)


# Who may


@pytest.mark.parametrize("method, path, body", [
    ("get", USERS, None), ("get", user_url(1), None), ("patch", user_url(1), {"role": "admin"}),
    ("patch", user_url(1), {"role": "root", "extra": 1}), ("delete", user_url(1), None),
])
def test_a_user_without_the_admin_role_is_403_and_changes_nothing(app, client, user, auth, method, path, body):
    response = getattr(client, method)(path, json=body, headers=auth)
    assert assert_error(response, 403, "forbidden")["message"]
    assert stored_user(app).role == Role.user and count(app, User) == 1
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_routes_need_a_token(client):
    assert_error(client.get(USERS), 401, "token_missing")


def test_a_demoted_admin_is_refused_at_once(app, client, admin, user):
    root_id = stored_user(app, "root@example.com").id
    make_admin(app, user)
    assert patch(client, bearer(user["access_token"]), root_id, role="user").status_code == 200
    assert_error(client.get(USERS, headers=admin), 403, "forbidden")


# The list


def test_the_list_is_by_id_with_total_limit_and_offset(client, admin, user, bob):
    page = listed(client, admin)
    assert [item["email"] for item in page["items"]] == ["root@example.com", "ada@example.com", "bob@example.com"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 20, 0)
    assert all(set(item) == ADMIN_VIEW for item in page["items"])
    second = listed(client, admin, limit=1, offset=1)
    assert [item["email"] for item in second["items"]] == ["ada@example.com"] and second["total"] == 3
    assert listed(client, admin, offset=10)["items"] == [] and listed(client, admin, offset=10)["total"] == 3


def test_the_list_filters(app, client, admin, user, bob):
    patch(client, admin, bob["user"]["id"], disabled=True)
    assert [i["email"] for i in listed(client, admin, q="ADA")["items"]] == ["ada@example.com"]
    assert [i["name"] for i in listed(client, admin, q="bo")["items"]] == ["Bob"]
    assert listed(client, admin, q="%")["items"] == []  # a literal percent sign
    assert [i["email"] for i in listed(client, admin, role="admin")["items"]] == ["root@example.com"]
    assert [i["email"] for i in listed(client, admin, disabled="true")["items"]] == ["bob@example.com"]
    assert listed(client, admin, disabled="false", role="user")["total"] == 1


@pytest.mark.parametrize("query, field", [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                          ({"offset": -1}, "offset"), ({"role": "root"}, "role"),
                                          ({"disabled": "yes"}, "disabled"), ({"q": "x" * 255}, "q")])
def test_bad_list_parameters_are_422(client, admin, query, field):
    response = client.get(USERS, query_string=query, headers=admin)
    assert field in assert_error(response, 422, "validation_error")["errors"]["query"]


# One user


def test_the_admin_view_counts_tasks_and_shows_none(client, admin, user, auth):
    create(client, auth, "Secret plans", description="do not show")
    create(client, auth, "More")
    login(client)
    view = client.get(user_url(user["user"]["id"]), headers=admin).get_json()
    assert set(view) == ADMIN_VIEW
    assert (view["task_count"], view["role"], view["disabled"]) == (2, "user", False)
    assert view["last_login_at"] is not None
    assert "Secret" not in str(listed(client, admin))


@pytest.mark.parametrize("user_id", [999, 2**31, 2**40])
def test_an_unknown_user_is_404(client, admin, user_id):
    assert_error(client.get(user_url(user_id), headers=admin), 404, "not_found")
    assert_error(patch(client, admin, user_id, name="x"), 404, "not_found")
    assert_error(client.delete(user_url(user_id), headers=admin), 404, "not_found")


# Changes


def test_an_admin_renames_and_promotes(app, client, admin, user):
    view = patch(client, admin, user["user"]["id"], name="Ada L.", role="admin").get_json()
    assert (view["name"], view["role"]) == ("Ada L.", "admin")
    assert listed(client, bearer(user["access_token"]))["total"] == 2  # Ada is an admin now
    assert count(app, SecurityEvent, SecurityEvent.event == "role_changed",
                 SecurityEvent.user_id == user["user"]["id"]) == 1


def test_disabling_ends_every_session_and_login_says_disabled(app, client, admin, user):
    other = login(client).get_json()
    view = patch(client, admin, user["user"]["id"], disabled=True).get_json()
    assert view["disabled"] is True
    for pair in (user, other):
        assert_error(me(client, pair["access_token"]), 401, "token_revoked")
    assert_error(login(client), 403, "account_disabled")
    assert_error(login(client, password="wrong password"), 401, "invalid_credentials")
    assert "account_disabled" in [e.event for e in _events(app, user)]


def test_enabling_lets_them_log_in_again(app, client, admin, user):
    patch(client, admin, user["user"]["id"], disabled=True)
    assert patch(client, admin, user["user"]["id"], disabled=False).get_json()["disabled"] is False
    assert login(client).status_code == 200
    assert [e.event for e in _events(app, user)][-2:] == ["account_enabled", "login"]


def test_a_reset_request_for_a_disabled_account_sends_nothing(make_app, smtp):
    from tests.auth.test_reset import ask, deliver
    from tests.smtp import mail_settings

    app = make_app(**mail_settings(smtp))
    client = app.test_client()
    pair = register(client)
    admin = bearer(make_admin(app, register(client, email="root@example.com"))["access_token"])
    patch(client, admin, pair["user"]["id"], disabled=True)
    assert ask(client).status_code == 202
    deliver(app)
    assert smtp.received == [] and count(app, PasswordResetRequest) == 0


def _events(app, user):
    with app.app_context():
        from taskapi.extensions import db

        return db.session.query(SecurityEvent).filter_by(user_id=user["user"]["id"]).order_by(SecurityEvent.id).all()


@pytest.mark.parametrize("body, field", [({"role": "root"}, "role"), ({"disabled": "yes"}, "disabled"),
                                         ({"disabled": 1}, "disabled"), ({"name": "x" * 101}, "name"),
                                         ({"email": "new@example.com"}, "email"), ({"name": 5}, "name")])
def test_a_bad_change_is_422_and_changes_nothing(app, client, admin, user, body, field):
    before = stored_user(app)
    response = client.patch(user_url(user["user"]["id"]), json=body, headers=admin)
    assert field in assert_error(response, 422, "validation_error")["errors"]["json"]
    after = stored_user(app)
    assert (after.name, after.role, after.disabled, after.email) == (before.name, before.role, before.disabled,
                                                                      before.email)


def test_an_admin_cannot_demote_or_disable_themselves(app, client, admin):
    root = stored_user(app, "root@example.com")
    for body, field in (({"role": "user"}, "role"), ({"disabled": True}, "disabled")):
        response = patch(client, admin, root.id, **body)
        assert field in assert_error(response, 422, "validation_error")["errors"]["json"]
    after = stored_user(app, "root@example.com")
    assert (after.role, after.disabled) == (Role.admin, False)
    assert patch(client, admin, root.id, name="Still Root").status_code == 200


# Deletion


def test_deleting_a_user_removes_everything_of_theirs(app, client, admin, user, auth, caplog):
    create(client, auth, "Gone soon")
    response = client.delete(user_url(user["user"]["id"]), headers=admin)
    assert response.status_code == 204 and response.get_data() == b""
    assert stored_user(app) is None and count(app, Task) == 0
    assert_error(me(client, user["access_token"]), 401, "token_invalid")
    assert_error(client.get(user_url(user["user"]["id"]), headers=admin), 404, "not_found")
    assert any(getattr(r, "event", None) == "account_deleted" for r in caplog.records)


def test_an_admin_cannot_delete_themselves(app, client, admin):
    root = stored_user(app, "root@example.com")
    response = client.delete(user_url(root.id), headers=admin)
    assert "user_id" in assert_error(response, 422, "validation_error")["errors"]["path"]
    assert stored_user(app, "root@example.com") is not None


@pytest.mark.parametrize("change", ["delete", "patch"])
def test_an_admin_deleted_meanwhile_is_401_token_invalid_and_changes_nothing(monkeypatch, make_app, change):
    app, doomed = app_losing_users(monkeypatch, make_app)
    client = app.test_client()
    p = make_admin(app, register(client, email="p@example.com"))
    q = make_admin(app, register(client, email="q@example.com", name="Q"))
    doomed.add(p["user"]["id"])
    url, headers = user_url(q["user"]["id"]), bearer(p["access_token"])
    response = client.delete(url, headers=headers) if change == "delete" else patch(client, headers, q["user"]["id"],
                                                                                     role="user", name="Demoted")
    assert_error(response, 401, "token_invalid")
    assert stored_user(app, "p@example.com") is None
    survivor = stored_user(app, "q@example.com")
    assert (survivor.role, survivor.name, survivor.disabled) == (Role.admin, "Q", False)


def test_no_admin_route_touches_tasks(app):
    rules = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/admin")]
    assert rules and not any("task" in rule for rule in rules)


# Races (PostgreSQL)


@pytest.mark.skipif(not POSTGRES, reason="races need PostgreSQL (TEST_DATABASE_URL)")
def test_two_admins_demoting_each_other_at_once_leave_one(app, client):
    a = make_admin(app, register(client, email="a@example.com"))
    b = make_admin(app, register(client, email="b@example.com"))
    barrier = threading.Barrier(2)
    statuses = []

    def demote(actor, target):
        local = app.test_client()
        barrier.wait()
        statuses.append(patch(local, bearer(actor["access_token"]), target["user"]["id"], role="user").status_code)

    threads = [threading.Thread(target=demote, args=pair) for pair in ((a, b), (b, a))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 403]
    assert count(app, User, User.role == Role.admin) == 1


@pytest.mark.skipif(not POSTGRES, reason="races need PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("round_", range(5))  # who loses, and where, varies: several rounds see each case
def test_two_admins_deleting_each_other_at_once_leave_one(app, client, round_):
    a = make_admin(app, register(client, email="a@example.com"))
    b = make_admin(app, register(client, email="b@example.com"))
    barrier = threading.Barrier(2)
    answers = {}

    def delete(actor, target):
        local = app.test_client()
        barrier.wait(timeout=10)
        response = local.delete(user_url(target["user"]["id"]), headers=bearer(actor["access_token"]))
        answers[actor["user"]["id"]] = response

    threads = [threading.Thread(target=delete, args=pair) for pair in ((a, b), (b, a))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loser = next(response for response in answers.values() if response.status_code != 204)
    assert sorted(response.status_code for response in answers.values()) == [204, 401]
    assert_error(loser, 401, "token_invalid")
    assert count(app, User, User.role == Role.admin) == 1


@pytest.mark.skipif(not POSTGRES, reason="races need PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("round_", range(3))
def test_the_cli_and_an_admin_demoting_the_last_two_at_once_leave_one(app, client, round_):
    a = make_admin(app, register(client, email="a@example.com"))
    b = make_admin(app, register(client, email="b@example.com"))
    barrier = threading.Barrier(2)
    outcomes = {}

    def by_request():
        local = app.test_client()
        barrier.wait(timeout=10)
        outcomes["request"] = patch(local, bearer(a["access_token"]), b["user"]["id"], role="user").status_code

    def by_command():
        runner = app.test_cli_runner()
        barrier.wait(timeout=10)
        outcomes["command"] = runner.invoke(args=["users", "set-role", "a@example.com", "user"]).exit_code

    threads = [threading.Thread(target=by_request), threading.Thread(target=by_command)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(app, User, User.role == Role.admin) == 1
    assert (outcomes["request"] == 200) != (outcomes["command"] == 0)  # exactly one of the two went through
