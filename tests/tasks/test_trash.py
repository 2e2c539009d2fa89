"""The trash: its list, restore, emptying, clear-completed, and the trash job's purge after TRASH_DAYS."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks.models import Task, TaskTombstone
from tests.helpers.api import assert_error
from tests.helpers.tasks import (
    TASK_FIELDS,
    TASKS,
    TRASH,
    create,
    ids,
    page_of,
    parse_time,
    read,
    stored,
    stored_tasks,
    tag_rows,
    task_url,
    tombstones,
    trash,
)
from tests.test_maintenance import every_coin_heads, run_job


def restore(client, auth, task_id):
    return client.post(task_url(task_id, "/restore"), headers=auth)


@pytest.fixture
def trashed(client, auth):
    """Three tasks trashed one after another (oldest deletion first), and one live."""
    tasks = [create(client, auth, f"Trashed {n}", tags=["old"]) for n in range(3)]
    for task in tasks:
        trash(client, auth, task["id"])
    create(client, auth, "Live")
    return tasks


def test_trash_lists_trashed_tasks_latest_deletion_first(client, auth, trashed):
    page = page_of(client, auth, TRASH)
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (3, 20, 0)
    assert ids(page["items"]) == [t["id"] for t in reversed(trashed)]
    for item, task in zip(page["items"], reversed(trashed), strict=True):
        assert set(item) == TASK_FIELDS | {"deleted_at"}
        assert {k: item[k] for k in TASK_FIELDS} == task  # as it was, the version too
        assert parse_time(item["deleted_at"]) >= parse_time(task["updated_at"])


def test_trash_pages_by_limit_and_offset(client, auth, trashed):
    pages = [page_of(client, auth, TRASH, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [ids(p["items"]) for p in pages] == [[trashed[2]["id"], trashed[1]["id"]], [trashed[0]["id"]], []]
    assert [p["total"] for p in pages] == [3, 3, 3]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_bad_trash_paging_is_422(client, auth, params):
    body = assert_error(client.get(TRASH, query_string=params, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == set(params)


def test_trashed_tasks_leave_the_list_and_its_total(client, auth, trashed):
    page = page_of(client, auth)
    assert [item["title"] for item in page["items"]] == ["Live"] and page["total"] == 1


def test_an_empty_trash(client, auth):
    assert page_of(client, auth, TRASH) == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_the_trash_is_the_users_own(client, auth, other, trashed):
    assert page_of(client, other, TRASH)["total"] == 0


# Every live route, with a body each accepts: a trashed task is 404 there and stays as it is.
LIVE_ROUTES = [
    ("GET", "", None),
    ("PATCH", "", {"title": "Back?"}),
    ("PUT", "", {"title": "Back?"}),
    ("PATCH", "/toggle", None),
    ("POST", "/move", {"after": None}),
    ("DELETE", "", None),
]


@pytest.mark.parametrize("method, suffix, body", LIVE_ROUTES, ids=[f"{m} {s}" for m, s, _ in LIVE_ROUTES])
def test_a_trashed_task_is_404_on_every_live_route_and_unchanged(app, client, auth, trashed, method, suffix, body):
    before = stored_tasks(app)
    response = client.open(task_url(trashed[0]["id"], suffix), method=method, json=body, headers=auth)
    assert_error(response, 404, "not_found")
    assert stored_tasks(app) == before


def test_a_trashed_task_is_not_in_bulk_edits(app, client, auth, trashed):
    before = stored_tasks(app)
    response = client.patch(TASKS, json={"ids": [trashed[0]["id"]], "changes": {"title": "x"}}, headers=auth)
    assert_error(response, 404, "not_found")
    assert stored_tasks(app) == before


def test_restore_brings_the_task_back_as_it_was_with_version_plus_one(app, client, auth, trashed):
    task = trashed[1]
    before = stored(app, task["id"])
    response = restore(client, auth, task["id"])
    assert response.status_code == 200
    body = response.get_json()
    assert body == {**task, "version": task["version"] + 1}
    assert response.headers["ETag"] == read(client, auth, task["id"]).headers["ETag"]
    assert read(client, auth, task["id"]).get_json() == body
    row = stored(app, task["id"])
    assert row["deleted_at"] is None and row["change_seq"] > before["change_seq"]
    assert [row[1] for row in tag_rows(app, task["id"])] == body["tags"] == ["old"]
    assert ids(page_of(client, auth, TRASH)["items"]) == [trashed[2]["id"], trashed[0]["id"]]


def test_a_restored_task_counts_its_tags_again(client, auth, trashed):
    restore(client, auth, trashed[0]["id"])
    assert page_of(client, auth, "/api/v1/tags")["items"] == [{"name": "old", "count": 1}]


def test_restore_of_a_task_not_in_the_trash_is_404_and_changes_nothing(app, client, auth, other, trashed):
    live = page_of(client, auth)["items"][0]
    theirs = create(client, other, "Bob's")
    trash(client, other, theirs["id"])
    before = stored_tasks(app)
    for task_id in (live["id"], theirs["id"], theirs["id"] + 1000, 2**31, 0):
        assert_error(restore(client, auth, task_id), 404, "not_found")
    assert stored_tasks(app) == before


def test_restore_needs_an_access_token(app, client, trashed):
    before = stored_tasks(app)
    assert_error(client.post(task_url(trashed[0]["id"], "/restore")), 401, "token_missing")
    assert stored_tasks(app) == before


def test_emptying_the_trash_deletes_its_tasks_for_good_and_leaves_tombstones(app, client, auth, other, trashed):
    theirs = create(client, other, "Bob's")
    trash(client, other, theirs["id"])
    before = stored_tasks(app)
    response = client.delete(TRASH, headers=auth)
    assert response.status_code == 204 and response.data == b""
    after = stored_tasks(app)
    assert set(after) == set(before) - {t["id"] for t in trashed}
    assert tombstones(app) == {t["id"]: before[t["id"]]["change_seq"] for t in trashed}
    assert all(row[0] not in {t["id"] for t in trashed} for row in tag_rows(app))
    assert page_of(client, auth, TRASH)["total"] == 0
    assert page_of(client, other, TRASH)["total"] == 1
    assert [item["title"] for item in page_of(client, auth)["items"]] == ["Live"]
    assert_error(restore(client, auth, trashed[0]["id"]), 404, "not_found")


def test_emptying_an_empty_trash_is_204(app, client, auth, task):
    before = stored_tasks(app)
    assert client.delete(TRASH, headers=auth).status_code == 204
    assert stored_tasks(app) == before and tombstones(app) == {}


def test_clear_completed_trashes_every_completed_live_task(app, client, auth, other):
    done = [create(client, auth, f"Done {n}", status="completed") for n in range(3)]
    open_ = [create(client, auth, "Open"), create(client, auth, "Going", status="in_progress")]
    theirs = create(client, other, "Bob's done", status="completed")
    trash(client, auth, done[0]["id"])
    before = stored_tasks(app)
    response = client.post(f"{TASKS}/clear-completed", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"deleted": 2}
    after = stored_tasks(app)
    assert {task_id for task_id, row in after.items() if row["deleted_at"] is not None} == {t["id"] for t in done}
    seqs = {after[t["id"]]["change_seq"] for t in done[1:]}
    assert len(seqs) == 1 and seqs.pop() > max(row["change_seq"] for row in before.values())
    for task in done[1:]:
        assert after[task["id"]]["version"] == before[task["id"]]["version"]
    for task in (*open_, theirs, done[0]):
        assert after[task["id"]] == before[task["id"]]
    assert client.post(f"{TASKS}/clear-completed", headers=auth).get_json() == {"deleted": 0}


def _age_trash(app, days, *task_ids):
    with app.app_context():
        db.session.execute(update(Task).where(Task.id.in_(task_ids)).values(deleted_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def _age_tombstones(app, days):
    with app.app_context():
        db.session.execute(update(TaskTombstone).values(deleted_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def test_the_trash_job_deletes_what_was_trashed_over_trash_days_ago(app, client, auth, other, trashed):
    theirs = create(client, other, "Bob's")
    trash(client, other, theirs["id"])
    _age_trash(app, 31, trashed[0]["id"], theirs["id"])
    _age_trash(app, 29, trashed[1]["id"])
    before = stored_tasks(app)
    assert run_job(app, "trash").startswith("2 task(s) deleted from the trash for good")
    assert set(stored_tasks(app)) == set(before) - {trashed[0]["id"], theirs["id"]}
    assert tombstones(app) == {task_id: before[task_id]["change_seq"] for task_id in (trashed[0]["id"], theirs["id"])}
    assert ids(page_of(client, auth, TRASH)["items"]) == [trashed[2]["id"], trashed[1]["id"]]


def test_the_trash_job_follows_trash_days(make_app, client, auth, trashed):
    _age_trash(client.application, 3, trashed[0]["id"])
    app = make_app(TRASH_DAYS=2)
    run_job(app, "trash")
    assert trashed[0]["id"] in tombstones(app)


def test_the_trash_job_drops_tombstones_older_than_the_feed_keeps(app, client, auth, trashed):
    client.delete(TRASH, headers=auth)
    _age_tombstones(app, 40)
    trash(client, auth, create(client, auth, "Fresh")["id"])
    client.delete(TRASH, headers=auth)
    assert run_job(app, "trash").endswith(", 3 feed tombstone(s) dropped")
    assert len(tombstones(app)) == 1


def test_flask_tasks_purge_with_nothing_to_do(app, client, auth, cli, trashed):
    before = stored_tasks(app)
    assert "Purged 0 task(s) from the trash and 0 tombstone(s)" in cli("tasks", "purge").output
    assert stored_tasks(app) == before


def test_deletes_never_purge(app, client, auth, trashed, monkeypatch):
    client.delete(TRASH, headers=auth)  # the three trashed tasks become tombstones
    _age_tombstones(app, 40)
    old = create(client, auth, "Old")
    trash(client, auth, old["id"])
    _age_trash(app, 31, old["id"])
    every_coin_heads(monkeypatch)
    for n in range(30):
        trash(client, auth, create(client, auth, f"Now {n}")["id"])
    assert old["id"] in stored_tasks(app) and old["id"] not in tombstones(app)
    assert len(tombstones(app)) == 3


def test_a_task_purged_meanwhile_cannot_be_restored(app, client, auth, cli, trashed):
    _age_trash(app, 31, trashed[0]["id"])
    cli("tasks", "purge")
    assert_error(restore(client, auth, trashed[0]["id"]), 404, "not_found")


def test_trash_routes_need_an_access_token(app, client, trashed):
    before = stored_tasks(app)
    assert_error(client.get(TRASH), 401, "token_missing")
    assert_error(client.delete(TRASH), 401, "token_missing")
    assert_error(client.post(f"{TASKS}/clear-completed"), 401, "token_missing")
    assert stored_tasks(app) == before
