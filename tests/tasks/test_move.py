"""Manual order: new tasks first, POST /api/v1/tasks/{id}/move, sort=position, and the rare rebalance."""

import pytest
from sqlalchemy import update

from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.api import assert_error
from tests.helpers.tasks import (
    TASKS,
    create,
    ids,
    move,
    page_of,
    parse_time,
    read,
    stored,
    stored_tasks,
    task_url,
    trash,
)


def manual_order(client, auth):
    return ids(page_of(client, auth, sort="position", limit=100)["items"])


@pytest.fixture
def four(client, auth):
    """Tasks A, B, C, D created in that order: the manual order is D, C, B, A."""
    return [create(client, auth, title) for title in "ABCD"]


def test_a_new_task_is_placed_first(client, auth, four):
    assert manual_order(client, auth) == [t["id"] for t in reversed(four)]


def test_positions_order_bytewise(client, auth, four):
    positions = [t["position"] for t in page_of(client, auth, sort="position")["items"]]
    assert positions == sorted(positions, key=lambda p: p.encode()) and len(set(positions)) == 4


def test_minus_position_reverses_the_manual_order(client, auth, four):
    assert ids(page_of(client, auth, sort="-position")["items"]) == manual_order(client, auth)[::-1]


def test_move_after_a_task(client, auth, four):
    a, b, c, d = four
    response = move(client, auth, d["id"], b["id"])
    assert response.status_code == 200
    assert manual_order(client, auth) == [c["id"], b["id"], d["id"], a["id"]]


def test_move_after_null_puts_it_first(client, auth, four):
    a, b, c, d = four
    assert move(client, auth, a["id"], None).status_code == 200
    assert manual_order(client, auth) == [a["id"], d["id"], c["id"], b["id"]]


def test_move_after_the_last_puts_it_last(client, auth, four):
    a, b, c, d = four
    assert move(client, auth, d["id"], a["id"]).status_code == 200
    assert manual_order(client, auth) == [c["id"], b["id"], a["id"], d["id"]]


def test_move_answers_the_task_with_its_etag(client, auth, four):
    response = move(client, auth, four[0]["id"], None)
    body = response.get_json()
    assert response.headers["ETag"] == read(client, auth, body["id"]).headers["ETag"]
    assert read(client, auth, body["id"]).get_json() == body


def test_a_move_changes_position_version_updated_at_and_change_seq_of_that_task_only(app, client, auth, four):
    a, b, c, d = four
    before = stored_tasks(app)
    body = move(client, auth, a["id"], d["id"]).get_json()
    after = stored_tasks(app)
    changed = {"position", "version", "updated_at", "change_seq"}
    assert {k for k in after[a["id"]] if after[a["id"]][k] != before[a["id"]][k]} == changed
    assert body["version"] == a["version"] + 1 and body["position"] != a["position"]
    assert parse_time(body["updated_at"]) > parse_time(a["updated_at"])
    assert {task_id: row for task_id, row in after.items() if task_id != a["id"]} == {
        task_id: row for task_id, row in before.items() if task_id != a["id"]}


def test_a_move_to_where_the_task_already_is_changes_nothing(app, client, auth, four):
    a, b, c, d = four  # the order is D, C, B, A
    before = stored_tasks(app)
    response = move(client, auth, a["id"], b["id"])
    assert response.status_code == 200
    assert response.get_json() == read(client, auth, a["id"]).get_json() == a
    assert stored_tasks(app) == before


def test_moving_between_the_same_two_tasks_again_and_again_keeps_the_order(client, auth, four):
    a, b, c, d = four
    for _ in range(3):
        for task in (a, d):
            assert move(client, auth, task["id"], c["id"]).status_code == 200
    assert manual_order(client, auth) == [c["id"], d["id"], a["id"], b["id"]]  # the last one moved is next to C


def test_a_new_task_after_moves_is_still_first(client, auth, four):
    move(client, auth, four[0]["id"], None)
    newest = create(client, auth, "E")
    assert manual_order(client, auth)[0] == newest["id"]


def test_trashed_tasks_keep_their_place_and_are_skipped(client, auth, four):
    a, b, c, d = four
    trash(client, auth, c["id"])
    assert move(client, auth, d["id"], b["id"]).status_code == 200  # the trashed C sits between them
    assert manual_order(client, auth) == [b["id"], d["id"], a["id"]]
    assert client.post(task_url(c["id"], "/restore"), headers=auth).status_code == 200
    assert manual_order(client, auth) == [c["id"], b["id"], d["id"], a["id"]]


def test_matching_if_match_is_200_and_stale_is_412_changing_nothing(app, client, auth, four):
    task = four[0]
    etag = read(client, auth, task["id"]).headers["ETag"]
    assert move(client, auth, task["id"], None, **{"If-Match": etag}).status_code == 200
    before = stored_tasks(app)
    assert_error(move(client, auth, task["id"], four[1]["id"], **{"If-Match": etag}), 412, "precondition_failed")
    assert stored_tasks(app) == before


