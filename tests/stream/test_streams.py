"""Streams served from a thread (the test client): what they send, to whom, and when they end."""

import logging
import time

import pytest
import redis
from sqlalchemy import update

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.stream import fanout
from taskapi.stream import hub as hubs
from tests.helpers.lists import add_member, create_list, list_url, member_url, person
from tests.stream.helpers import open_stream

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def stream_app(make_app):
    return make_app(STREAM_HEARTBEAT_SECONDS=1)


@pytest.fixture
def client(stream_app):
    return stream_app.test_client()




@pytest.fixture
def readers():
    opened = []
    yield opened
    for reader in opened:
        reader.close()


def opened(readers, reader):
    readers.append(reader)
    assert reader.next() == "retry: 3000\n: open\n\n"
    return reader


def add_task(client, auth, list_id, title="Milk"):
    body = {"title": title} if list_id is None else {"title": title, "list_id": list_id}
    response = client.post("/api/v1/tasks", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_stream_opens_with_retry_and_its_headers(client, ada, readers):
    reader = opened(readers, open_stream(client, ada.auth))
    headers = reader.response.headers
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["Cache-Control"] == "no-cache" and headers["X-Accel-Buffering"] == "no"
    assert reader.next() == ": keep-alive\n\n"  # nothing changed: a heartbeat after a second


def test_a_members_write_is_changed_on_the_others_stream_and_nothing_for_lists_not_yours(client, ada, ben,
                                                                                          stream_app, readers):
    shared = create_list(client, ada.auth, "Shared")
    client.post(list_url(shared["id"], "/invitations"), json={"email": ben.email, "role": "editor"}, headers=ada.auth)
    invitation = client.get("/api/v1/invitations", headers=ben.auth).get_json()["items"][0]
    assert client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=ben.auth).status_code == 200
    reader = opened(readers, open_stream(client, ada.auth))
    add_task(client, ben.auth, shared["id"])
    assert reader.next_event() == ("changed", {"lists": [shared["id"]]})
    # Ben's own list: not Ada's business.
    own = create_list(client, ben.auth, "Ben's")
    add_task(client, ben.auth, own["id"])
    assert reader.next() == ": keep-alive\n\n"


def test_joining_and_being_removed_are_changes(client, ada, ben, stream_app, readers):
    shared = create_list(client, ada.auth, "Shared")
    reader = opened(readers, open_stream(client, ben.auth))
    add_member(stream_app, shared["id"], ben.id, "viewer")
    assert reader.next_event() == ("changed", {"lists": [shared["id"]]})
    assert client.delete(member_url(shared["id"], ben.id), headers=ada.auth).status_code == 204
    assert reader.next_event() == ("changed", {"lists": [shared["id"]]})


@pytest.mark.parametrize("ending", ["logout", "password", "session", "disabled", "deleted"])
def test_the_end_of_the_session_is_revoked_and_the_end_of_the_stream(client, ada, stream_app, readers, ending):
    reader = opened(readers, open_stream(client, ada.auth))
    started = time.monotonic()
    if ending == "logout":
        assert client.post("/api/v1/auth/logout", headers=ada.auth).status_code == 204
    elif ending == "password":
        changed = client.post("/api/v1/auth/password", headers=ada.auth,
                              json={"current_password": "correct horse battery", "new_password": "another horse 123"})
        assert changed.status_code in (200, 204), changed.get_json()
    elif ending == "session":
        sessions = client.get("/api/v1/auth/sessions", headers=ada.auth).get_json()["items"]
        assert client.delete(f"/api/v1/auth/sessions/{sessions[0]['id']}", headers=ada.auth).status_code == 204
    elif ending == "disabled":  # the flag alone, its sessions left standing: the poll reads it too
        with stream_app.app_context():
            db.session.execute(update(User).where(User.id == ada.id).values(disabled=True))
            db.session.commit()
    else:
        deleted = client.delete("/api/v1/auth/me", headers=ada.auth, json={"password": "correct horse battery"})
        assert deleted.status_code == 204, deleted.get_json()
    assert reader.next_event() == ("revoked", {})
    assert time.monotonic() - started < 5
    with pytest.raises(StopIteration):
        reader.next()


def test_a_stream_is_logged_once_at_its_end_with_its_duration_and_counted(client, ada, stream_app, readers,
                                                                          caplog):
    gauge = stream_app.extensions["taskapi-open-streams"]
    caplog.set_level(logging.INFO, "taskapi.access")
    reader = opened(readers, open_stream(client, ada.auth))
    assert gauge._value.get() == 1
    time.sleep(0.2)
    assert not [r for r in caplog.records if r.path == "/api/v1/stream"]
    reader.close()
    lines = [r for r in caplog.records if r.path == "/api/v1/stream"]
    assert len(lines) == 1 and lines[0].status == 200 and lines[0].duration_ms >= 200
    assert gauge._value.get() == 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "taskapi_open_streams 0.0" in metrics


