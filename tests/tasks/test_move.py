"""Manual order: new tasks first, POST /api/v1/tasks/{id}/move, sort=position, and the rare rebalance."""

from contextlib import contextmanager

import pytest
from sqlalchemy import update

from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.api import assert_error
from tests.helpers.database import listening
from tests.helpers.tasks import (
    CHANGES,
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


def test_a_restore_whose_key_was_given_again_comes_back_right_after_the_task_on_it(app, client, auth, four):
    a, b, c, d = four  # D, C, B, A
    trash(client, auth, c["id"])
    moved = move(client, auth, a["id"], d["id"]).get_json()  # into the gap C left: the trash has no say
    assert moved["position"] == stored(app, c["id"])["position"]
    restored = client.post(task_url(c["id"], "/restore"), headers=auth)
    assert restored.status_code == 200
    assert restored.get_json()["version"] == c["version"] + 1
    assert manual_order(client, auth) == [d["id"], a["id"], c["id"], b["id"]]
    assert restored.get_json() == read(client, auth, c["id"]).get_json()
    assert len({stored(app, task["id"])["position"] for task in four}) == 4


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
    """Put two neighbouring tasks on 64-character positions (from the first's key): no key fits between them
    within 64."""
    with app.app_context():
        prefix = db.session.get(Task, first).position
        for task_id, position in ((first, prefix + "1" * (64 - len(prefix))),
                                  (second, prefix + "1" * (63 - len(prefix)) + "2")):
            db.session.execute(update(Task).where(Task.id == task_id).values(position=position))
        db.session.commit()


def _rewritten(before, after, moved_id):
    """Ids of the tasks other than the one moved whose row a move changed."""
    return {task_id for task_id in after if task_id != moved_id and after[task_id] != before[task_id]}


def _assert_renumbered(before, after, moved_id, mine, trashed):
    """A crowded move: every task rewritten got a new position, version + 1 and the move's change, and
    nothing else; the trash and other users' tasks were not touched; positions stay unique and short."""
    seq = after[moved_id]["change_seq"]
    for task_id in _rewritten(before, after, moved_id):
        old, new = before[task_id], after[task_id]
        assert new["version"] == old["version"] + 1 and new["change_seq"] == seq
        assert new["position"] != old["position"]
        assert {k: v for k, v in new.items() if k not in ("position", "version", "change_seq")} == {
            k: v for k, v in old.items() if k not in ("position", "version", "change_seq")}
    assert not _rewritten(before, after, moved_id) & (set(trashed) | (set(after) - set(mine)))
    live = [after[task_id]["position"] for task_id in mine if task_id not in trashed]
    assert len(set(live)) == len(live) and max(map(len, live)) <= 64


# A crowded move rewrites at most this many other rows, however many tasks the user has.
FEW = 6


@pytest.fixture
def forty(client, auth):
    """Forty tasks T0…T39: the manual order is T39 … T0."""
    return [create(client, auth, f"T{n}") for n in range(40)]


def test_moving_two_tasks_in_turn_after_one_renumbers_only_a_few_neighbours_not_the_trash(
        app, client, auth, other, forty):
    theirs = create(client, other, "Bob's")
    anchor, pair = forty[20], (forty[30], forty[10])
    trashed = [forty[21], forty[19], forty[5]]  # right before and after the anchor, and far away
    for task in trashed:
        trash(client, auth, task["id"])
    mine = [task["id"] for task in forty]
    for step in range(2000):  # the penetration test's pattern: the key grows until it would pass 64
        task = pair[step % 2]
        before = stored_tasks(app)
        assert move(client, auth, task["id"], anchor["id"]).status_code == 200
        after = stored_tasks(app)
        if _rewritten(before, after, task["id"]):
            break
    else:
        raise AssertionError("no move ever rewrote another task")
    assert 0 < len(_rewritten(before, after, task["id"])) <= FEW
    _assert_renumbered(before, after, task["id"], mine, [t["id"] for t in trashed])
    assert after[theirs["id"]] == before[theirs["id"]]
    expected = [t["id"] for t in reversed(forty) if t not in trashed and t not in pair]
    at = expected.index(anchor["id"]) + 1
    expected[at:at] = [task["id"], pair[(step + 1) % 2]["id"]]  # the last one moved is next to the anchor
    assert manual_order(client, auth) == expected


def test_a_crowded_gap_renumbers_a_window_around_it_and_the_feed_shows_each_rewritten_task(
        app, client, auth, forty):
    first, second, moved = forty[20], forty[19], forty[0]  # T20, T19 neighbours; T0 last
    _crowd(app, first["id"], second["id"])
    cursor = page_of(client, auth, CHANGES, limit=1000)["cursor"]
    before = stored_tasks(app)
    answer = move(client, auth, moved["id"], first["id"])
    assert answer.status_code == 200, answer.get_json()
    after = stored_tasks(app)
    rewritten = _rewritten(before, after, moved["id"])
    assert 0 < len(rewritten) <= FEW
    _assert_renumbered(before, after, moved["id"], [t["id"] for t in forty], [])
    order = manual_order(client, auth)
    assert order[order.index(first["id"]) + 1:order.index(first["id"]) + 3] == [moved["id"], second["id"]]
    assert sorted(order, key=lambda task_id: after[task_id]["position"].encode()) == order
    feed = page_of(client, auth, CHANGES, since=cursor)
    assert {task["id"]: (task["position"], task["version"]) for task in feed["changes"]} == {
        task_id: (after[task_id]["position"], after[task_id]["version"]) for task_id in rewritten | {moved["id"]}}
    assert (answer.get_json()["position"], answer.get_json()["version"]) == (
        after[moved["id"]]["position"], after[moved["id"]]["version"])


@contextmanager
def task_rows_written(app):
    """How many task rows the UPDATEs of tasks sent while the block runs changed (by the driver's rowcount,
    an executemany's summed), and how many statements were sent in all."""
    counts = {"rows": 0, "statements": 0}

    def record(conn, cursor, statement, parameters, context, executemany):
        counts["statements"] += 1
        if statement.lstrip().upper().startswith("UPDATE TASKS"):
            counts["rows"] += cursor.rowcount

    with listening(app, "after_cursor_execute", record):
        yield counts


def test_a_crowded_move_writes_a_bounded_number_of_rows(app, client, auth, forty):
    first, second = forty[20], forty[19]
    _crowd(app, first["id"], second["id"])
    with task_rows_written(app) as counts:
        assert move(client, auth, forty[0]["id"], first["id"]).status_code == 200
    # Each rewritten row: once stepping aside, once on its new key; the moved task besides.
    assert counts["rows"] <= 2 * (FEW + 1) + 1 and counts["statements"] <= 16, counts


def test_after_a_rebalance_the_rewritten_tasks_answer_their_new_version(app, client, auth, four):
    a, b, c, d = four
    _crowd(app, c["id"], b["id"])
    move(client, auth, a["id"], c["id"])
    for task in four:
        row = stored(app, task["id"])
        body = read(client, auth, task["id"]).get_json()
        assert (body["position"], body["version"]) == (row["position"], row["version"])


def test_the_trash_has_no_say_in_the_order_a_move_gives(app, client, auth, four):
    a, b, c, d = four  # D, C, B, A
    _crowd(app, c["id"], b["id"])
    trash(client, auth, b["id"])  # the crowded neighbour is in the trash: the gap after C is wide open
    before = stored_tasks(app)
    assert move(client, auth, a["id"], c["id"]).status_code == 200
    after = stored_tasks(app)
    assert _rewritten(before, after, a["id"]) == set()
    assert manual_order(client, auth) == [d["id"], c["id"], a["id"]]


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
