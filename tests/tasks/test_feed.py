"""GET /api/v1/tasks/changes: a full sync in pages, then every change after a cursor, in sequence order."""

import time
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer

from taskapi.models import utcnow
from tests.helpers.api import assert_error
from tests.helpers.tasks import CHANGES, TASKS, TRASH, create, ids, move, page_of, signed_cursor, task_url, trash

FEED_SALT = "taskapi.tasks.feed-cursor"


def feed(client, auth, **params):
    body = page_of(client, auth, CHANGES, **params)
    assert set(body) == {"changes", "deleted", "lists", "deleted_lists", "cursor", "has_more"}
    return body


def sync(client, auth, since=None, limit=100):
    """Follow has_more to the end; returns (answers, last cursor)."""
    answers = []
    while True:
        answers.append(feed(client, auth, limit=limit, **({"since": since} if since else {})))
        since = answers[-1]["cursor"]
        if not answers[-1]["has_more"]:
            return answers, since
        assert len(answers) < 100, "has_more never ends"


def apply(copy, answers):
    """A client's copy of its tasks, {id: task}, after applying feed answers."""
    for answer in answers:
        for task in answer["changes"]:
            copy[task["id"]] = task
        for task_id in answer["deleted"]:
            copy.pop(task_id, None)
    return copy


def server_list(client, auth):
    return {task["id"]: task for task in page_of(client, auth, limit=100)["items"]}


def test_without_since_every_live_task_in_change_order(client, auth):
    tasks = [create(client, auth, f"Task {n}") for n in range(3)]
    trash(client, auth, create(client, auth, "Trashed")["id"])
    client.patch(task_url(tasks[0]["id"]), json={"title": "Changed"}, headers=auth)
    body = feed(client, auth)
    assert ids(body["changes"]) == [tasks[1]["id"], tasks[2]["id"], tasks[0]["id"]]
    assert body["changes"][2]["title"] == "Changed"
    assert (body["deleted"], body["has_more"]) == ([], False)
    assert isinstance(body["cursor"], str) and body["cursor"]


def test_a_full_sync_comes_in_pages(client, auth):
    tasks = [create(client, auth, f"Task {n}") for n in range(5)]
    answers, _ = sync(client, auth, limit=2)
    assert [len(a["changes"]) for a in answers] == [2, 2, 1]
    assert [a["has_more"] for a in answers] == [True, True, False]
    assert [task["id"] for a in answers for task in a["changes"]] == [t["id"] for t in tasks]


def test_an_empty_account_syncs_to_nothing(client, auth):
    body = feed(client, auth)
    assert (body["changes"], body["deleted"], body["has_more"]) == ([], [], False)
    again = feed(client, auth, since=body["cursor"])
    assert (again["changes"], again["deleted"], again["has_more"]) == ([], [], False)


def test_since_a_cursor_nothing_changed_is_empty(client, auth, task):
    cursor = feed(client, auth)["cursor"]
    body = feed(client, auth, since=cursor)
    assert (body["changes"], body["deleted"], body["has_more"]) == ([], [], False)


def test_every_kind_of_change_after_a_cursor(client, auth):
    kept, edited, toggled, moved, trashed, emptied, restored = (create(client, auth, f"T{n}") for n in range(7))
    trash(client, auth, restored["id"])
    cursor = feed(client, auth)["cursor"]
    new = create(client, auth, "New")
    client.patch(task_url(edited["id"]), json={"tags": ["x"]}, headers=auth)
    client.patch(task_url(toggled["id"], "/toggle"), headers=auth)
    move(client, auth, moved["id"], None)
    assert client.post(task_url(restored["id"], "/restore"), headers=auth).status_code == 200
    trash(client, auth, trashed["id"])
    trash(client, auth, emptied["id"])
    client.delete(TRASH, headers=auth)
    body = feed(client, auth, since=cursor)
    assert ids(body["changes"]) == [new["id"], edited["id"], toggled["id"], moved["id"], restored["id"]]
    assert sorted(body["deleted"]) == sorted([trashed["id"], emptied["id"]])
    assert kept["id"] not in ids(body["changes"]) + body["deleted"]
    current = server_list(client, auth)
    assert all(task == current[task["id"]] for task in body["changes"])  # in their current state


