"""Security events: recorded for the account, shown to its owner newest first, one audit log line each."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from taskapi.auth import events
from taskapi.auth.models import SecurityEvent
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, count, login, refresh
from tests.test_maintenance import every_coin_heads, run_job

EVENTS = f"{AUTH}/events"
EVENT_KEYS = {"id", "event", "created_at", "ip", "user_agent", "count"}


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
    assert item["count"] == 1
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


# Repeats: an anonymous flood is one entry per account, kind and hour


@pytest.fixture(autouse=True)
def not_at_the_turn_of_an_hour():
    """Repeats collapse within a clock hour: a test that began in its last seconds would see two entries."""
    left = 3600 - utcnow().timestamp() % 3600
    if left < 30:
        time.sleep(left + 0.1)


def fail_from(client, times, email="ada@example.com", agent="Bot/1"):
    for i in range(times):
        response = login(client, email, "wrong password", headers={"User-Agent": f"{agent}.{i}"},
                         environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"})
        assert response.status_code == 401


def test_repeated_failed_logins_are_one_entry_with_a_count_and_the_latest_origin(client, user):
    fail_from(client, 20)
    items = page(client, user["access_token"])["items"]
    assert [(item["event"], item["count"]) for item in items] == [("login_failed", 20), ("registered", 1)]
    assert (items[0]["ip"], items[0]["user_agent"]) == ("198.51.100.20", "Bot/1.19")


def test_a_flood_cannot_push_real_events_off_the_first_page(client, user):
    for _ in range(3):
        login(client)
    fail_from(client, 25)
    assert names(client, user["access_token"]) == ["login_failed", "login", "login", "login", "registered"]
    assert page(client, user["access_token"])["total"] == 5


def test_a_repeat_is_shown_when_it_last_happened(client, user):
    fail_from(client, 1)
    login(client)
    fail_from(client, 1)
    items = page(client, user["access_token"])["items"]
    assert [(item["event"], item["count"]) for item in items] == [("login_failed", 2), ("login", 1), ("registered", 1)]
    assert items[0]["created_at"] >= items[1]["created_at"]


def test_throttled_logins_and_reset_requests_are_collapsed_too(make_app, smtp):
    from tests.auth.test_reset import ask, deliver
    from tests.smtp import mail_settings

    app = make_app(LOGIN_FAILURE_LIMIT=2, **mail_settings(smtp))
    client = app.test_client()
    pair = register(client)
    for _ in range(5):  # 2 failures, then 3 refused
        login(client, password="wrong password")
    for _ in range(4):
        assert ask(client).status_code == 202
    deliver(app)
    counts = {item["event"]: item["count"] for item in page(client, pair["access_token"])["items"]}
    assert counts == {"registered": 1, "login_failed": 2, "login_throttled": 3, "password_reset_requested": 4}


def test_a_new_hour_starts_a_new_entry(app, client, user):
    fail_from(client, 2)
    with app.app_context():
        an_hour_ago = utcnow() - timedelta(hours=1)
        db.session.execute(update(SecurityEvent).where(SecurityEvent.event == "login_failed")
                           .values(hour=events.hour_of(an_hour_ago), created_at=an_hour_ago))
        db.session.commit()
    fail_from(client, 1)
    items = page(client, user["access_token"])["items"]
    assert [(item["event"], item["count"]) for item in items] == [("login_failed", 1), ("registered", 1),
                                                                  ("login_failed", 2)]


def test_other_events_are_never_collapsed(client, user):
    for _ in range(3):
        login(client)
    assert [item["count"] for item in page(client, user["access_token"])["items"]] == [1, 1, 1, 1]


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


def test_every_repeat_is_still_one_audit_line(client, user, caplog):
    caplog.set_level(logging.INFO, logger="taskapi.audit")
    fail_from(client, 3)
    lines = audit_lines(caplog)
    assert [(line.event, line.client) for line in lines] == [("login_failed", f"198.51.100.{i}") for i in (1, 2, 3)]


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


def age_every_event(app, days):
    with app.app_context():
        db.session.execute(update(SecurityEvent).values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def test_the_security_events_job_keeps_security_event_retention_days(app, client, user):
    age_every_event(app, 91)
    login(client)
    assert run_job(app, "security-events") == "1 security event(s) past SECURITY_EVENT_RETENTION_DAYS dropped"
    assert names(client, user["access_token"]) == ["login"]


# Races (PostgreSQL)


def test_concurrent_failures_make_one_entry(app, user):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    barrier = threading.Barrier(12)

    def fail(i):
        client = app.test_client()
        barrier.wait(timeout=10)
        return login(client, password=f"guess {i}", environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"}).status_code

    with ThreadPoolExecutor(12) as pool:
        assert set(pool.map(fail, range(12))) == {401}
    assert count(app, SecurityEvent, SecurityEvent.event == "login_failed") == 1
    (entry,) = [item for item in page(app.test_client(), user["access_token"])["items"]
                if item["event"] == "login_failed"]
    assert entry["count"] == 12


def test_recording_events_never_prunes(app, client, user, monkeypatch):
    age_every_event(app, 91)
    every_coin_heads(monkeypatch)
    for _ in range(20):
        login(client, password="wrong password")
    assert count(app, SecurityEvent, SecurityEvent.event == "registered") == 1
    assert count(app, SecurityEvent, SecurityEvent.event == "login_failed") == 1  # the 20 in one entry
