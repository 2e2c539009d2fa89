"""Migration 0011 upgrades a v2 database in place (an inbox per user, holding everything they had, feed cursors
still good) and downgrades again (every task back to its list's owner)."""

import json
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, Boolean, text

from taskapi.auth.passwords import hash_password
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.tasks import cursors, idempotency
from taskapi.tasks.models import declared_in_models
from tests.helpers.api import PASSWORD, bearer, register
from tests.helpers.schema import described
from tests.helpers.tasks import CHANGES, TASKS, TRASH, create, ids, page_of, signed_cursor, task_url, trash

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# The v2 change a feed cursor was taken at (Ada's task_seq then): later changes are new to it.
SEEN = 3
# What a v2 service stored, change by change: (owner, title, change_seq, state, tags). A purged task
# left only its tombstone; positions follow the order here, per user.
V2_TASKS = [
    ("ada", "Seen", 1, "live", ["home"]),
    ("ada", "Seen in the trash", 2, "trashed", []),
    ("ada", "Gone before", 3, "purged", []),
    ("ada", "Changed after", 4, "live", ["home", "work"]),
    ("ada", "Trashed after", 5, "trashed", ["work"]),
    ("ada", "Gone after", 6, "purged", []),
    ("bob", "Bob's", 1, "live", ["work"]),
    ("bob", "Bob's trashed", 2, "trashed", []),
    ("bob", "Bob's gone", 3, "purged", []),
]
V2_SEQ = {"ada": 6, "bob": 3}
V2_COUNT = {"ada": 4, "bob": 2}  # live and trashed tasks
V2_ANSWER = {"id": 1, "title": "Seen", "description": None, "status": "pending", "priority": "medium",
             "due_at": None, "completed_at": None, "created_at": "2026-11-01T00:00:00+00:00",
             "updated_at": "2026-11-01T00:00:00+00:00", "version": 1, "tags": ["home"], "position": "a0"}


def _v2_data(connection):
    """V2_TASKS written as v2 wrote them (tasks, task_tags, tombstones, the users' sequence and count) and an
    idempotent create's answer; returns ({name: user id}, {title: task id})."""
    users = {name: connection.execute(text(
        "INSERT INTO users (email, name, password_hash, created_at, token_generation, task_seq, task_count) "
        "VALUES (:email, :name, :hash, :when, 0, :seq, :count) RETURNING id"),
        {"email": f"{name}@example.com", "name": name.title(), "hash": hash_password(PASSWORD), "when": T0,
         "seq": V2_SEQ[name], "count": V2_COUNT[name]}).scalar_one() for name in ("ada", "bob")}
    task_ids = {}
    for index, (owner, title, seq, state, tags) in enumerate(V2_TASKS):
        when = T0 + timedelta(minutes=index)
        task_ids[title] = connection.execute(text(
            "INSERT INTO tasks (user_id, title, description, status, priority, due_at, completed_at, created_at, "
            "updated_at, version, tags, position, deleted_at, change_seq) VALUES (:user, :title, NULL, 'pending', "
            "'high', NULL, NULL, :when, :when, 2, :tags, :position, :deleted, :seq) RETURNING id"),
            {"user": users[owner], "title": title, "when": when, "tags": json.dumps(tags), "position": f"a{index}",
             "deleted": None if state == "live" else when, "seq": seq}).scalar_one()
        for tag in tags:
            connection.execute(text("INSERT INTO task_tags (task_id, tag, user_id) VALUES (:task, :tag, :user)"),
                               {"task": task_ids[title], "tag": tag, "user": users[owner]})
        if state == "purged":  # as v2's purge did: the row goes, a tombstone keeps its change
            connection.execute(text("DELETE FROM task_tags WHERE task_id = :task"), {"task": task_ids[title]})
            connection.execute(text("DELETE FROM tasks WHERE id = :task"), {"task": task_ids[title]})
            connection.execute(text(
                "INSERT INTO task_tombstones (task_id, user_id, change_seq, deleted_at) VALUES (:task, :user, :seq, "
                ":when)"), {"task": task_ids[title], "user": users[owner], "seq": seq, "when": when})
    connection.execute(text(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, status_code, response_body, response_headers, "
        "created_at) VALUES (:user, 'key-1', :fingerprint, 201, :answer, :headers, :when)"),
        {"user": users["ada"], "fingerprint": idempotency.fingerprint({"title": "Seen"}),
         "answer": json.dumps(V2_ANSWER), "headers": json.dumps({"ETag": '"1.1"', "Location": "/api/v1/tasks/1"}),
         "when": utcnow()})
    return users, task_ids


def _select(connection, sql, **types):
    return [dict(row) for row in connection.execute(text(sql).columns(**types)).mappings()]


