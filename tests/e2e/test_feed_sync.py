"""The change feed across two instances on one database: a consumer polling one while both take writes
ends with exactly the server's list; concurrent moves on both never share a position."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.helpers import TASKS, TIMEOUT, Client, query

CHANGES = f"{TASKS}/changes"
ROOMY = {"AUTH_RATE_LIMIT": "1000 per minute"}


@pytest.fixture
def pair(start_server):
    """Instances A and B of the service, two workers each, on the same database."""
    return start_server(**ROOMY), start_server(**ROOMY)


def _ok(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.text)
    return response.json() if response.content else None


def _write_randomly(api, seed, task_ids, steps=30):
    """Creates, edits, toggles, moves, trashes, restores and bulk edits; a 404/422 only where the task moved on."""
    rng = random.Random(seed)
    mine = list(task_ids)
    for step in range(steps):
        task_id = rng.choice(mine)
        action = rng.choice(["create", "edit", "toggle", "move", "trash", "restore", "bulk"])
        if action == "create":
            mine.append(_ok(api.post(TASKS, json={"title": f"W{seed}-{step}", "tags": ["new"]}), 201)["id"])
        elif action == "edit":
            _ok(api.patch(f"{TASKS}/{task_id}", json={"title": f"E{seed}-{step}"}), 200, 404)
        elif action == "toggle":
            _ok(api.patch(f"{TASKS}/{task_id}/toggle"), 200, 404)
        elif action == "move":
            _ok(api.post(f"{TASKS}/{task_id}/move", json={"after": rng.choice([None, *mine])}), 200, 404, 422)
        elif action == "trash":
            _ok(api.delete(f"{TASKS}/{task_id}"), 204, 404)
        elif action == "restore":
            _ok(api.post(f"{TASKS}/{task_id}/restore"), 200, 404)
        else:
            _ok(api.patch(TASKS, json={"ids": rng.sample(mine, 2), "changes": {"priority": "high"}}), 200, 404)


def test_a_feed_consumer_on_one_instance_keeps_up_with_writes_on_both(pair, database):
    a, b = Client(pair[0]), Client(pair[1])
    user_id = a.register()["user"]["id"]
    b.token = a.token
    seeded = [a.create_task(title=f"Seed {n}")["id"] for n in range(12)]
    consumer = Client(pair[1], token=a.token)
    done = threading.Event()
    copy, polls = {}, [0]

    def consume():
        cursor = None
        for _ in range(5000):
            finished = done.is_set()  # read before the poll: the last poll starts after every write
            answer = _ok(consumer.get(CHANGES, params={"limit": 5, **({"since": cursor} if cursor else {})}), 200)
            for task in answer["changes"]:
                copy[task["id"]] = task
            for task_id in answer["deleted"]:
                copy.pop(task_id, None)
            cursor = answer["cursor"]
            polls[0] += 1
            if finished and not answer["has_more"]:
                return cursor
        raise AssertionError("the consumer never caught up")

    def write_on_both():
        try:
            with ThreadPoolExecutor(4) as pool:
                runs = [pool.submit(_write_randomly, api, seed, seeded[seed::4])
                        for seed, api in enumerate((a, b, a, b))]
                for run in runs:
                    run.result(timeout=120)
        finally:
            done.set()

    with ThreadPoolExecutor(2) as pool:
        consuming, writing = pool.submit(consume), pool.submit(write_on_both)
        writing.result(timeout=180)
        cursor = consuming.result(timeout=60)

    listed = _ok(a.get(TASKS, params={"limit": 100}), 200)
    assert listed["total"] <= 100
    assert copy == {task["id"]: task for task in listed["items"]}
    assert polls[0] > 3
    last = _ok(b.get(CHANGES, params={"since": cursor}), 200)
    assert (last["changes"], last["deleted"]) == ([], [])
    positions = query(database, "SELECT position FROM tasks WHERE created_by = %s AND deleted_at IS NULL", (user_id,))
    assert len(positions) == len(set(positions))


def test_concurrent_moves_on_two_instances_never_share_a_position(pair, database):
    a, b = Client(pair[0]), Client(pair[1])
    user_id = a.register()["user"]["id"]
    b.token = a.token
    tasks = [a.create_task(title=f"T{n}")["id"] for n in range(10)]
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    def move(args):
        api, task_id = args
        barrier.wait()
        return api.post(f"{TASKS}/{task_id}/move", json={"after": tasks[0]})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(move, [(a, tasks[3]), (b, tasks[4]), (a, tasks[5]), (b, tasks[6])]))
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    order = [t["id"] for t in _ok(a.get(TASKS, params={"sort": "position", "limit": 100}), 200)["items"]]
    at = order.index(tasks[0])
    assert set(order[at + 1:at + 5]) == set(tasks[3:7])
    positions = query(database, "SELECT position FROM tasks WHERE created_by = %s AND deleted_at IS NULL", (user_id,))
    assert len(positions) == len(set(positions)) == 10
