"""Races on PostgreSQL: writers with one ETag, creates with one Idempotency-Key, moves, a feed consumer
polling during writes, and cursor paging during inserts."""

import random
import threading
import time

import pytest
from sqlalchemy import update

from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.api import assert_error
from tests.helpers.tasks import CHANGES, TASKS, create, read, stored, task_count, task_url
from tests.helpers.threads import race

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


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_creates_get_distinct_first_positions(pg_app, client, auth, round_):
    create(client, auth, "Existing")

    def creator(n):
        return lambda client_: client_.post(TASKS, json={"title": f"New {n}"}, headers=auth)

    responses = race(pg_app, *(creator(n) for n in range(4)))
    assert [r.status_code for r in responses] == [201] * 4, [r.get_json() for r in responses]
    order = client.get(TASKS, query_string={"sort": "position"}, headers=auth).get_json()["items"]
    assert order[-1]["title"] == "Existing"
    assert len({task["position"] for task in order}) == 5


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_moves_never_share_a_position_and_none_is_lost(pg_app, client, auth, round_):
    tasks = [create(client, auth, f"T{n}") for n in range(8)]
    anchor = tasks[0]
    movers = tasks[2:6]

    def mover(task, after):
        return lambda client_: client_.post(task_url(task["id"], "/move"), json={"after": after}, headers=auth)

    # Two land first, two right after the anchor, all at once.
    responses = race(pg_app, mover(movers[0], None), mover(movers[1], None),
                         mover(movers[2], anchor["id"]), mover(movers[3], anchor["id"]))
    assert [r.status_code for r in responses] == [200] * 4, [r.get_json() for r in responses]
    order = [t["id"] for t in client.get(TASKS, query_string={"sort": "position"}, headers=auth).get_json()["items"]]
    assert set(order[:2]) == {movers[0]["id"], movers[1]["id"]}
    at = order.index(anchor["id"])
    assert set(order[at + 1:at + 3]) == {movers[2]["id"], movers[3]["id"]}
    rows = [stored(pg_app, task["id"]) for task in tasks]
    assert len({row["position"] for row in rows}) == len(rows)
    assert [row["version"] for row in rows] == [1, 1, 2, 2, 2, 2, 1, 1]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_moves_into_a_crowded_gap_renumber_without_sharing_a_position(pg_app, client, auth, round_):
    tasks = [create(client, auth, f"T{n}") for n in range(12)]  # the manual order is T11 … T0
    first, second = tasks[6], tasks[5]
    with pg_app.app_context():  # no key fits between T6 and T5 within 64 characters: each move renumbers
        prefix = db.session.get(Task, first["id"]).position
        for task, position in ((first, prefix + "1" * (64 - len(prefix))),
                               (second, prefix + "1" * (63 - len(prefix)) + "2")):
            db.session.execute(update(Task).where(Task.id == task["id"]).values(position=position))
        db.session.commit()
    movers = [tasks[0], tasks[1], tasks[10], tasks[11]]

    def mover(task):
        return lambda client_: client_.post(task_url(task["id"], "/move"), json={"after": first["id"]}, headers=auth)

    responses = race(pg_app, *(mover(task) for task in movers))
    assert [r.status_code for r in responses] == [200] * 4, [r.get_json() for r in responses]
    order = [t["id"] for t in client.get(TASKS, query_string={"sort": "position"}, headers=auth).get_json()["items"]]
    at = order.index(first["id"])
    assert set(order[at + 1:at + 5]) == {task["id"] for task in movers} and order[at + 5] == second["id"]
    rows = [stored(pg_app, task["id"]) for task in tasks]
    assert len({row["position"] for row in rows}) == len(rows)
    assert max(len(row["position"]) for row in rows) <= 64
    assert sorted(rows, key=lambda row: row["position"].encode()) == sorted(rows, key=lambda row: order.index(
        row["id"]))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_moves_of_one_task_with_one_etag_one_wins(pg_app, client, auth, round_):
    tasks = [create(client, auth, f"T{n}") for n in range(3)]
    etag = read(client, auth, tasks[0]["id"]).headers["ETag"]

    def mover(after):
        return lambda client_: client_.post(task_url(tasks[0]["id"], "/move"), json={"after": after},
                                            headers={**auth, "If-Match": etag})

    responses = race(pg_app, mover(None), mover(tasks[2]["id"]))  # each a real move: T0 is last
    assert sorted(r.status_code for r in responses) == [200, 412]
    assert stored(pg_app, tasks[0]["id"])["version"] == 2