def _login(client, name):
    response = client.post("/api/v1/auth/login", json={"email": f"{name}@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"])


def test_a_v2_database_upgrades_into_one_inbox_per_user_with_everything_in_it(blank_app):
    with blank_app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as connection:
            users, task_ids = _v2_data(connection)
            tasks = _select(connection, "SELECT * FROM tasks ORDER BY id", tags=JSON)
            tags = _select(connection, "SELECT task_id, tag, user_id FROM task_tags ORDER BY task_id, tag")
            tombstones = _select(connection, "SELECT * FROM task_tombstones ORDER BY task_id")
            keys = _select(connection, "SELECT * FROM idempotency_keys")
        upgrade()
        with db.engine.connect() as connection:
            lists = _select(connection, "SELECT id, owner_id, name, inbox, version, task_seq, task_count FROM lists "
                                        "ORDER BY id", inbox=Boolean)
            members = _select(connection, "SELECT list_id, user_id, role FROM list_members ORDER BY list_id")
            tasks_after = _select(connection, "SELECT * FROM tasks ORDER BY id", tags=JSON)
            tags_after = _select(connection, "SELECT task_id, tag FROM task_tags ORDER BY task_id, tag")
            tombstones_after = _select(connection, "SELECT * FROM task_tombstones ORDER BY task_id")
            keys_after = _select(connection, "SELECT * FROM idempotency_keys")
    inbox = {row["owner_id"]: row["id"] for row in lists}
    assert lists == [{"id": inbox[user_id], "owner_id": user_id, "name": "Inbox", "inbox": True, "version": 1,
                      "task_seq": V2_SEQ[name], "task_count": V2_COUNT[name]} for name, user_id in users.items()]
    assert members == [{"list_id": inbox[user_id], "user_id": user_id, "role": "owner"} for user_id in users.values()]
    # Every row kept, live and trashed, with its position, tags, version and change; user_id becomes its inbox.
    assert tasks_after == [{**{k: v for k, v in row.items() if k != "user_id"}, "list_id": inbox[row["user_id"]],
                            "assignee_id": None, "created_by": row["user_id"]} for row in tasks]
    assert len(tasks_after) == 6
    assert tags_after == [{"task_id": row["task_id"], "tag": row["tag"]} for row in tags]
    assert {(row["task_id"], row["tag"]) for row in tags_after} == {
        (task_ids[title], tag) for _, title, _, state, tags in V2_TASKS if state != "purged" for tag in tags}
    assert tombstones_after == [{"list_id": inbox[row["user_id"]], "change_seq": row["change_seq"],
                                 "task_id": row["task_id"], "deleted_at": row["deleted_at"]} for row in tombstones]
    assert [row["task_id"] for row in tombstones_after] == [task_ids[t] for t in ("Gone before", "Gone after",
                                                                                  "Bob's gone")]
    assert keys_after == keys

    # The service reads it so: the manual order, the trash, the tags, the inbox, a replayed create.
    client = blank_app.test_client()
    auth = _login(client, "ada")
    assert ids(page_of(client, auth, sort="position")["items"]) == [task_ids["Seen"], task_ids["Changed after"]]
    assert ids(page_of(client, auth, TRASH)["items"]) == [task_ids["Trashed after"], task_ids["Seen in the trash"]]
    tags_counted = page_of(client, auth, "/api/v1/tags")["items"]
    assert tags_counted == [{"name": "home", "count": 2}, {"name": "work", "count": 1}]
    listed = page_of(client, auth, "/api/v1/lists")
    assert [(item["id"], item["inbox"], item["role"], item["task_count"]) for item in listed["items"]] == [
        (inbox[users["ada"]], True, "owner", 2)]
    replay = client.post(TASKS, json={"title": "Seen"}, headers={**auth, "Idempotency-Key": "key-1"})
    assert (replay.status_code, replay.get_json(), replay.headers["ETag"]) == (201, V2_ANSWER, '"1.1"')
    assert page_of(client, auth)["total"] == 2