@pytest.mark.parametrize("after", ["self", "missing", "theirs", "trashed", 0, -1, 2**31, 10**20])
def test_after_that_names_no_other_live_task_of_yours_is_422_and_nothing_changes(
        app, client, auth, other, four, after):
    theirs = create(client, other, "Bob's")
    trash(client, auth, four[2]["id"])
    after_id = {"self": four[0]["id"], "missing": theirs["id"] + 1000, "theirs": theirs["id"],
                "trashed": four[2]["id"]}.get(after, after)
    before = stored_tasks(app)
    body = assert_error(move(client, auth, four[0]["id"], after_id), 422, "validation_error")
    assert body["errors"] == {"json": {"after": [body["errors"]["json"]["after"][0]]}}
    assert stored_tasks(app) == before


@pytest.mark.parametrize("body", [{}, {"after": "1"}, {"after": 1.5}, {"after": True}, {"after": None, "x": 1},
                                  {"after": None, "position": "a0"}])
def test_bad_body_is_422_and_nothing_changes(app, client, auth, four, body):
    before = stored_tasks(app)
    response = client.post(task_url(four[0]["id"], "/move"), json=body, headers=auth)
    assert assert_error(response, 422, "validation_error")["errors"]["json"]
    assert stored_tasks(app) == before


def test_missing_body_is_400(client, auth, four):
    assert_error(client.post(task_url(four[0]["id"], "/move"), headers=auth), 400, "bad_request")


def test_moving_a_trashed_missing_or_foreign_task_is_404(app, client, auth, other, four):
    theirs = create(client, other, "Bob's")
    trash(client, auth, four[0]["id"])
    before = stored_tasks(app)
    for task_id in (four[0]["id"], theirs["id"], theirs["id"] + 1000):
        assert_error(move(client, auth, task_id, None), 404, "not_found")
    assert stored_tasks(app) == before


def _crowd(app, first, second):
    """Put two tasks next to each other on 64-character positions: no key fits between them within 64."""
    with app.app_context():
        for task_id, position in ((first, "a0" + "1" * 62), (second, "a0" + "1" * 61 + "2")):
            db.session.execute(update(Task).where(Task.id == task_id).values(position=position))
        db.session.commit()


def test_a_key_too_long_rewrites_the_users_positions_evenly(app, client, auth, other, four):
    a, b, c, d = four
    theirs = create(client, other, "Bob's")
    trash(client, auth, b["id"])
    _crowd(app, c["id"], b["id"])  # order: D, C, B (trashed), A
    before = stored_tasks(app)
    moved = move(client, auth, a["id"], c["id"])
    assert moved.status_code == 200, moved.get_json()
    after = stored_tasks(app)
    assert manual_order(client, auth) == [d["id"], c["id"], a["id"]]
    mine = [d["id"], c["id"], b["id"], a["id"]]
    assert all(len(after[task_id]["position"]) <= 64 for task_id in mine)
    assert len({after[task_id]["position"] for task_id in mine}) == 4
    assert sorted(mine, key=lambda task_id: after[task_id]["position"].encode()) == [d["id"], c["id"], a["id"],
                                                                                    b["id"]]
    seq = after[a["id"]]["change_seq"]
    for task_id in mine:  # each rewritten task: a new version and the move's change
        if after[task_id]["position"] != before[task_id]["position"]:
            assert after[task_id]["version"] == before[task_id]["version"] + 1
            assert after[task_id]["change_seq"] == seq
    assert after[c["id"]]["version"] == before[c["id"]]["version"] + 1
    assert after[b["id"]]["deleted_at"] is not None  # still in the trash
    assert after[theirs["id"]] == before[theirs["id"]]
    answer = moved.get_json()
    assert (answer["position"], answer["version"]) == (after[a["id"]]["position"], after[a["id"]]["version"])


def test_after_a_rebalance_the_rewritten_tasks_answer_their_new_version(app, client, auth, four):
    a, b, c, d = four
    _crowd(app, c["id"], b["id"])
    move(client, auth, a["id"], c["id"])
    for task in four:
        row = stored(app, task["id"])
        body = read(client, auth, task["id"]).get_json()
        assert (body["position"], body["version"]) == (row["position"], row["version"])


def test_sort_by_position_pages_by_offset(client, auth, four):
    order = manual_order(client, auth)
    pages = [ids(page_of(client, auth, sort="position", limit=3, offset=offset)["items"]) for offset in (0, 3)]
    assert pages[0] + pages[1] == order


def test_move_needs_an_access_token(app, client, four):
    before = stored_tasks(app)
    assert_error(client.post(task_url(four[0]["id"], "/move"), json={"after": None}), 401, "token_missing")
    assert stored_tasks(app) == before


def test_list_by_position_is_the_users_own(client, auth, other, four):
    create(client, other, "Bob's")
    assert sorted(manual_order(client, auth)) == sorted(t["id"] for t in four)
    assert page_of(client, auth, TASKS, sort="position")["total"] == 4
