"""A frontend's journey through the contract, over real HTTP to gunicorn and PostgreSQL.

Every request sends its own X-Request-ID and checks it comes back (tests.e2e.helpers.Client).
"""

import json
import re
import uuid

import pytest
import requests

from tests.e2e.helpers import (
    AUTH,
    PASSWORD,
    TASK_KEYS,
    TASKS,
    TIMEOUT,
    USER_KEYS,
    Client,
    assert_error,
    assert_pair,
    query,
)

# Each test runs with the service on PostgreSQL directly, then through PgBouncer (transaction pooling).
pytestmark = pytest.mark.usefixtures("database_route")


def _ids(page):
    return [task["id"] for task in page["items"]]


def _page(api, **params):
    response = api.get(TASKS, params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"items", "total", "limit", "offset", "next_cursor"}, page
    return page


def test_a_frontend_journey_through_the_contract(server, database):
    api = Client(server)

    # -- the service answers its index, and errors from routing come in the envelope
    index = api.get("/")
    assert index.status_code == 200 and index.json()["name"] == "taskapi"
    assert_error(api.get("/no/such/route"), 404, "not_found")
    assert_error(api.get(TASKS), 401, "token_missing")
    # A malformed X-Request-ID is replaced by one the service makes, and that one is echoed.
    for malformed in ("bad id!", "x" * 65):
        response = requests.get(server.url + "/no/such/route", headers={"X-Request-ID": malformed}, timeout=TIMEOUT)
        made = response.headers["X-Request-ID"]
        assert made != malformed and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", made), made
        assert assert_error(response, 404, "not_found")["request_id"] == made

    # -- register, then login
    email = f"Ada-{uuid.uuid4().hex[:8]}@Example.com"
    registered = api.post(AUTH + "/register", json={"email": f"  {email} ", "password": PASSWORD, "name": "Ada"})
    assert registered.status_code == 201, registered.text
    assert registered.headers["Cache-Control"] == "no-store"
    pair = registered.json()
    assert_pair(pair)
    assert pair["user"]["email"] == email.lower() and pair["user"]["name"] == "Ada"
    assert not {"password", "password_hash"} & (set(pair) | set(pair["user"]))  # never a password or hash
    user_id = pair["user"]["id"]
    assert_error(api.post(AUTH + "/register", json={"email": email.upper(), "password": PASSWORD}), 409, "email_taken")
    assert_error(api.post(AUTH + "/login", json={"email": email, "password": PASSWORD + "!"}), 401,
                 "invalid_credentials")
    body = assert_error(api.post(AUTH + "/register", json={"email": "not-an-email", "password": PASSWORD}), 422,
                        "validation_error")
    assert "email" in body["errors"]["json"], body
    assert_error(api.post(AUTH + "/login", data="{not json", headers={"Content-Type": "application/json"}), 400,
                 "bad_request")

    login = api.post(AUTH + "/login", json={"email": email.lower(), "password": PASSWORD})
    assert login.status_code == 200, login.text
    session = login.json()
    assert_pair(session)
    assert session["user"] == pair["user"]
    api.token = session["access_token"]
    me = api.get(AUTH + "/me")
    assert me.status_code == 200 and set(me.json()) == USER_KEYS and me.json()["id"] == user_id

    # -- create with an Idempotency-Key, twice: the same answer, one task
    body = {"title": "  Write report ", "description": "Quarterly numbers", "priority": "high",
            "due_at": "2030-01-10T17:00:00+00:00"}
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = api.post(TASKS, json=body, headers=key)
    assert first.status_code == 201, first.text
    report = first.json()
    assert set(report) == TASK_KEYS, report
    assert report["title"] == "Write report" and report["status"] == "pending" and report["version"] == 1
    assert report["completed_at"] is None and report["due_at"] == "2030-01-10T17:00:00+00:00"
    assert first.headers["Location"].endswith(f"{TASKS}/{report['id']}")
    etag_v1 = first.headers["ETag"]
    again = api.post(TASKS, data=json.dumps(dict(reversed(body.items()))), headers={
        **key, "Content-Type": "application/json"})  # same JSON, another key order
    assert again.status_code == 201, again.text
    assert again.json() == report and again.headers["ETag"] == etag_v1
    assert query(database, "SELECT count(*) FROM tasks WHERE created_by = %s", (user_id,)) == [(1,)]
    assert_error(api.post(TASKS, json={**body, "title": "Other"}, headers=key), 409, "idempotency_conflict")
    assert_error(api.post(TASKS, json={"title": "x", "version": 3}), 422, "validation_error")
    assert_error(api.post(TASKS, json={"title": "naive", "due_at": "2030-01-01T10:00:00"}), 422, "validation_error")
    assert query(database, "SELECT count(*) FROM tasks WHERE created_by = %s", (user_id,)) == [(1,)]

    # -- more tasks, then list with filters and sorts
    groceries = api.create_task(title="Buy groceries", priority="low", due_at="2030-01-05T09:00:00Z")
    call = api.create_task(title="Call the bank", status="in_progress", description="about the REPORT card")
    done = api.create_task(title="Archive mail", status="completed", priority="low")
    assert done["completed_at"] is not None
    everything = _page(api)
    assert everything["total"] == 4 and everything["limit"] == 20 and everything["offset"] == 0
    assert _ids(everything) == [done["id"], call["id"], groceries["id"], report["id"]]  # -created_at
    assert _ids(_page(api, status=["pending", "in_progress"], sort="id")) == [report["id"], groceries["id"],
                                                                            call["id"]]
    assert _ids(_page(api, priority="low", sort="-id")) == [done["id"], groceries["id"]]
    assert _ids(_page(api, q="report", sort="id")) == [report["id"], call["id"]]  # title or description
    assert _ids(_page(api, due_after="2030-01-06T00:00:00Z")) == [report["id"]]
    assert _ids(_page(api, due_before="2030-01-10T17:00:00+00:00")) == [groceries["id"]]
    # priority: low < medium < high, ties by id in the same direction
    assert _ids(_page(api, sort="priority")) == [groceries["id"], done["id"], call["id"], report["id"]]
    assert _ids(_page(api, sort="-priority")) == [report["id"], call["id"], done["id"], groceries["id"]]
    # due_at: tasks without one come last either way
    assert _ids(_page(api, sort="due_at"))[:2] == [groceries["id"], report["id"]]
    assert _ids(_page(api, sort="-due_at"))[:2] == [report["id"], groceries["id"]]
    assert _ids(_page(api, sort="title")) == [done["id"], groceries["id"], call["id"], report["id"]]
    paged = _page(api, sort="id", limit=2, offset=1)
    assert _ids(paged) == [groceries["id"], call["id"]] and paged["total"] == 4 and paged["limit"] == 2
    bad = assert_error(api.get(TASKS, params={"sort": "password", "limit": 0}), 422, "validation_error")
    assert set(bad["errors"]["query"]) == {"sort", "limit"}, bad
    assert api.get(TASKS + "/").status_code == 200  # trailing slash: answered directly, no redirect

    # -- read with ETag; If-None-Match gives 304
    url = f"{TASKS}/{report['id']}"
    read = api.get(url)
    assert read.status_code == 200 and read.json() == report and read.headers["ETag"] == etag_v1
    assert api.get(url, headers={"If-None-Match": etag_v1}).status_code == 304

    # -- PATCH with If-Match; then a stale If-Match is 412 and changes nothing
    patched = api.patch(url, json={"title": "Write the report", "status": "in_progress"},
                        headers={"If-Match": etag_v1})
    assert patched.status_code == 200, patched.text
    report_v2 = patched.json()
    assert report_v2["title"] == "Write the report" and report_v2["status"] == "in_progress"
    assert report_v2["version"] == 2 and report_v2["description"] == "Quarterly numbers"
    etag_v2 = patched.headers["ETag"]
    assert etag_v2 != etag_v1
    assert_error(api.patch(url, json={"title": "Lost update"}, headers={"If-Match": etag_v1}), 412,
                 "precondition_failed")
    assert_error(api.request("PATCH", url + "/toggle", headers={"If-Match": etag_v1}), 412, "precondition_failed")
    assert_error(api.delete(url, headers={"If-Match": etag_v1}), 412, "precondition_failed")
    unchanged = api.get(url)
    assert unchanged.json() == report_v2 and unchanged.headers["ETag"] == etag_v2
    assert query(database, "SELECT title, version FROM tasks WHERE id = %s", (report["id"],)) == [
        ("Write the report", 2)]
    nothing = api.patch(url, json={})
    assert nothing.status_code == 200 and nothing.json()["version"] == 2

    # -- toggle: to completed and back
    toggled = api.patch(url + "/toggle", headers={"If-Match": etag_v2})
    assert toggled.status_code == 200, toggled.text
    assert toggled.json()["status"] == "completed" and toggled.json()["completed_at"] is not None
    assert toggled.json()["version"] == 3
    reopened = api.patch(url + "/toggle")
    assert reopened.json()["status"] == "pending" and reopened.json()["completed_at"] is None
    etag_v4 = reopened.headers["ETag"]

    # -- delete
    assert api.delete(url, headers={"If-Match": etag_v4}).status_code == 204
    assert_error(api.get(url), 404, "not_found")
    assert_error(api.delete(url), 404, "not_found")
    assert report["id"] not in _ids(_page(api))
    assert _page(api)["total"] == 3

    # -- another user sees none of it: their 404 is exactly a missing task's
    other = Client(server)
    other.register()
    assert _page(other)["total"] == 0
    foreign = other.get(f"{TASKS}/{call['id']}")
    missing = other.get(f"{TASKS}/999999")
    assert_error(foreign, 404, "not_found")
    assert {**foreign.json(), "request_id": None} == {**missing.json(), "request_id": None}

    # -- refresh rotation: the refresh token used is refused afterwards
    assert_error(api.get(AUTH + "/me", token=session["refresh_token"]), 401, "wrong_token_type")
    assert_error(api.post(AUTH + "/refresh"), 401, "wrong_token_type")  # an access token is not a refresh token
    refreshed = api.post(AUTH + "/refresh", token=session["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.headers["Cache-Control"] == "no-store"
    rotated = refreshed.json()
    assert_pair(rotated)
    assert rotated["refresh_token"] != session["refresh_token"]
    api.token = rotated["access_token"]
    assert api.get(AUTH + "/me").status_code == 200
    # ...and presenting it again is a replay: the whole session ends, the newer tokens with it.
    assert_error(api.post(AUTH + "/refresh", token=session["refresh_token"]), 401, "token_revoked")
    assert_error(api.get(AUTH + "/me"), 401, "token_revoked")
    assert_error(api.post(AUTH + "/refresh", token=rotated["refresh_token"]), 401, "token_revoked")

    # -- logout ends the session: every access token of it and its refresh token are refused from then on
    session = api.post(AUTH + "/login", json={"email": email, "password": PASSWORD}).json()
    api.token = session["access_token"]
    rotated = api.post(AUTH + "/refresh", token=session["refresh_token"]).json()
    api.token = rotated["access_token"]
    logout = api.post(AUTH + "/logout", json={"refresh_token": rotated["refresh_token"]})
    assert logout.status_code == 204, logout.text
    assert_error(api.get(AUTH + "/me"), 401, "token_revoked")
    assert_error(api.get(TASKS), 401, "token_revoked")
    assert_error(api.post(AUTH + "/refresh", token=rotated["refresh_token"]), 401, "token_revoked")
    assert_error(api.get(AUTH + "/me", token=session["access_token"]), 401, "token_revoked")  # same session
    # The registration began another session, which was never logged out: its token still works.
    assert api.get(AUTH + "/me", token=pair["access_token"]).status_code == 200

    # -- every line printed by release and web is one JSON object, request ids included
    server.stop()
    assert server.non_json_lines() == []
    logged_ids = {json.loads(line).get("request_id") for line in server.lines}
    assert set(api.sent_request_ids) <= logged_ids, set(api.sent_request_ids) - logged_ids