def test_a_task_appears_once_however_often_it_changed(client, auth, task):
    cursor = feed(client, auth)["cursor"]
    for n in range(4):
        client.patch(task_url(task["id"]), json={"title": f"Title {n}"}, headers=auth)
    body = feed(client, auth, since=cursor)
    assert ids(body["changes"]) == [task["id"]] and body["changes"][0]["title"] == "Title 3"


def test_a_task_created_then_trashed_after_the_cursor_is_only_deleted(client, auth, task):
    cursor = feed(client, auth)["cursor"]
    brief = create(client, auth, "Brief")
    trash(client, auth, brief["id"])
    body = feed(client, auth, since=cursor)
    assert (body["changes"], body["deleted"]) == ([], [brief["id"]])


def test_a_task_seen_trashed_is_not_told_again_when_the_trash_is_emptied(client, auth, task):
    trash(client, auth, task["id"])
    cursor = feed(client, auth)["cursor"]
    client.delete(TRASH, headers=auth)
    body = feed(client, auth, since=cursor)
    assert (body["changes"], body["deleted"]) == ([], [])


def test_a_cursor_from_before_a_trash_sees_the_deletion_once_it_is_emptied(client, auth, task):
    cursor = feed(client, auth)["cursor"]
    trash(client, auth, task["id"])
    client.delete(TRASH, headers=auth)
    assert feed(client, auth, since=cursor)["deleted"] == [task["id"]]


def test_many_changes_in_one_write_page_without_a_gap(client, auth):
    tasks = [create(client, auth, f"Done {n}", status="completed") for n in range(7)]
    cursor = feed(client, auth)["cursor"]
    client.post(f"{TASKS}/clear-completed", headers=auth)  # seven rows, one change
    answers, _ = sync(client, auth, since=cursor, limit=3)
    assert [len(a["deleted"]) for a in answers] == [3, 3, 1]
    assert sorted(i for a in answers for i in a["deleted"]) == [t["id"] for t in tasks]


def test_bulk_edits_in_pages_after_a_cursor(client, auth):
    tasks = [create(client, auth, f"T{n}") for n in range(5)]
    cursor = feed(client, auth)["cursor"]
    client.patch(TASKS, json={"ids": [t["id"] for t in tasks], "changes": {"priority": "high"}}, headers=auth)
    answers, _ = sync(client, auth, since=cursor, limit=2)
    assert sorted(task["id"] for a in answers for task in a["changes"]) == [t["id"] for t in tasks]


def test_a_copy_kept_by_the_feed_matches_the_list(client, auth):
    tasks = [create(client, auth, f"T{n}", tags=["a"]) for n in range(6)]
    answers, cursor = sync(client, auth, limit=4)
    copy = apply({}, answers)
    assert copy == server_list(client, auth)
    for step in range(3):
        client.patch(task_url(tasks[step]["id"]), json={"title": f"Edited {step}"}, headers=auth)
        trash(client, auth, tasks[step + 3]["id"])
        move(client, auth, tasks[5 - step]["id"], None)
        create(client, auth, f"Later {step}")
        answers, cursor = sync(client, auth, since=cursor, limit=2)
        copy = apply(copy, answers)
        assert copy == server_list(client, auth)


def test_the_feed_is_the_users_own(client, auth, other, task):
    cursor = feed(client, auth)["cursor"]
    theirs = create(client, other, "Bob's")
    trash(client, other, create(client, other, "Bob's trash")["id"])
    body = feed(client, auth, since=cursor)
    assert (body["changes"], body["deleted"]) == ([], [])
    assert ids(feed(client, other)["changes"]) == [theirs["id"]]


