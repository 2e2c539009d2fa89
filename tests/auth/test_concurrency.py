"""Races on PostgreSQL: one refresh token used twice at once, one email registered twice at once, the last two
admins deleting their accounts at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from taskapi.auth.models import Role, User
from tests.auth.test_delete import delete
from tests.helpers.admin import make_admin
from tests.helpers.api import PASSWORD, register
from tests.helpers.auth import AUTH, count, refresh

ROUNDS = 10  # a race is not lost every time: several rounds make each outcome likely


@pytest.fixture
def pg_app(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    return app


def at_once(app, send, second=None):
    """`send(client)` from two threads (the second sends `second` when given), each with its own client,
    released together; the (status, body) answers by status."""
    barrier = threading.Barrier(2)

    def run(send):
        client = app.test_client()
        barrier.wait(timeout=10)
        response = send(client)
        return response.status_code, response.get_json(silent=True)  # None for a 204

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(run, (send, second or send)), key=lambda result: result[0])


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


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_last_two_admins_deleting_their_accounts_at_once_leave_one(pg_app, round_):
    client = pg_app.test_client()
    a, b = (make_admin(pg_app, register(client, email=f"{name}{round_}@example.com")) for name in ("a", "b"))
    (first, _), (second, error) = at_once(pg_app, lambda client: delete(client, a["access_token"]),
                                          lambda client: delete(client, b["access_token"]))
    assert (first, second) == (204, 422)
    assert set(error["errors"]["json"]) == {"password"}
    assert count(pg_app, User, User.role == Role.admin) == 1
