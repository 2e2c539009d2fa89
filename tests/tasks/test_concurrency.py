"""Races on PostgreSQL: concurrent writers with one ETag, and concurrent creates with one Idempotency-Key."""

import threading

import pytest

from taskapi.extensions import db
from tests.conftest import assert_error
from tests.tasks.conftest import TASKS, create, read, stored, task_count, task_url

ROUNDS = 5


@pytest.fixture
def pg_app(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    with app.app_context():
        # Open the racers' connections beforehand, so neither starts late while connecting.
        connections = [db.engine.connect() for _ in range(3)]
        for connection in connections:
            connection.close()
    return app


def race(app, *senders):
    """Run each sender(client) in its own thread with its own test client, released together."""
    barrier = threading.Barrier(len(senders))
    results, errors = [None] * len(senders), []

    def run(index, send):
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            results[index] = send(client)
        except Exception as exc:  # surfaced in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, send)) for i, send in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not errors, errors
    return results


def patcher(task_id, auth, body, **headers):
    return lambda client: client.patch(task_url(task_id), json=body, headers={**auth, **headers})


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_writers_with_one_etag_one_wins_one_gets_412(pg_app, client, auth, round_):
    task = create(client, auth)
    etag = read(client, auth, task["id"]).headers["ETag"]
    first, second = race(pg_app, patcher(task["id"], auth, {"title": "First"}, **{"If-Match": etag}),
                         patcher(task["id"], auth, {"title": "Second"}, **{"If-Match": etag}))
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert_error(loser, 412, "precondition_failed")
    row = stored(pg_app, task["id"])
    assert (row["title"], row["version"]) == (winner.get_json()["title"], 2)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_toggles_with_one_etag_toggle_once(pg_app, client, auth, round_):
    task = create(client, auth)
    etag = read(client, auth, task["id"]).headers["ETag"]

    def toggler(client_):
        return client_.patch(task_url(task["id"], "/toggle"), headers={**auth, "If-Match": etag})

    responses = race(pg_app, toggler, toggler)
    assert sorted(r.status_code for r in responses) == [200, 412]
    row = stored(pg_app, task["id"])
    assert (row["status"], row["version"]) == ("completed", 2)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_unconditional_writers_both_land(pg_app, client, auth, round_):
    task = create(client, auth)
    responses = race(pg_app, patcher(task["id"], auth, {"title": "Renamed"}),
                     patcher(task["id"], auth, {"priority": "high"}))
    assert [r.status_code for r in responses] == [200, 200]
    row = stored(pg_app, task["id"])
    assert (row["title"], row["priority"], row["version"]) == ("Renamed", "high", 3)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_creates_with_one_key_make_one_task(pg_app, client, auth, round_):
    body, headers = {"title": "Pay rent", "priority": "high"}, {**auth, "Idempotency-Key": f"race-{round_}"}

    def poster(client_):
        return client_.post(TASKS, json=body, headers=headers)

    first, second = race(pg_app, poster, poster)
    assert (first.status_code, second.status_code) == (201, 201), (first.get_json(), second.get_json())
    assert first.get_json() == second.get_json()
    assert first.headers["Location"] == second.headers["Location"]
    assert task_count(pg_app) == 1
