"""Races on PostgreSQL: one refresh token used twice at once, one email registered twice at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from taskapi.auth.models import User
from tests.helpers.api import PASSWORD, register
from tests.helpers.auth import AUTH, count, refresh

ROUNDS = 10  # a race is not lost every time: several rounds make each outcome likely


@pytest.fixture
def pg_app(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    return app


def at_once(app, send):
    """`send(client)` from two threads, each with its own client, released together."""
    barrier = threading.Barrier(2)

    def run(_):
        client = app.test_client()
        barrier.wait(timeout=10)
        response = send(client)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(run, range(2)), key=lambda result: result[0])


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_refresh_token_used_twice_at_once_rotates_once_and_ends_the_session(pg_app, round_):
    pair = register(pg_app.test_client(), email=f"ada{round_}@example.com")
    (first, body), (second, error) = at_once(pg_app, lambda client: refresh(client, pair["refresh_token"]))
    assert (first, second) == (200, 401)
    assert error["code"] == "token_revoked"
    # The second use was a replay of a rotated token: the session ended, the winner's pair with it.
    assert refresh(pg_app.test_client(), body["refresh_token"]).status_code == 401


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_email_registered_twice_at_once_makes_one_account(pg_app, round_):
    email = f"ada{round_}@example.com"
    body = {"email": email, "password": PASSWORD}
    (first, _), (second, error) = at_once(pg_app, lambda client: client.post(f"{AUTH}/register", json=body))
    assert (first, second) == (201, 409)
    assert error["code"] == "email_taken"
    assert count(pg_app, User, User.email == email) == 1