def test_a_feed_cursor_of_v2_reads_on_after_the_upgrade(blank_app):
    """A client syncing across the upgrade misses nothing and is not sent back to a full sync."""
    with blank_app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as connection:
            users, task_ids = _v2_data(connection)
        issued = int(utcnow().timestamp())
        # v2's payload: one sequence per user, answered up to SEEN (Bob: up to his last change).
        ada_cursor = signed_cursor(blank_app, cursors.FEED_SALT, users["ada"], {"seq": SEEN, "id": None,
                                                                                 "issued": issued})
        bob_cursor = signed_cursor(blank_app, cursors.FEED_SALT, users["bob"], {"seq": V2_SEQ["bob"], "id": None,
                                                                                 "issued": issued})
        upgrade()
    client = blank_app.test_client()
    auth = _login(client, "ada")
    inbox = page_of(client, auth, "/api/v1/lists")["items"][0]

    answer = page_of(client, auth, CHANGES, since=ada_cursor)
    assert ids(answer["changes"]) == [task_ids["Changed after"]]  # not "Seen": this is no full sync
    assert answer["changes"][0] == page_of(client, auth, task_url(task_ids["Changed after"]))
    assert answer["changes"][0]["tags"] == ["home", "work"]
    assert sorted(answer["deleted"]) == sorted([task_ids["Trashed after"], task_ids["Gone after"]])
    assert [(item["id"], item["inbox"]) for item in answer["lists"]] == [(inbox["id"], True)]
    assert (answer["deleted_lists"], answer["has_more"]) == ([], False)

    newest = create(client, auth, "After the upgrade")
    again = page_of(client, auth, CHANGES, since=answer["cursor"])
    assert (again["changes"], again["deleted"], again["deleted_lists"]) == ([newest], [], [])

    bob = page_of(client, _login(client, "bob"), CHANGES, since=bob_cursor)
    assert (bob["changes"], bob["deleted"], bob["has_more"]) == ([], [], False)


def _v3_data(app, client):
    """Ada: her inbox and a list "Work" (a task moved in from the inbox, one trashed, one deleted for good);
    Bob: his inbox and a list "Shared" Ada is an editor of, with a task she made there and one she handed
    over from Work that Bob deleted for good. Returns ({name: user id}, {name: list id}, {title: task id})."""
    pairs = {"ada": register(client), "bob": register(client, email="bob@example.com", name="Bob")}
    auth = {name: bearer(pair["access_token"]) for name, pair in pairs.items()}
    lists = {name: page_of(client, auth[name], "/api/v1/lists")["items"][0]["id"] for name in auth}
    for name, owner in (("Work", "ada"), ("Shared", "bob")):
        response = client.post("/api/v1/lists", json={"name": name}, headers=auth[owner])
        assert response.status_code == 201, response.get_json()
        lists[name] = response.get_json()["id"]
    with app.app_context(), db.engine.begin() as connection:  # as an accepted invitation leaves it
        connection.execute(text("INSERT INTO list_members (list_id, user_id, role, joined_at) "
                                "VALUES (:list, :user, 'editor', :now)"),
                           {"list": lists["Shared"], "user": pairs["ada"]["user"]["id"], "now": utcnow()})
    titles = {}
    for title, list_name, tags in (("Inbox 1", "ada", []), ("Inbox 2", "ada", ["t"]), ("Moved", "ada", []),
                                   ("Work 1", "Work", ["t", "u"]), ("Work 2", "Work", []), ("Purged", "Work", []),
                                   ("Shared 1", "Shared", ["t"])):
        titles[title] = create(client, auth["ada"], title, list_id=lists[list_name], tags=tags)["id"]
    titles["Bob's"] = create(client, auth["bob"], "Bob's")["id"]
    response = client.patch(task_url(titles["Moved"]), json={"list_id": lists["Work"]}, headers=auth["ada"])
    assert response.status_code == 200, response.get_json()  # first in Work; a tombstone left in the inbox
    trash(client, auth["ada"], titles["Purged"])
    response = client.delete(TRASH, query_string={"list_id": lists["Work"]}, headers=auth["ada"])
    assert response.status_code == 204, response.get_json()
    trash(client, auth["ada"], titles["Work 2"])
    # Handed over to Bob's list, and deleted for good there: a tombstone in each list, Work's numbered higher.
    titles["Handed over"] = create(client, auth["ada"], "Handed over", list_id=lists["Work"])["id"]
    response = client.patch(task_url(titles["Handed over"]), json={"list_id": lists["Shared"]}, headers=auth["ada"])
    assert response.status_code == 200, response.get_json()
    trash(client, auth["bob"], titles["Handed over"])
    response = client.delete(TRASH, query_string={"list_id": lists["Shared"]}, headers=auth["bob"])
    assert response.status_code == 204, response.get_json()
    return {name: pair["user"]["id"] for name, pair in pairs.items()}, lists, titles


