"""Races on PostgreSQL, on two instances: members writing to shared lists while another member syncs, and a
member removed while writing. Nothing is missed; a removed member's write lands before the removal or not at all."""

import random
import threading

import pytest

from tests.helpers.api import bearer, register
from tests.helpers.tasks import CHANGES, TASKS, task_url
from tests.helpers.threads import race
from tests.lists.test_feed import LISTS, join, make_list


@pytest.fixture
def instances(make_app):
    """Two apps on one database: two instances of the service."""
    first, second = make_app(), make_app()
    if not first.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    return first, second


def _member(client, email):
    body = register(client, email)
    return {"id": body["user"]["id"], "auth": bearer(body["access_token"])}


def _poll(client, auth, cursor):
    response = client.get(CHANGES, query_string={"limit": 7, **({"since": cursor} if cursor else {})}, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _server_tasks(client, auth):
    listed = client.get(TASKS, query_string={"limit": 100}, headers=auth).get_json()
    assert listed["total"] <= 100
    return {task["id"]: task for task in listed["items"]}


def test_a_member_syncing_on_two_instances_while_members_write_on_both_ends_with_the_servers_tasks(instances):
    first, second = instances
    client = first.test_client()
    ada, bob, cy, dee = (_member(client, f"{name}@example.com") for name in ("ada", "bob", "cy", "dee"))
    s1, s2 = make_list(client, ada["auth"], "S1"), make_list(client, ada["auth"], "S2")
    for user, role in ((bob, "editor"), (cy, "editor"), (dee, "viewer")):
        join(first, s1["id"], user["id"], role)
    for user, role in ((bob, "editor"), (dee, "viewer")):
        join(first, s2["id"], user["id"], role)
    targets = {"ada": [s1["id"], s2["id"]], "bob": [s1["id"], s2["id"]], "cy": [s1["id"]]}
    done = threading.Event()
    copy, lists, polls = {}, {}, []

    def consumer(_):
        clients, cursor = (first.test_client(), second.test_client()), None
        for n in range(5000):
            finished = done.is_set()  # read before the poll: the last poll starts after every write ended
            answer = _poll(clients[n % 2], dee["auth"], cursor)
            for task in answer["changes"]:
                copy[task["id"]] = task
            for task_id in answer["deleted"]:
                copy.pop(task_id, None)
            lists.update({item["id"]: item for item in answer["lists"]})
            for list_id in answer["deleted_lists"]:
                lists.pop(list_id, None)
            cursor = answer["cursor"]
            polls.append(len(answer["changes"]) + len(answer["deleted"]))
            if finished and not answer["has_more"]:
                return cursor
        raise AssertionError("the consumer never caught up")

    def writer(name, member, app, seed):
        def write(_):
            client_, rng, mine = app.test_client(), random.Random(seed), []
            for step in range(30):
                action = rng.choice(["create", "create", "edit", "toggle", "move", "trash", "restore", "to_list",
                                     "bulk"]) if mine else "create"
                task_id = rng.choice(mine) if mine else None
                if action == "create":
                    response = client_.post(TASKS, json={"title": f"{name}-{step}",
                                                         "list_id": rng.choice(targets[name])}, headers=member["auth"])
                    if response.status_code == 201:
                        mine.append(response.get_json()["id"])
                elif action == "edit":
                    response = client_.patch(task_url(task_id), json={"title": f"{name}-edit-{step}"},
                                             headers=member["auth"])
                elif action == "toggle":
                    response = client_.patch(task_url(task_id, "/toggle"), headers=member["auth"])
                elif action == "move":
                    response = client_.post(task_url(task_id, "/move"), json={"after": rng.choice([None, *mine])},
                                            headers=member["auth"])
                elif action == "trash":
                    response = client_.delete(task_url(task_id), headers=member["auth"])
                elif action == "restore":
                    response = client_.post(task_url(task_id, "/restore"), headers=member["auth"])
                elif action == "to_list":  # another shared list, or out of the syncing member's sight and back
                    inbox = client_.get(LISTS, headers=member["auth"]).get_json()["items"][0]["id"]
                    response = client_.patch(task_url(task_id), json={"list_id": rng.choice(
                        [*targets[name], inbox])}, headers=member["auth"])
                else:
                    response = client_.patch(TASKS, json={"ids": rng.sample(mine, min(2, len(mine))),
                                                          "changes": {"priority": "high"}}, headers=member["auth"])
                # 404/422: the task was in (or out of) the trash, or moved after itself; never a 5xx.
                assert response.status_code in (200, 201, 204, 404, 422), (action, response.get_json())
        return write

    def writers_then_done(_):
        try:
            race(first, writer("ada", ada, first, 1), writer("bob", bob, second, 2), writer("cy", cy, first, 3))
        finally:
            done.set()

    final_cursor = race(first, consumer, writers_then_done)[0]
    assert copy == _server_tasks(client, dee["auth"])
    assert set(lists) == {item["id"] for item in client.get(LISTS, headers=dee["auth"]).get_json()["items"]}
    assert len(polls) > 3, "the consumer polled while the writers wrote"
    last = _poll(second.test_client(), dee["auth"], final_cursor)
    assert (last["changes"], last["deleted"], last["lists"]) == ([], [], [])


@pytest.mark.parametrize("round_", range(3))
def test_a_member_removed_while_writing_lands_before_the_removal_or_is_refused(instances, round_):
    first, second = instances
    client = first.test_client()
    ada, bob = _member(client, "ada@example.com"), _member(client, "bob@example.com")
    shared = make_list(client, ada["auth"])
    join(first, shared["id"], bob["id"])
    cursor = client.get(CHANGES, headers=ada["auth"]).get_json()["cursor"]
    removed, statuses = threading.Event(), []

    def bob_writes(_):
        client_ = second.test_client()
        for step in range(40):
            after_removal = removed.is_set()  # read before the request: it starts after the removal ended
            response = client_.post(TASKS, json={"title": f"bob-{step}", "list_id": shared["id"]},
                                    headers=bob["auth"])
            statuses.append((after_removal, response.status_code, response.get_json()))

    def ada_removes(_):
        threading.Event().wait(0.05 * (round_ + 1))
        response = first.test_client().delete(f"{LISTS}/{shared['id']}/members/{bob['id']}", headers=ada["auth"])
        removed.set()
        assert response.status_code == 204

    race(first, bob_writes, ada_removes)
    landed = {body["id"] for _, status, body in statuses if status == 201}
    assert all(status == 422 for after, status, _ in statuses if after)  # list_id is no list of his any more
    assert all(status in (201, 422) for _, status, _ in statuses)
    # Every write that landed is in the list, and in the feed of the members who stayed.
    in_list = {task["id"] for task in client.get(TASKS, query_string={"list_id": shared["id"], "limit": 100},
                                                 headers=ada["auth"]).get_json()["items"]}
    assert landed == in_list
    seen = set()
    while True:
        answer = client.get(CHANGES, query_string={"since": cursor}, headers=ada["auth"]).get_json()
        seen |= {task["id"] for task in answer["changes"]}
        cursor = answer["cursor"]
        if not answer["has_more"]:
            break
    assert landed <= seen