def test_another_users_cursor_is_422(client, auth, other, task):
    theirs = feed(client, other)["cursor"]
    body = assert_error(client.get(CHANGES, query_string={"since": theirs}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"since"}


@pytest.mark.parametrize("since", ["garbage", "", "x" * 5000])
def test_a_cursor_not_made_by_the_service_is_422(client, auth, since):
    body = assert_error(client.get(CHANGES, query_string={"since": since}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"since"}


def test_a_tampered_or_foreign_cursor_is_422(app, client, auth, task):
    cursor = feed(client, auth)["cursor"]
    with app.app_context():
        payload = URLSafeSerializer(app.config["SECRET_KEY"], salt=FEED_SALT).loads(cursor)
        list_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="taskapi.tasks.list-cursor").dumps(payload)
    other_key = URLSafeSerializer("another-secret-" + "x" * 32, salt=FEED_SALT).dumps({**payload, "seq": 0})
    for forged in (cursor[:-2], list_salt, other_key):
        body = assert_error(client.get(CHANGES, query_string={"since": forged}, headers=auth), 422,
                            "validation_error")
        assert set(body["errors"]["query"]) == {"since"}


def _cursor_issued(app, cursor, moment):
    """The same cursor as if it had been issued at `moment` (signed as the service signs)."""
    with app.app_context():
        serializer = URLSafeSerializer(app.config["SECRET_KEY"], salt=FEED_SALT)
        return serializer.dumps({**serializer.loads(cursor), "issued": int(moment.timestamp())})


def test_a_cursor_older_than_the_retention_is_410(app, client, auth, task):
    cursor = feed(client, auth)["cursor"]
    old = _cursor_issued(app, cursor, utcnow() - timedelta(days=30, minutes=1))
    body = assert_error(client.get(CHANGES, query_string={"since": old}, headers=auth), 410, "cursor_expired")
    assert "since" in body["message"]


def test_a_cursor_within_the_retention_is_answered(app, client, auth, task):
    cursor = feed(client, auth)["cursor"]
    recent = _cursor_issued(app, cursor, utcnow() - timedelta(days=29, hours=23))
    assert feed(client, auth, since=recent)["changes"] == []


def test_the_retention_follows_sync_retention_days(make_app, client, auth, task):
    cursor = feed(client, auth)["cursor"]
    app = make_app(SYNC_RETENTION_DAYS=2)
    aged = _cursor_issued(app, cursor, utcnow() - timedelta(days=3))
    assert_error(app.test_client().get(CHANGES, query_string={"since": aged}, headers=auth), 410, "cursor_expired")


def test_each_answer_issues_a_fresh_cursor(app, client, auth, task):
    cursor = feed(client, auth)["cursor"]
    time.sleep(1.1)
    with app.app_context():
        serializer = URLSafeSerializer(app.config["SECRET_KEY"], salt=FEED_SALT)
        fresh = feed(client, auth, since=cursor)["cursor"]
        assert serializer.loads(fresh)["issued"] > serializer.loads(cursor)["issued"]


@pytest.mark.parametrize("params, name", [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                                          ({"limit": "x"}, "limit")])
def test_bad_limit_is_422(client, auth, params, name):
    body = assert_error(client.get(CHANGES, query_string=params, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {name}


@pytest.mark.parametrize("limit", [1, 1000])
def test_limit_bounds_are_accepted(client, auth, limit):
    for n in range(2):
        create(client, auth, f"T{n}")
    body = feed(client, auth, limit=limit)
    assert (len(body["changes"]), body["has_more"]) == (min(limit, 2), limit < 2)


def test_the_feed_needs_an_access_token(client):
    assert_error(client.get(CHANGES), 401, "token_missing")


# A cursor signed with the service's key holds what the service wrote: anything else is refused all the same.
MADE = {"seq": 0, "id": None, "issued": int(time.time())}
IMPOSSIBLE = {
    "a sequence as text": {**MADE, "seq": "5"},
    "a sequence past the column": {**MADE, "seq": 2**63},
    "a negative sequence": {**MADE, "seq": -1},
    "an object as the sequence": {**MADE, "seq": {"$gt": 0}},
    "a null sequence": {**MADE, "seq": None},
    "no sequence": {"id": None, "issued": MADE["issued"]},
    "an id as text": {**MADE, "id": "1"},
    "an id past the column": {**MADE, "id": 2**31},
    "no id": {"seq": 0, "issued": MADE["issued"]},
    "issued past any date": {**MADE, "issued": 10**20},
    "issued as text": {**MADE, "issued": "2030-01-01"},
    "issued as a fraction": {**MADE, "issued": 1.5},
    "issued null": {**MADE, "issued": None},
}


def test_a_signed_cursor_as_the_service_makes_them_is_answered(app, client, user, auth, task):
    cursor = signed_cursor(app, FEED_SALT, user["user"]["id"], MADE)
    assert ids(feed(client, auth, since=cursor)["changes"]) == [task["id"]]


@pytest.mark.parametrize("kind", IMPOSSIBLE)
def test_a_signed_cursor_with_impossible_contents_is_422(app, client, user, auth, task, kind):
    cursor = signed_cursor(app, FEED_SALT, user["user"]["id"], IMPOSSIBLE[kind])
    response = client.get(CHANGES, query_string={"since": cursor}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert body["errors"] == {"query": {"since": body["errors"]["query"]["since"]}}