def test_the_downgrade_gives_every_task_to_its_lists_owner_and_upgrading_again_round_trips(blank_app):
    with blank_app.app_context():
        upgrade(revision="0010")
        with db.engine.connect() as connection:
            v2_schema = described(connection)
        upgrade()
    client = blank_app.test_client()
    users, lists, titles = _v3_data(blank_app, client)
    with blank_app.app_context():
        with db.engine.connect() as connection:
            v3_tasks = {row["id"]: row for row in _select(connection, "SELECT * FROM tasks", tags=JSON)}
            list_seqs = dict(connection.execute(text("SELECT id, task_seq FROM lists")).all())
            v3_tombstones = {}
            for task_id, list_id, seq in connection.execute(text(
                    "SELECT task_id, list_id, change_seq FROM task_tombstones ORDER BY deleted_at")):
                v3_tombstones.setdefault(task_id, []).append((list_id, seq))
        downgrade(revision="0010")
        with db.engine.connect() as connection:
            schema = described(connection)
            tasks = _select(connection, "SELECT * FROM tasks ORDER BY user_id, position", tags=JSON)
            tags = _select(connection, "SELECT task_id, tag, user_id FROM task_tags ORDER BY task_id, tag")
            tombstones = _select(connection, "SELECT task_id, user_id FROM task_tombstones ORDER BY task_id")
            v2_users = {row["id"]: row for row in _select(connection, "SELECT id, task_seq, task_count FROM users")}
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": declared_in_models})
            diff = compare_metadata(context, db.metadata)
            lists_again = _select(connection, "SELECT id, owner_id, inbox, task_seq, task_count FROM lists "
                                              "ORDER BY id", inbox=Boolean)
            tasks_again = _select(connection, "SELECT tasks.*, lists.owner_id AS user_id FROM tasks JOIN lists "
                                              "ON lists.id = tasks.list_id ORDER BY lists.owner_id, tasks.position",
                                  tags=JSON)
            tombstones_again = _select(connection, "SELECT task_id, list_id FROM task_tombstones ORDER BY task_id")

    assert schema == v2_schema
    # Each user's tasks, every list they own in one order (the inbox first), with keys of their own.
    ada, bob = users["ada"], users["bob"]
    by_user = [(row["user_id"], row["id"]) for row in tasks]
    assert by_user == [(ada, titles[t]) for t in ("Inbox 2", "Inbox 1", "Moved", "Work 2", "Work 1")] + [
        (bob, titles[t]) for t in ("Bob's", "Shared 1")]
    for user_id in (ada, bob):
        positions = [row["position"] for row in tasks if row["user_id"] == user_id]
        assert positions == sorted(set(positions))
    # Renumbered, each task is rewritten: version + 1, one new change above every list's sequence.
    head = {ada: max(list_seqs[lists["ada"]], list_seqs[lists["Work"]]) + 1,
            bob: max(list_seqs[lists["bob"]], list_seqs[lists["Shared"]]) + 1}
    assert {row["id"]: (row["version"], row["change_seq"]) for row in tasks} == {
        row["id"]: (v3_tasks[row["id"]]["version"] + 1, head[row["user_id"]]) for row in tasks}
    assert [(row["title"], row["tags"], row["deleted_at"] is None) for row in tasks] == [
        (v3_tasks[row["id"]]["title"], v3_tasks[row["id"]]["tags"], v3_tasks[row["id"]]["deleted_at"] is None)
        for row in tasks]
    assert {user_id: (row["task_seq"], row["task_count"]) for user_id, row in v2_users.items()} == {
        ada: (head[ada], 5), bob: (head[bob], 2)}
    assert tags == [{"task_id": titles[title], "tag": tag, "user_id": owner} for title, tag, owner in (
        ("Inbox 2", "t", ada), ("Work 1", "t", ada), ("Work 1", "u", ada), ("Shared 1", "t", bob))]
    # Tasks deleted for good keep a tombstone, of the owner of the list they were last in; the moved one (still
    # there) none, as in v2.
    assert tombstones == [{"task_id": titles["Purged"], "user_id": ada}, {"task_id": titles["Handed over"],
                                                                          "user_id": bob}]
    (left, left_seq), (gone, gone_seq) = v3_tombstones[titles["Handed over"]]
    assert (left, gone) == (lists["Work"], lists["Shared"]) and left_seq > gone_seq  # the sequences mislead

    # Upgraded again: one inbox each, holding the tasks as the downgrade left them.
    assert diff == []
    inbox = {row["owner_id"]: row["id"] for row in lists_again}
    assert lists_again == [{"id": inbox[user_id], "owner_id": user_id, "inbox": True, "task_seq": head[user_id],
                            "task_count": v2_users[user_id]["task_count"]} for user_id in (ada, bob)]
    assert tasks_again == [{**row, "list_id": inbox[row["user_id"]], "assignee_id": None,
                            "created_by": row["user_id"]} for row in tasks]
    assert tombstones_again == [{"task_id": row["task_id"], "list_id": inbox[row["user_id"]]} for row in tombstones]
    auth = _login(client, "ada")
    assert ids(page_of(client, auth, sort="position")["items"]) == [
        titles[t] for t in ("Inbox 2", "Inbox 1", "Moved", "Work 1")]
    assert create(client, auth, "Later")["id"] > max(v3_tasks)  # ids are never handed out again
