"""Personal access tokens: made, shown once, listed, revoked; scopes, one list, refusals, costs and limits."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi.auth import personal_tokens
from taskapi.auth.models import PersonalToken, SecurityEvent
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.lists import LISTS, create_list, inbox_of, list_url
from tests.helpers.tasks import TASKS, TRASH, create, task_url
from tests.tasks.test_query_count import counted_statements

TOKENS = "/api/v1/auth/tokens"
ALL = list(personal_tokens.SCOPES)


def make_token(client, auth, scopes=ALL, days=30, **fields):
    response = client.post(TOKENS, json={"name": "script", "scopes": scopes, "expires_in_days": days, **fields},
                           headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored_tokens(app):
    with app.app_context():
        return db.session.execute(select(PersonalToken).order_by(PersonalToken.id)).scalars().all()


def events_of(app, user_id):
    with app.app_context():
        return [e for e, in db.session.execute(select(SecurityEvent.event).where(SecurityEvent.user_id == user_id)
                                               .order_by(SecurityEvent.id))]


def test_made_shown_once_listed_and_revoked(app, client, auth, user):
    made = make_token(client, auth, scopes=["tasks:read", "lists:read"])
    token = made["token"]
    assert token.startswith("tapi_") and len(token) == 43 and personal_tokens.well_formed(token)
    assert made["prefix"] == token[:12] and made["list_id"] is None and made["scopes"] == ["tasks:read", "lists:read"]
    [row] = stored_tokens(app)
    assert row.token_hash == personal_tokens.digest(token) and token not in str(vars(row))
    listed = client.get(TOKENS, headers=auth).get_json()["items"]
    assert [item["id"] for item in listed] == [made["id"]] and "token" not in listed[0]
    assert client.get(TASKS, headers=bearer(token)).status_code == 200
    assert client.delete(f"{TOKENS}/{made['id']}", headers=auth).status_code == 204
    assert_error(client.get(TASKS, headers=bearer(token)), 401, "token_revoked")
    assert client.get(TOKENS, headers=auth).get_json()["items"] == []
    assert_error(client.delete(f"{TOKENS}/{made['id']}", headers=auth), 404, "not_found")
    assert events_of(app, user["user"]["id"])[-3:] == ["token_created", "token_first_use_from_new_address",
                                                       "token_revoked"]


def test_a_wrong_checksum_is_refused_without_a_statement(app, client, auth):
    token = make_token(client, auth)["token"]
    broken = token[:-1] + ("a" if token[-1] != "a" else "b")
    with counted_statements(app) as statements:
        assert_error(client.get(TASKS, headers=bearer(broken)), 401, "token_invalid")
    assert statements == []
    forged = "tapi_" + "A" * 32
    forged += personal_tokens.checksum(forged)
    assert_error(client.get(TASKS, headers=bearer(forged)), 401, "token_invalid")


def test_a_request_takes_as_many_statements_as_with_an_access_token(app, client, auth):
    token = make_token(client, auth)["token"]
    task = create(client, auth)
    client.get(TASKS, headers=bearer(token))  # its use recorded: then at most once a minute
    for url in (TASKS, task_url(task["id"])):
        with counted_statements(app) as with_jwt:
            assert client.get(url, headers=auth).status_code == 200
        with counted_statements(app) as with_token:
            assert client.get(url, headers=bearer(token)).status_code == 200
        assert len(with_token) == len(with_jwt)


@pytest.mark.parametrize(("scopes", "method", "url", "body"), [
    (["tasks:read"], "post", TASKS, {"title": "x"}),
    (["tasks:write"], "get", TASKS, None),
    (["tasks:write"], "get", TRASH, None),
    (["tasks:read"], "get", LISTS, None),
    (["lists:read"], "post", LISTS, {"name": "New"}),
    (["webhooks:manage"], "get", "/api/v1/invitations", None),
])
def test_beyond_its_scopes_403(app, client, auth, scopes, method, url, body):
    token = make_token(client, auth, scopes=scopes)["token"]
    before = create(client, auth)
    response = getattr(client, method)(url, json=body, headers=bearer(token))
    assert_error(response, 403, "forbidden")
    assert [t["id"] for t in client.get(TASKS, headers=auth).get_json()["items"]] == [before["id"]]


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/v1/auth/me"), ("get", TOKENS), ("post", TOKENS), ("get", "/api/v1/auth/sessions"),
    ("post", "/api/v1/auth/logout"), ("get", "/api/v1/admin/users")])
def test_never_on_auth_or_admin(app, client, auth, method, url):
    token = make_token(client, auth)["token"]
    response = getattr(client, method)(url, json={"name": "x", "scopes": ALL, "expires_in_days": 1},
                                       headers=bearer(token))
    assert_error(response, 401, "wrong_token_type")
    assert len(stored_tokens(app)) == 1


def test_one_list_only(app, client, auth):
    home = create_list(client, auth, "Home")
    work = create_list(client, auth, "Work")
    inbox = inbox_of(client, auth)
    in_home = create(client, auth, title="home", list_id=home["id"])
    in_work = create(client, auth, title="work", list_id=work["id"])
    token = make_token(client, auth, list_id=home["id"])["token"]
    headers = bearer(token)
    assert [t["id"] for t in client.get(TASKS, headers=headers).get_json()["items"]] == [in_home["id"]]
    assert [lst["id"] for lst in client.get(LISTS, headers=headers).get_json()["items"]] == [home["id"]]
    assert client.get(task_url(in_home["id"]), headers=headers).status_code == 200
    assert_error(client.get(task_url(in_work["id"]), headers=headers), 404, "not_found")
    assert_error(client.patch(task_url(in_work["id"]), json={"title": "x"}, headers=headers), 404, "not_found")
    assert_error(client.get(list_url(work["id"]), headers=headers), 404, "not_found")
    assert_error(client.get(list_url(inbox["id"]), headers=headers), 404, "not_found")
    # As for a list one is no member of.
    assert_error(client.post(TASKS, json={"title": "x", "list_id": work["id"]}, headers=headers), 422,
                 "validation_error")
    assert_error(client.post(LISTS, json={"name": "More"}, headers=headers), 403, "forbidden")
    # Without list_id a create goes to the token's list, not the inbox it cannot reach.
    made = client.post(TASKS, json={"title": "new"}, headers=headers)
    assert made.status_code == 201 and made.get_json()["list_id"] == home["id"]
    assert client.get(task_url(in_work["id"]), headers=auth).get_json()["title"] == "work"


def test_a_list_not_of_the_user_is_404(app, client, auth):
    other = bearer(register(client, email="bob@example.com")["access_token"])
    theirs = create_list(client, other, "Bob's")
    response = client.post(TOKENS, json={"name": "x", "scopes": ALL, "expires_in_days": 5, "list_id": theirs["id"]},
                           headers=auth)
    assert_error(response, 404, "not_found")
    assert stored_tokens(app) == []


def test_expired_401(app, client, auth):
    made = make_token(client, auth, days=1)
    with app.app_context():
        db.session.execute(update(PersonalToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_error(client.get(TASKS, headers=bearer(made["token"])), 401, "token_expired")


def test_revoked_at_once_on_another_instance(make_app, app, client, auth):
    token = make_token(client, auth)
    other = make_app().test_client()
    assert other.get(TASKS, headers=bearer(token["token"])).status_code == 200
    assert client.delete(f"{TOKENS}/{token['id']}", headers=auth).status_code == 204
    assert_error(other.get(TASKS, headers=bearer(token["token"])), 401, "token_revoked")


def test_a_password_change_revokes_them_all(app, client, auth):
    token = make_token(client, auth)["token"]
    response = client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                          "new_password": "another good one"}, headers=auth)
    assert response.status_code in (200, 204), response.get_json()
    assert_error(client.get(TASKS, headers=bearer(token)), 401, "token_revoked")


def test_account_deletion_deletes_them(app, client, auth):
    make_token(client, auth)
    response = client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=auth)
    assert response.status_code == 204, response.get_json()
    assert stored_tokens(app) == []


def test_at_most_max_tokens_per_user(make_app):
    app = make_app(MAX_TOKENS_PER_USER=2)
    client = app.test_client()
    auth = bearer(register(client)["access_token"])
    first = make_token(client, auth)
    make_token(client, auth)
    response = client.post(TOKENS, json={"name": "x", "scopes": ALL, "expires_in_days": 5}, headers=auth)
    assert_error(response, 409, "conflict")
    assert len(stored_tokens(app)) == 2
    client.delete(f"{TOKENS}/{first['id']}", headers=auth)
    make_token(client, auth)


def test_rate_limited_per_token(make_app):
    app = make_app(TOKEN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    auth = bearer(register(client)["access_token"])
    one, two = make_token(client, auth)["token"], make_token(client, auth)["token"]
    assert [client.get(TASKS, headers=bearer(one)).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get(TASKS, headers=bearer(two)).status_code == 200
    assert client.get(TASKS, headers=auth).status_code == 200  # access tokens are not counted


@pytest.mark.parametrize("body", [
    {"name": "", "scopes": ALL, "expires_in_days": 5}, {"name": "x", "scopes": [], "expires_in_days": 5},
    {"name": "x", "scopes": ["tasks:delete"], "expires_in_days": 5}, {"name": "x", "scopes": ALL, "expires_in_days": 0},
    {"name": "x", "scopes": ALL, "expires_in_days": 366}, {"name": "x" * 101, "scopes": ALL, "expires_in_days": 5},
    {"name": "x", "scopes": ALL}])
def test_invalid_bodies_422(app, client, auth, body):
    assert_error(client.post(TOKENS, json=body, headers=auth), 422, "validation_error")
    assert stored_tokens(app) == []


def test_disabling_the_account_revokes_them_all(app, client, auth, bob):
    from tests.helpers.admin import make_admin, user_url

    admin = bearer(make_admin(app, bob)["access_token"])
    token = make_token(client, auth)["token"]
    user_id = client.get("/api/v1/auth/me", headers=auth).get_json()["id"]
    assert client.patch(user_url(user_id), json={"disabled": True}, headers=admin).status_code == 200
    assert_error(client.get(TASKS, headers=bearer(token)), 401, "token_revoked")
    assert client.patch(user_url(user_id), json={"disabled": False}, headers=admin).status_code == 200
    assert_error(client.get(TASKS, headers=bearer(token)), 401, "token_revoked")  # for good: its generation passed
