"""Security events: recorded for the account, shown to its owner newest first, one audit log line each."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import update

from taskapi.auth import events
from taskapi.auth.models import SecurityEvent
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, count, login, refresh

EVENTS = f"{AUTH}/events"
EVENT_KEYS = {"id", "event", "created_at", "ip", "user_agent"}


def page(client, access_token, **query):
    response = client.get(EVENTS, query_string=query, headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(client, access_token):
    return [item["event"] for item in page(client, access_token, limit=100)["items"]]


def test_each_security_step_is_recorded_newest_first(client, user):
    login(client, password="wrong password")
    pair = login(client).get_json()
    pair = refresh(client, pair["refresh_token"]).get_json()
    client.post(f"{AUTH}/logout", headers=bearer(pair["access_token"]))
    body = {"current_password": PASSWORD, "new_password": "a brand new password"}
    client.post(f"{AUTH}/password", json=body, headers=bearer(user["access_token"]))
    fresh = login(client, password="a brand new password").get_json()
    assert names(client, fresh["access_token"]) == ["login", "password_changed", "logout", "login", "login_failed",
                                                   "registered"]


def test_an_event_says_when_and_from_where(client):
    pair = client.post(f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD},
                       headers={"User-Agent": "Browser/2"}, environ_base={"REMOTE_ADDR": "203.0.113.4"}).get_json()
    (item,) = page(client, pair["access_token"])["items"]
    assert set(item) == EVENT_KEYS
    assert (item["event"], item["ip"], item["user_agent"]) == ("registered", "203.0.113.4", "Browser/2")
    assert item["created_at"].endswith("+00:00")


def test_the_page_has_total_limit_and_offset(client, user):
    for _ in range(4):
        login(client)
    first = page(client, user["access_token"], limit=2)
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (5, 2, 0, 2)
    last = page(client, user["access_token"], limit=2, offset=4)
    assert [item["event"] for item in last["items"]] == ["registered"]
    assert page(client, user["access_token"], offset=10) == {"items": [], "total": 5, "limit": 20, "offset": 10}


@pytest.mark.parametrize("query, field", [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                          ({"offset": -1}, "offset"), ({"limit": "many"}, "limit")])
def test_bad_paging_is_422(client, user, query, field):
    response = client.get(EVENTS, query_string=query, headers=bearer(user["access_token"]))
    assert field in assert_error(response, 422, "validation_error")["errors"]["query"]


def test_one_sees_only_ones_own_events(client, user, bob):
    login(client, "bob@example.com", "wrong password")
    login(client, "nobody@example.com", "wrong password")
    assert names(client, user["access_token"]) == ["registered"]
    assert names(client, bob["access_token"]) == ["login_failed", "registered"]


def test_failed_logins_to_unknown_addresses_are_kept_without_a_user(app, client):
    login(client, "nobody@example.com", "wrong password")
    assert count(app, SecurityEvent, SecurityEvent.user_id.is_(None), SecurityEvent.event == "login_failed") == 1


def test_events_need_an_access_token(client):
    assert_error(client.get(EVENTS), 401, "token_missing")


# The audit log


def audit_lines(caplog):
    return [record for record in caplog.records if record.name == "taskapi.audit"]


def test_each_event_is_one_audit_line_with_who_and_where(client, caplog):
    caplog.set_level(logging.INFO, logger="taskapi.audit")
    pair = register(client)
    login(client, "nobody@example.com", "wrong password", headers={"X-Request-ID": "probe-1"})
    registered, failed = audit_lines(caplog)
    assert (registered.event, registered.user_id, registered.client) == ("registered", pair["user"]["id"], "127.0.0.1")
    assert (failed.event, failed.user_id, failed.request_id) == ("login_failed", None, "probe-1")


def test_a_deleted_account_is_one_audit_line(client, user, caplog):
    caplog.set_level(logging.INFO, logger="taskapi.audit")
    client.delete(f"{AUTH}/me", json={"password": PASSWORD}, headers=bearer(user["access_token"]))
    (line,) = audit_lines(caplog)
    assert (line.event, line.user_id) == ("account_deleted", user["user"]["id"])


def test_an_event_rolled_back_is_never_logged(app, user, caplog):
    caplog.set_level(logging.INFO, logger="taskapi.audit")
    with app.test_request_context():
        events.record("login", user["user"]["id"])
        db.session.rollback()
        db.session.commit()
    assert audit_lines(caplog) == []


def test_no_event_or_line_holds_a_password_or_token(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    pair = register(client)
    login(client, password="a wrong password")
    fresh = refresh(client, pair["refresh_token"]).get_json()
    client.post(f"{AUTH}/logout", json={"refresh_token": fresh["refresh_token"]},
                headers=bearer(fresh["access_token"]))
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    with app.app_context():
        stored = repr([vars(e) for e in db.session.query(SecurityEvent).all()])
    for secret in (PASSWORD, "a wrong password", pair["access_token"], pair["refresh_token"],
                   fresh["access_token"], fresh["refresh_token"]):
        assert secret not in logged and secret not in stored


# Retention


def test_flask_events_prune_keeps_security_event_retention_days(app, client, user, runner):
    login(client)
    with app.app_context():
        db.session.execute(update(SecurityEvent).where(SecurityEvent.event == "registered")
                           .values(created_at=utcnow() - timedelta(days=91)))
        db.session.commit()
        result = runner.invoke(args=["events", "prune"])
    assert result.exit_code == 0 and "Pruned 1 " in result.output
    assert names(client, user["access_token"]) == ["login"]


def test_recording_prunes_now_and_then(app, client, user, monkeypatch):
    with app.app_context():
        db.session.execute(update(SecurityEvent).values(created_at=utcnow() - timedelta(days=91)))
        db.session.commit()
    monkeypatch.setattr(events, "PRUNE_CHANCE", 1.0)  # the ~1 % of recorded events that prune, made certain
    login(client)
    assert names(client, user["access_token"]) == ["login"]
