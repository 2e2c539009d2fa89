"""Races on PostgreSQL, on two instances: concurrent writers each get exactly their entries, in commit order,
and the signal pairs each entry with its own task however the batches' ids interleave."""

import pytest

from taskapi.activity.signals import activity_recorded
from tests.helpers.activity import list_activity
from tests.helpers.lists import add_member, create_list
from tests.helpers.tasks import TASKS, create, task_url
from tests.helpers.threads import race

ROUNDS = 15


@pytest.fixture
def instances(make_app):
    first, second = make_app(), make_app()
    if not first.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    return first, second


def test_concurrent_writers_record_exactly_their_changes(instances, ada, ben):
    first, second = instances
    client = first.test_client()
    shared = create_list(client, ada.auth, "Shared")
    add_member(first, shared["id"], ben.id, "editor")
    task = create(client, ada.auth, "Contended", list_id=shared["id"])
    mismatched = []

    def check(sender, entries, **kwargs):
        mismatched.extend((activity.id, activity.task_id, task.id) for activity, task, _ in entries
                          if task is not None and activity.task_id != task.id)

    def writer(person, app):
        def send(_):
            own = app.test_client()
            statuses = []
            for n in range(ROUNDS):
                response = own.patch(task_url(task["id"]), json={"title": f"{person.name} {n}"}, headers=person.auth)
                statuses.append(response.status_code)
            return statuses

        return send

    def bulk(person, app, ids):
        def send(_):
            own = app.test_client()
            return [own.patch(TASKS, json={"ids": ids, "changes": {"priority": p}}, headers=person.auth).status_code
                    for p in ("high", "low") * (ROUNDS // 2)]
        return send

    mine = [create(client, ada.auth, f"A{n}")["id"] for n in range(10)]  # Ada's inbox
    bens = [create(client, ben.auth, f"B{n}")["id"] for n in range(10)]  # Ben's inbox
    for app in instances:
        activity_recorded.connect(check, app)
    try:
        results = race(first, writer(ada, first), writer(ben, second), bulk(ada, first, mine), bulk(ben, second, bens))
    finally:
        for app in instances:
            activity_recorded.disconnect(check, app)
    assert mismatched == []
    assert all(status == 200 for statuses in results for status in statuses), results
    entries = [item for item in list_activity(client, ada.auth, shared["id"]) if item["action"] == "task.updated"]
    # One entry per committed PATCH, and in commit order: each one's old title is the previous one's new.
    assert len(entries) == 2 * ROUNDS
    chain = [item["changes"]["title"] for item in reversed(entries)]
    assert chain[0][0] == "Contended" and all(chain[n][1] == chain[n + 1][0] for n in range(len(chain) - 1))
    assert chain[-1][1] == client.get(task_url(task["id"]), headers=ada.auth).get_json()["title"]
