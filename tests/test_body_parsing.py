"""JSON bodies the parser must refuse without a server error: deep nesting, chunked bodies over the limit."""

import io
import json
import logging

import pytest
from sqlalchemy import func, select

from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.helpers.api import assert_error

LIMIT = 64 * 1024
BODY_ROUTES = [("post", "/api/v1/auth/register"), ("post", "/api/v1/auth/login"), ("post", "/api/v1/tasks")]


def tasks_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Task)).scalar_one()


def nested(depth):
    return b'{"email": ' + b"[" * depth + b"]" * depth + b', "password": "correct horse battery"}'


def deepest_json_accepts():
    """The deepest array nesting json.loads takes at the call depth of a request (it recurses per level)."""
    low, high = 1, LIMIT // 2
    while low < high:
        middle = (low + high + 1) // 2
        try:
            json.loads(nested(middle))
            low = middle
        except RecursionError:
            high = middle - 1
    return low


@pytest.mark.parametrize("depth", [1000, LIMIT // 2 - 64])
@pytest.mark.parametrize("method, path", BODY_ROUTES)
def test_deeply_nested_json_is_400_without_a_traceback(app, client, auth, caplog, method, path, depth):
    body = nested(depth)
    assert len(body) <= LIMIT
    with caplog.at_level(logging.ERROR):
        response = getattr(client, method)(path, data=body, content_type="application/json", headers=auth)
    assert_error(response, 400, "bad_request")
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert tasks_count(app) == 0


@pytest.mark.parametrize("method, path", BODY_ROUTES)
def test_nesting_json_takes_at_any_depth_is_never_a_server_error(app, client, auth, method, path):
    # json.loads here runs shallower than in a request, so it takes a little deeper nesting: every depth
    # from a little under the deepest to the deepest is answered 400 (too deep) or 422 (not a valid field).
    deepest = deepest_json_accepts()
    for depth in range(deepest - 120, deepest + 1, 4):
        response = getattr(client, method)(path, data=nested(depth), content_type="application/json",
                                           headers=auth)
        assert response.status_code in (400, 422), (depth, response.get_json())
    assert tasks_count(app) == 0


def post_chunked(client, path, body, headers):
    """A body sent as gunicorn hands over a chunked one: no Content-Length, a stream ending with the body."""
    return client.post(path, input_stream=io.BytesIO(body), content_type="application/json",
                       headers={**headers, "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def padded(document, size):
    """A JSON body of exactly `size` bytes: the document, then spaces (still valid JSON)."""
    body = json.dumps(document).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + 10_000, 4 * LIMIT])
def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(app, client, auth, size):
    response = post_chunked(client, "/api/v1/tasks", padded({"title": "Cut short"}, size), auth)
    assert_error(response, 413, "payload_too_large")
    assert tasks_count(app) == 0


def test_a_chunked_body_at_the_limit_is_read_whole(app, client, auth):
    response = post_chunked(client, "/api/v1/tasks", padded({"title": "Exactly at the limit"}, LIMIT), auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Exactly at the limit"
    assert tasks_count(app) == 1


def test_the_chunked_limit_follows_max_content_length(make_app):
    client = make_app(MAX_CONTENT_LENGTH=100).test_client()
    body = padded({"email": "ada@example.com", "password": "correct horse battery"}, 101)
    assert_error(post_chunked(client, "/api/v1/auth/register", body, {}), 413, "payload_too_large")
    assert post_chunked(client, "/api/v1/auth/register", body[:100], {}).status_code == 201
