"""Stream tickets: single use across instances, 60 s, bound to a session; the error envelope otherwise."""

import time

import jwt
import pytest
from sqlalchemy import func, select

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.stream import tickets
from taskapi.stream.models import OpenStream
from tests.helpers.api import assert_error, bearer
from tests.stream.helpers import STREAM, TICKET, Reader, ticket


def open_rows(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OpenStream)).scalar_one()



def test_a_ticket_is_used_once_across_two_instances(make_app, ada):
    first, second = make_app(), make_app()
    issued = ticket(first.test_client(), ada.auth)
    reader = Reader(first.test_client().get(STREAM, query_string={"ticket": issued}, buffered=False))
    try:
        assert reader.next().startswith("retry: ")
        again = second.test_client().get(STREAM, query_string={"ticket": issued})
        assert_error(again, 401, "token_invalid")
        assert again.headers["Content-Type"] == "application/json"
        assert open_rows(first) == 1  # the refused one left nothing behind
    finally:
        reader.close()


def session_of(person):
    return jwt.decode(person.tokens["access_token"], options={"verify_signature": False})["sid"]


def test_an_expired_ticket_is_refused(app, client, ada, monkeypatch):
    with app.test_request_context():
        user = db.session.get(User, ada.id)
        monkeypatch.setattr(time, "time", lambda: 1_000_000.0)  # issued long ago
        old = tickets.issue(user, session_of(ada))["ticket"]
        monkeypatch.undo()
        fresh = tickets.issue(user, session_of(ada))["ticket"]
    assert_error(client.get(STREAM, query_string={"ticket": old}), 401, "token_invalid")
    assert open_rows(app) == 0
    Reader(client.get(STREAM, query_string={"ticket": fresh}, buffered=False)).close()  # the same, in time


@pytest.mark.parametrize("bad", ["x", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_a_malformed_ticket_is_the_envelope(client, bad):
    assert_error(client.get(STREAM, query_string={"ticket": bad}), 401, "token_invalid")


def test_an_access_token_is_no_ticket_and_a_ticket_no_access_token(app, client, ada):
    assert_error(client.get(STREAM, query_string={"ticket": ada.tokens["access_token"]}), 401, "token_invalid")
    issued = ticket(client, ada.auth)
    assert_error(client.get("/api/v1/tasks", headers=bearer(issued)), 401, "token_invalid")
    forged = jwt.encode({**jwt.decode(issued, options={"verify_signature": False}), "sub": str(ada.id + 1)},
                        "another-key-of-at-least-thirty-two-bytes", algorithm="HS256")
    assert_error(client.get(STREAM, query_string={"ticket": forged}), 401, "token_invalid")
    assert open_rows(app) == 0


def test_a_ticket_of_an_ended_session_is_refused(app, client, ada):
    issued = ticket(client, ada.auth)
    assert client.post("/api/v1/auth/logout", headers=ada.auth).status_code == 204
    assert_error(client.get(STREAM, query_string={"ticket": issued}), 401, "token_invalid")


def test_a_ticket_needs_an_access_token(client, ada):
    assert_error(client.post(TICKET), 401, "token_missing")
    made = client.post("/api/v1/auth/tokens", headers=ada.auth,
                       json={"name": "script", "scopes": ["tasks:read", "lists:read"], "expires_in_days": 1})
    assert made.status_code == 201, made.get_json()
    assert_error(client.post(TICKET, headers=bearer(made.get_json()["token"])), 401, "wrong_token_type")
    assert_error(client.post(TICKET, headers=bearer(ada.tokens["refresh_token"])), 401, "wrong_token_type")


def test_a_missing_ticket_is_422(client):
    assert_error(client.get(STREAM), 422, "validation_error")


def test_streams_past_the_limit_are_429_and_the_ticket_stays_unused(make_app, ada):
    app = make_app(MAX_STREAMS_PER_USER=2)
    client = app.test_client()
    readers = [Reader(client.get(STREAM, query_string={"ticket": ticket(client, ada.auth)}, buffered=False))
               for _ in range(2)]
    try:
        third = ticket(client, ada.auth)
        refused = client.get(STREAM, query_string={"ticket": third})
        assert_error(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1
        assert open_rows(app) == 2
        readers.pop().close()
        deadline = time.monotonic() + 5
        while open_rows(app) != 1:  # the hub deletes an ended stream's row at once
            assert time.monotonic() < deadline
            time.sleep(0.05)
        readers.append(Reader(client.get(STREAM, query_string={"ticket": third}, buffered=False)))
    finally:
        for reader in readers:
            reader.close()


def test_rows_of_a_dead_worker_stop_counting(make_app, ada):
    app = make_app(MAX_STREAMS_PER_USER=1)
    client = app.test_client()
    with app.app_context():
        db.session.add(OpenStream(user_id=ada.id, session_id=session_of(ada), expires_at=utcnow()))  # expired
        db.session.commit()
    reader = Reader(client.get(STREAM, query_string={"ticket": ticket(client, ada.auth)}, buffered=False))
    reader.close()
