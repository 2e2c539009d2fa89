"""Bodies the parser must refuse: chunked bodies over the limit, like those with Content-Length."""

import io
import json

import pytest
from sqlalchemy import func, select

from taskapi.extensions import db
from taskapi.tasks.models import Task
from tests.conftest import assert_error

LIMIT = 64 * 1024


def tasks_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Task)).scalar_one()


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