def test_database_fan_out_reaches_a_stream_of_another_instance(make_app, readers):
    writer, reader_app = make_app(), make_app(STREAM_HEARTBEAT_SECONDS=1)
    ada = person(writer.test_client(), "Ada")
    reader = opened(readers, open_stream(reader_app.test_client(), ada.auth))
    inbox = writer.test_client().get("/api/v1/lists", headers=ada.auth).get_json()["items"][0]
    started = time.monotonic()
    add_task(writer.test_client(), ada.auth, inbox["id"])
    assert reader.next_event() == ("changed", {"lists": [inbox["id"]]})
    assert time.monotonic() - started < 1


def redis_or_skip():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")


def test_redis_fan_out_reaches_a_stream_at_once_without_a_poll(make_app, readers):
    redis_or_skip()
    writer, reader_app = make_app(REDIS_URL=REDIS_URL), make_app(REDIS_URL=REDIS_URL, STREAM_HEARTBEAT_SECONDS=1)
    hubs.hub(reader_app).interval = 3600  # no timed poll: only a message can bring the change
    ada = person(writer.test_client(), "Ada")
    reader = opened(readers, open_stream(reader_app.test_client(), ada.auth))
    time.sleep(0.3)  # the hub's first poll, and its listener subscribed
    polls = hubs.hub(reader_app).polls
    inbox = writer.test_client().get("/api/v1/lists", headers=ada.auth).get_json()["items"][0]
    started = time.monotonic()
    add_task(writer.test_client(), ada.auth, inbox["id"])
    assert reader.next_event() == ("changed", {"lists": [inbox["id"]]})
    assert time.monotonic() - started < 1
    assert hubs.hub(reader_app).polls > polls


def test_a_commit_publishes_its_lists_once(make_app):
    redis_or_skip()
    app = make_app(REDIS_URL=REDIS_URL)
    pubsub = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(fanout.CHANNEL)
    pubsub.get_message(timeout=1)
    ada = person(app.test_client(), "Ada")
    inbox = app.test_client().get("/api/v1/lists", headers=ada.auth).get_json()["items"][0]
    while pubsub.get_message(timeout=0.3):  # registering made the inbox
        pass
    add_task(app.test_client(), ada.auth, inbox["id"])
    message = pubsub.get_message(timeout=2)
    assert message is not None and message["data"] == b'{"lists": [%d]}' % inbox["id"]
    app.test_client().get(list_url(inbox["id"]), headers=ada.auth)  # a read publishes nothing
    assert pubsub.get_message(timeout=0.5) is None
    pubsub.close()


def test_every_kind_of_task_write_publishes_its_list(make_app):
    """A write that locks its list through its task (PATCH, toggle, trash, restore, move) publishes it too, not
    only the writes that name their list."""
    redis_or_skip()
    app = make_app(REDIS_URL=REDIS_URL)
    client = app.test_client()
    ada = person(client, "Ada")
    inbox = client.get("/api/v1/lists", headers=ada.auth).get_json()["items"][0]["id"]
    task = add_task(client, ada.auth, inbox)["id"]
    pubsub = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(fanout.CHANNEL)
    pubsub.get_message(timeout=1)
    writes = [("patch", f"/api/v1/tasks/{task}", {"title": "Oat milk"}),
              ("patch", f"/api/v1/tasks/{task}/toggle", None),
              ("post", f"/api/v1/tasks/{task}/move", {"after": None}),
              ("delete", f"/api/v1/tasks/{task}", None),
              ("post", f"/api/v1/tasks/{task}/restore", None)]
    for method, path, body in writes:
        answer = getattr(client, method)(path, json=body, headers=ada.auth)
        assert answer.status_code < 300, (path, answer.get_json())
        message = pubsub.get_message(timeout=2)
        assert message is not None and message["data"] == b'{"lists": [%d]}' % inbox, (method, path)
    pubsub.close()


def test_a_redis_outage_fails_no_write_and_costs_it_nothing(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:9/0")  # nothing listens there
    client = app.test_client()
    ada = person(client, "Ada")
    started = time.monotonic()
    for number in range(5):
        add_task(client, ada.auth, None, title=f"Task {number}")
    assert time.monotonic() - started < 2