def _feed_answer(client_, auth, cursor):
    params = {"limit": 7, **({"since": cursor} if cursor else {})}
    response = client_.get(CHANGES, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _apply(copy, answer):
    for task in answer["changes"]:
        copy[task["id"]] = task
    for task_id in answer["deleted"]:
        copy.pop(task_id, None)


def test_a_feed_consumer_polling_during_concurrent_writes_ends_with_the_servers_list(pg_app, client, auth):
    seed_tasks = [create(client, auth, f"Seed {n}", tags=["seed"]) for n in range(12)]
    done = threading.Event()
    copy, polls = {}, []

    def consumer(client_):
        cursor = None
        for _ in range(5000):
            finished = done.is_set()  # read before the poll: the last poll starts after every write ended
            answer = _feed_answer(client_, auth, cursor)
            _apply(copy, answer)
            cursor = answer["cursor"]
            polls.append(len(answer["changes"]) + len(answer["deleted"]))
            if finished and not answer["has_more"]:
                return cursor
        raise AssertionError("the consumer never caught up")

    def writer(seed):
        def write(client_):
            rng = random.Random(seed)
            mine = [t["id"] for t in seed_tasks[seed::3]]
            for step in range(25):
                task_id = rng.choice(mine)
                action = rng.choice(["create", "edit", "toggle", "move", "trash", "restore", "bulk"])
                if action == "create":
                    response = client_.post(TASKS, json={"title": f"W{seed}-{step}"}, headers=auth)
                    mine.append(response.get_json()["id"])
                elif action == "edit":
                    response = client_.patch(task_url(task_id), json={"title": f"E{seed}-{step}",
                                                                      "tags": [f"s{step % 3}"]}, headers=auth)
                elif action == "toggle":
                    response = client_.patch(task_url(task_id, "/toggle"), headers=auth)
                elif action == "move":
                    response = client_.post(task_url(task_id, "/move"), json={"after": rng.choice([None, *mine])},
                                            headers=auth)
                elif action == "trash":
                    response = client_.delete(task_url(task_id), headers=auth)
                elif action == "restore":
                    response = client_.post(task_url(task_id, "/restore"), headers=auth)
                else:
                    response = client_.patch(TASKS, json={"ids": rng.sample(mine, 2), "changes": {"priority": "high"}},
                                             headers=auth)
                # 404/422: the task was in (or out of) the trash, or moved after itself; never a 5xx.
                assert response.status_code in (200, 201, 204, 404, 422), (action, response.get_json())
        return write

    def writers_then_done(client_):
        try:
            race(pg_app, writer(0), writer(1), writer(2))
        finally:
            done.set()

    results = race(pg_app, consumer, writers_then_done)
    listed = client.get(TASKS, query_string={"limit": 100}, headers=auth).get_json()
    assert listed["total"] <= 100
    assert copy == {t["id"]: t for t in listed["items"]}
    assert len(polls) > 3, "the consumer polled while the writers wrote"
    final = _feed_answer(client, auth, results[0])
    assert (final["changes"], final["deleted"]) == ([], [])


def test_cursor_paging_while_tasks_are_inserted_neither_repeats_nor_skips(pg_app, client, auth):
    originals = [create(client, auth, f"Task {n:02d}", priority=("low", "medium", "high")[n % 3])["id"]
                 for n in range(30)]
    inserting = threading.Event()
    stop = threading.Event()
    seen = {sort: [] for sort in ("-created_at", "title", "-priority", "position")}

    def reader(client_):
        try:
            read_every_sort(client_)
        finally:
            stop.set()

    def read_every_sort(client_):
        inserting.wait(timeout=10)
        for sort, ids in seen.items():
            page = client_.get(TASKS, query_string={"sort": sort, "limit": 4}, headers=auth).get_json()
            while True:
                ids += [t["id"] for t in page["items"]]
                if page["next_cursor"] is None:
                    break
                time.sleep(0.01)
                response = client_.get(TASKS, query_string={"cursor": page["next_cursor"], "limit": 4}, headers=auth)
                assert response.status_code == 200, response.get_json()
                page = response.get_json()

    def inserter(client_):
        n = 0
        while not stop.is_set() and n < 200:
            response = client_.post(TASKS, json={"title": f"Task {n % 30:02d} new", "priority": "medium"},
                                    headers=auth)
            assert response.status_code == 201
            n += 1
            inserting.set()
        return n

    _, inserted = race(pg_app, reader, inserter)
    assert inserted > 0
    for sort, ids in seen.items():
        assert len(ids) == len(set(ids)), sort
        assert set(originals) <= set(ids), sort
