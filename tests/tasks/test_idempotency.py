"""Idempotency-Key on POST /api/v1/tasks: one task per key and body for 24 hours, per user."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks.models import IdempotentCreate
from tests.helpers.api import assert_error
from tests.helpers.tasks import TASKS, key_count, task_count, task_url
from tests.test_maintenance import every_coin_heads, run_job


def post(client, auth, body, key):
    headers = {**auth, "Idempotency-Key": key}
    if isinstance(body, str):
        return client.post(TASKS, data=body, content_type="application/json", headers=headers)
    return client.post(TASKS, json=body, headers=headers)


def age_keys(app, hours, key=None):
    """Move stored keys (all, or one) `hours` into the past."""
    with app.app_context():
        statement = update(IdempotentCreate).values(created_at=utcnow() - timedelta(hours=hours))
        if key is not None:
            statement = statement.where(IdempotentCreate.key == key)
        db.session.execute(statement)
        db.session.commit()


def stored_keys(app):
    with app.app_context():
        return sorted(db.session.execute(select(IdempotentCreate.key)).scalars())


def test_same_key_and_body_replays_the_first_answer(app, client, auth):
    first = post(client, auth, {"title": "Pay rent", "priority": "high"}, "key-1")
    again = post(client, auth, {"title": "Pay rent", "priority": "high"}, "key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert task_count(app) == 1


def test_key_order_and_spacing_do_not_make_another_body(app, client, auth):
    first = post(client, auth, '{"title": "Pay rent", "priority": "high"}', "key-1")
    again = post(client, auth, '{"priority":"high","title":"Pay rent"}', "key-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert task_count(app) == 1


def test_replay_gives_the_first_answer_even_after_the_task_changed(client, auth):
    first = post(client, auth, {"title": "Pay rent"}, "key-1").get_json()
    client.patch(task_url(first["id"]), json={"title": "Paid"}, headers=auth)
    assert post(client, auth, {"title": "Pay rent"}, "key-1").get_json() == first


def test_same_key_with_another_body_is_409_and_nothing_created(app, client, auth):
    post(client, auth, {"title": "Pay rent"}, "key-1")
    assert_error(post(client, auth, {"title": "Pay bills"}, "key-1"), 409, "idempotency_conflict")
    assert task_count(app) == 1


def test_conflict_stays_after_the_first_answer_is_replayed(client, auth):
    post(client, auth, {"title": "Pay rent"}, "key-1")
    post(client, auth, {"title": "Pay rent"}, "key-1")
    assert_error(post(client, auth, {"title": "Pay rent", "priority": "low"}, "key-1"), 409, "idempotency_conflict")


def test_different_keys_create_different_tasks(app, client, auth):
    first = post(client, auth, {"title": "Pay rent"}, "key-1").get_json()
    second = post(client, auth, {"title": "Pay rent"}, "key-2").get_json()
    assert first["id"] != second["id"]
    assert task_count(app) == 2


def test_without_a_key_every_post_creates(app, client, auth):
    client.post(TASKS, json={"title": "Pay rent"}, headers=auth)
    client.post(TASKS, json={"title": "Pay rent"}, headers=auth)
    assert task_count(app) == 2


def test_keys_of_different_users_never_collide(app, client, auth, other):
    mine = post(client, auth, {"title": "Pay rent"}, "shared-key")
    theirs = post(client, other, {"title": "Pay rent"}, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert client.get(theirs.headers["Location"], headers=other).status_code == 200
    assert post(client, other, {"title": "Something else"}, "shared-key").status_code == 409
    assert task_count(app) == 2


def test_key_of_255_characters_is_accepted(client, auth):
    assert post(client, auth, {"title": "Pay rent"}, "k" * 255).status_code == 201


@pytest.mark.parametrize("key", ["k" * 256, "a\x00b"])
def test_bad_key_is_422_in_headers_and_nothing_stored(app, client, auth, key):
    body = assert_error(post(client, auth, {"title": "Pay rent"}, key), 422, "validation_error")
    assert set(body["errors"]) == {"headers"}
    assert list(body["errors"]["headers"]) == ["Idempotency-Key"]
    assert (task_count(app), key_count(app)) == (0, 0)


def test_invalid_body_with_a_key_stores_no_answer(app, client, auth):
    assert_error(post(client, auth, {"title": ""}, "key-1"), 422, "validation_error")
    assert key_count(app) == 0
    assert post(client, auth, {"title": "Fixed"}, "key-1").status_code == 201


def test_key_older_than_24_hours_is_new_again(app, client, auth):
    first = post(client, auth, {"title": "Pay rent"}, "key-1").get_json()
    age_keys(app, 25)
    again = post(client, auth, {"title": "Pay rent"}, "key-1")
    assert again.status_code == 201
    assert again.get_json()["id"] != first["id"]
    assert task_count(app) == 2
    assert post(client, auth, {"title": "Pay rent"}, "key-1").get_json() == again.get_json()


def test_expired_key_with_another_body_is_not_a_conflict(app, client, auth):
    post(client, auth, {"title": "Pay rent"}, "key-1")
    age_keys(app, 25)
    assert post(client, auth, {"title": "Pay bills"}, "key-1").status_code == 201
    assert task_count(app) == 2


def test_key_younger_than_24_hours_still_replays(app, client, auth):
    first = post(client, auth, {"title": "Pay rent"}, "key-1").get_json()
    age_keys(app, 23)
    assert post(client, auth, {"title": "Pay rent"}, "key-1").get_json() == first
    assert task_count(app) == 1


def test_the_idempotency_keys_job_removes_only_expired_keys(app, client, auth):
    for key in ("old-1", "old-2", "fresh"):
        post(client, auth, {"title": key}, key)
    age_keys(app, 25, "old-1")
    age_keys(app, 25, "old-2")
    age_keys(app, 23, "fresh")
    assert run_job(app, "idempotency-keys") == "2 Idempotency-Key answer(s) older than 24 hours dropped"
    assert stored_keys(app) == ["fresh"]
    assert task_count(app) == 3


def test_flask_idempotency_keys_prune_with_nothing_expired_removes_nothing(app, client, auth, cli):
    post(client, auth, {"title": "Pay rent"}, "key-1")
    assert "Pruned 0 " in cli("idempotency-keys", "prune").output
    assert stored_keys(app) == ["key-1"]


def test_keyed_creates_never_prune(app, client, auth, monkeypatch):
    post(client, auth, {"title": "Old"}, "old")
    age_keys(app, 25, "old")
    every_coin_heads(monkeypatch)
    for n in range(30):
        assert post(client, auth, {"title": f"New {n}"}, f"new-{n}").status_code == 201
    assert "old" in stored_keys(app) and len(stored_keys(app)) == 31
