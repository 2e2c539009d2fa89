"""Sessions: one per sign-in, listed, ended one at a time or all but this one; ending one stops its tokens."""

import os
import threading
import time

import pytest

from taskapi.auth.models import SecurityEvent, UserSession
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import AUTH, claims, count, login, me, refresh, sign

SESSIONS = f"{AUTH}/sessions"
SESSION_KEYS = {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}
POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


def sessions(client, access_token):
    response = client.get(SESSIONS, headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def end(client, access_token, session_id=None):
    path = SESSIONS if session_id is None else f"{SESSIONS}/{session_id}"
    return client.delete(path, headers=bearer(access_token))


def sid(pair):
    return claims(pair["access_token"])["sid"]


def test_each_sign_in_is_a_session_newest_first(client, user):
    phone = login(client, headers={"User-Agent": "Phone/1.0"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    listed = sessions(client, user["access_token"])
    assert [s["id"] for s in listed] == [sid(phone.get_json()), sid(user)]
    assert all(set(s) == SESSION_KEYS for s in listed)
    assert listed[0]["ip"] == "203.0.113.9" and listed[0]["user_agent"] == "Phone/1.0"
    assert [s["current"] for s in listed] == [False, True]


def test_tokens_carry_their_sessions_id(client, user):
    assert claims(user["access_token"])["sid"] == claims(user["refresh_token"])["sid"]


def test_a_long_user_agent_is_cut_to_255_characters(client):
    pair = client.post(f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD},
                       headers={"User-Agent": "x" * 400}).get_json()
    assert sessions(client, pair["access_token"])[0]["user_agent"] == "x" * 255


def test_a_refresh_keeps_the_session_and_marks_it_used(client, user):
    before = sessions(client, user["access_token"])[0]
    time.sleep(0.01)
    pair = refresh(client, user["refresh_token"]).get_json()
    after = sessions(client, pair["access_token"])
    assert len(after) == 1 and after[0]["id"] == before["id"] == sid(pair)
    assert after[0]["last_used_at"] > before["last_used_at"] and after[0]["created_at"] == before["created_at"]


def test_ending_a_session_stops_its_tokens_at_once(client, user):
    other = login(client).get_json()
    response = end(client, user["access_token"], sid(other))
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(me(client, other["access_token"]), 401, "token_revoked")
    assert_error(refresh(client, other["refresh_token"]), 401, "token_revoked")
    assert me(client, user["access_token"]).status_code == 200
    assert [s["id"] for s in sessions(client, user["access_token"])] == [sid(user)]


def test_ending_the_current_session_signs_out(client, user):
    assert end(client, user["access_token"], sid(user)).status_code == 204
    assert_error(me(client, user["access_token"]), 401, "token_revoked")


def test_an_unknown_ended_or_other_users_session_is_the_same_404(app, client, user, bob):
    other = login(client).get_json()
    end(client, user["access_token"], sid(other))
    answers = [end(client, user["access_token"], session_id) for session_id in (sid(other), sid(bob), 10**9, 2**40)]
    bodies = [assert_error(answer, 404, "not_found") for answer in answers]
    assert len({(b["message"], b["code"]) for b in bodies}) == 1
    assert me(client, bob["access_token"]).status_code == 200  # Bob's session is untouched
    assert count(app, UserSession) == 2


def test_ending_every_other_session(app, client, user, bob):
    others = [login(client).get_json() for _ in range(3)]
    assert end(client, user["access_token"]).status_code == 204
    for pair in others:
        assert_error(me(client, pair["access_token"]), 401, "token_revoked")
    assert [s["id"] for s in sessions(client, user["access_token"])] == [sid(user)]
    assert me(client, bob["access_token"]).status_code == 200
    assert count(app, SecurityEvent, SecurityEvent.event == "session_ended") == 3


def test_logout_ends_the_current_session_only(client, user):
    other = login(client).get_json()
    assert client.post(f"{AUTH}/logout", headers=bearer(user["access_token"])).status_code == 204
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")  # not sent, still revoked
    assert [s["id"] for s in sessions(client, other["access_token"])] == [sid(other)]


def test_a_bad_refresh_token_at_logout_ends_nothing(app, client, user):
    response = client.post(f"{AUTH}/logout", json={"refresh_token": "not-a-token"},
                           headers=bearer(user["access_token"]))
    assert_error(response, 422, "validation_error")
    assert me(client, user["access_token"]).status_code == 200 and count(app, UserSession) == 1


def test_a_password_change_ends_every_session(client, user):
    other = login(client).get_json()
    body = {"current_password": PASSWORD, "new_password": "a brand new password"}
    assert client.post(f"{AUTH}/password", json=body, headers=bearer(user["access_token"])).status_code == 204
    for pair in (user, other):
        assert_error(me(client, pair["access_token"]), 401, "token_revoked")
    fresh = login(client, password="a brand new password").get_json()
    assert len(sessions(client, fresh["access_token"])) == 1


def test_a_token_without_a_session_is_refused(app, client, user):
    """Tokens issued before sessions existed (an upgraded database) send their holders back to login."""
    payload = {key: value for key, value in claims(user["access_token"]).items() if key != "sid"}
    assert_error(me(client, sign(app, payload)), 401, "token_revoked")


@pytest.mark.parametrize("path", [SESSIONS, f"{SESSIONS}/1"])
def test_sessions_need_an_access_token(client, user, path):
    assert_error(client.get(SESSIONS), 401, "token_missing")
    assert_error(client.delete(path), 401, "token_missing")
    assert_error(client.delete(path, headers=bearer(user["refresh_token"])), 401, "wrong_token_type")


def test_session_answers_are_not_cached(client, user):
    assert client.get(SESSIONS, headers=bearer(user["access_token"])).headers["Cache-Control"] == "no-store"


# Refresh-token reuse


def test_a_replayed_refresh_token_ends_its_session_and_is_recorded(app, client, user):
    other = login(client).get_json()
    newer = refresh(client, user["refresh_token"]).get_json()
    assert_error(refresh(client, user["refresh_token"]), 401, "token_revoked")
    assert_error(me(client, newer["access_token"]), 401, "token_revoked")
    assert_error(refresh(client, newer["refresh_token"]), 401, "token_revoked")
    assert me(client, other["access_token"]).status_code == 200  # the user's other session is untouched
    assert count(app, SecurityEvent, SecurityEvent.event == "refresh_reuse") == 1


# Races (PostgreSQL)

needs_postgres = pytest.mark.skipif(not POSTGRES, reason="races need PostgreSQL (TEST_DATABASE_URL)")


def run_together(*actions):
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i):
        barrier.wait()
        results[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@needs_postgres
def test_concurrent_refreshes_of_one_token_leave_no_working_token(app, user):
    other = login(app.test_client()).get_json()
    answers = run_together(*[lambda: refresh(app.test_client(), user["refresh_token"]) for _ in range(6)])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [401] * 5, statuses
    (winner,) = [answer.get_json() for answer in answers if answer.status_code == 200]
    client = app.test_client()
    assert_error(me(client, winner["access_token"]), 401, "token_revoked")  # the replays ended the session
    assert_error(refresh(client, winner["refresh_token"]), 401, "token_revoked")
    assert me(client, other["access_token"]).status_code == 200
    assert count(app, SecurityEvent, SecurityEvent.event == "refresh_reuse") == 1


@needs_postgres
def test_a_session_ended_during_a_refresh_leaves_no_working_token(app):
    for attempt in range(5):
        pair = register(app.test_client(), email=f"race{attempt}@example.com")
        refreshed, ended = run_together(lambda pair=pair: refresh(app.test_client(), pair["refresh_token"]),
                                        lambda pair=pair: end(app.test_client(), pair["access_token"], sid(pair)))
        assert ended.status_code in (204, 401)
        client = app.test_client()
        if refreshed.status_code == 200:
            new = refreshed.get_json()
            if ended.status_code == 204:
                assert_error(me(client, new["access_token"]), 401, "token_revoked")
                assert_error(refresh(client, new["refresh_token"]), 401, "token_revoked")
        assert_error(refresh(client, pair["refresh_token"]), 401, "token_revoked")


@needs_postgres
def test_ending_a_session_stops_requests_already_under_way(app, user):
    stop, after_end = threading.Event(), []
    ended_at = []

    def reader():
        client = app.test_client()
        while not stop.is_set():
            started = time.monotonic()
            status = client.get("/api/v1/tasks", headers=bearer(user["access_token"])).status_code
            if ended_at and started > ended_at[0]:
                after_end.append(status)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    assert end(app.test_client(), user["access_token"], sid(user)).status_code == 204
    ended_at.append(time.monotonic())
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert after_end and set(after_end) == {401}
