"""Login throttling per account: after LOGIN_FAILURE_LIMIT failures in 15 minutes, 429 from any client address."""

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from sqlalchemy import update

from taskapi.auth import throttle
from taskapi.auth.models import LoginFailure, SecurityEvent
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, register
from tests.helpers.auth import AUTH, count
from tests.smtp import free_port
from tests.test_maintenance import every_coin_heads, run_job

LIMIT = 3
POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")
SHARED_REDIS = "redis://127.0.0.1:6379/14"


def attempt(client, email="ada@example.com", password="wrong password", client_address="198.51.100.1"):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": client_address})


def fail(client, times, email="ada@example.com"):
    for i in range(times):
        assert attempt(client, email, client_address=f"198.51.100.{i + 1}").status_code == 401


def assert_throttled(response):
    assert_error(response, 429, "rate_limited")
    return int(response.headers["Retry-After"])


@pytest.fixture
def app(make_app):
    return make_app(LOGIN_FAILURE_LIMIT=LIMIT)


def test_after_the_limit_every_login_for_the_address_is_429_from_anywhere(client, user):
    fail(client, LIMIT)
    retry_after = assert_throttled(attempt(client, password=PASSWORD, client_address="203.0.113.77"))
    assert 890 < retry_after <= 900


def test_an_address_without_an_account_is_throttled_alike(client, user):
    fail(client, LIMIT)
    fail(client, LIMIT, email="nobody@example.com")
    known = attempt(client)
    unknown = attempt(client, email="nobody@example.com")
    assert known.status_code == unknown.status_code == 429
    assert {k: v for k, v in known.get_json().items() if k != "request_id"} == \
        {k: v for k, v in unknown.get_json().items() if k != "request_id"}
    assert abs(int(known.headers["Retry-After"]) - int(unknown.headers["Retry-After"])) <= 1


def test_below_the_limit_the_right_password_works(client, user):
    fail(client, LIMIT - 1)
    assert attempt(client, password=PASSWORD).status_code == 200


def test_successful_logins_are_not_failures(client, user):
    for _ in range(LIMIT + 2):
        assert attempt(client, password=PASSWORD).status_code == 200
    assert attempt(client).status_code == 401


def test_other_addresses_are_not_throttled(client, user):
    register(client, email="bob@example.com")
    fail(client, LIMIT)
    assert attempt(client, "bob@example.com", PASSWORD).status_code == 200


def test_refused_attempts_do_not_extend_the_wait(app, client, user):
    fail(client, LIMIT)
    first = assert_throttled(attempt(client))
    for _ in range(5):
        assert_throttled(attempt(client, password=PASSWORD))
    assert assert_throttled(attempt(client)) <= first
    assert count(app, LoginFailure) == LIMIT


def test_failures_older_than_15_minutes_do_not_count(app, client, user):
    fail(client, LIMIT)
    with app.app_context():
        db.session.execute(update(LoginFailure).values(created_at=utcnow() - timedelta(minutes=15, seconds=1)))
        db.session.commit()
    assert attempt(client, password=PASSWORD).status_code == 200


def test_the_wait_ends_when_the_oldest_counted_failure_is_15_minutes_old(app, client, user):
    fail(client, LIMIT)
    with app.app_context():
        oldest = db.session.query(LoginFailure).order_by(LoginFailure.id).first()
        oldest.created_at = utcnow() - timedelta(minutes=14)
        db.session.commit()
    retry_after = assert_throttled(attempt(client))
    assert 55 <= retry_after <= 61  # the oldest of the last LIMIT failures decides
    with app.app_context():
        db.session.execute(update(LoginFailure).where(LoginFailure.id == oldest.id)
                           .values(created_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert attempt(client, password=PASSWORD).status_code == 200


def age_every_failure(app):
    with app.app_context():
        db.session.execute(update(LoginFailure).values(created_at=utcnow() - timedelta(minutes=15, seconds=1)))
        db.session.commit()


def test_the_login_failures_job_drops_every_address_past_15_minutes(app, client, user):
    fail(client, LIMIT - 1, email="someone.else@example.com")
    age_every_failure(app)
    fail(client, 1)
    assert run_job(app, "login-failures") == f"{LIMIT - 1} failed login(s) older than 15 minutes dropped"
    assert count(app, LoginFailure) == 1


def test_failed_logins_never_prune_other_addresses(app, client, user, monkeypatch):
    fail(client, LIMIT - 1, email="someone.else@example.com")
    age_every_failure(app)
    every_coin_heads(monkeypatch)
    for i in range(20):
        fail(client, 1, email=f"guess{i}@example.com")
    assert count(app, LoginFailure) == LIMIT - 1 + 20


def test_throttled_logins_are_recorded_for_the_account(app, client, user):
    fail(client, LIMIT)
    attempt(client)
    with app.app_context():
        recorded = {e.event: e.count for e in db.session.query(SecurityEvent).filter_by(user_id=user["user"]["id"])}
    assert (recorded["login_failed"], recorded["login_throttled"]) == (LIMIT, 1)


def test_a_password_reset_clears_it(make_app, smtp, user):
    from tests.auth.test_reset import confirm, mailed_token
    from tests.smtp import mail_settings

    app = make_app(LOGIN_FAILURE_LIMIT=LIMIT, **mail_settings(smtp))
    client = app.test_client()
    fail(client, LIMIT)
    assert_throttled(attempt(client, password=PASSWORD))
    assert confirm(client, mailed_token(app, client, smtp), "a brand new password").status_code == 204
    assert attempt(client, password="a brand new password").status_code == 200


def _pending_checks(app, email, how_many, age=timedelta(0)):
    """Checks in flight for `email`, as other requests leave them while verifying a password."""
    with app.app_context():
        db.session.add_all(LoginFailure(address=_key(email), created_at=utcnow() - age, pending=True)
                           for _ in range(how_many))
        db.session.commit()


def test_while_checks_in_flight_hold_every_place_a_login_waits_then_is_refused(app, client, user, monkeypatch):
    monkeypatch.setattr(throttle, "PENDING_WAIT", 0.3)
    _pending_checks(app, "ada@example.com", LIMIT)
    started = time.monotonic()
    assert assert_throttled(attempt(client, password=PASSWORD)) == 1
    assert time.monotonic() - started >= 0.3
    assert count(app, LoginFailure, LoginFailure.pending.is_(False)) == 0  # waiting counted nothing


def test_a_check_left_pending_by_a_dead_request_counts_as_a_failure_after_a_minute(app, client, user):
    fail(client, LIMIT - 1)
    _pending_checks(app, "ada@example.com", 1, age=throttle.PENDING_TTL + timedelta(seconds=1))
    assert_throttled(attempt(client, password=PASSWORD))


def test_a_failure_is_counted_from_when_the_password_was_found_wrong(app, client, user):
    fail(client, 1)
    with app.app_context():
        (row,) = db.session.query(LoginFailure).all()
    assert row.pending is False and (utcnow() - row.created_at) < timedelta(seconds=5)


def test_the_failure_store_holds_no_address(app, client, user):
    fail(client, 1)
    with app.app_context():
        (row,) = db.session.query(LoginFailure).all()
    assert "ada" not in row.address and len(row.address) == 64


# Shared by instances: Redis when REDIS_URL is set, the database otherwise.


def _redis_reachable(port=6379):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def email():
    """An address of its own, so counts in a shared Redis never mix between tests or runs."""
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_instances_sharing_the_database_share_counts(make_app, email):
    a, b = (make_app(LOGIN_FAILURE_LIMIT=LIMIT).test_client() for _ in range(2))
    register(a, email=email)
    fail(a, LIMIT - 1, email)
    fail(b, 1, email)
    assert_throttled(attempt(a, email, PASSWORD))


def test_instances_sharing_redis_share_counts(make_app, email):
    if not _redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    a, b = (make_app(LOGIN_FAILURE_LIMIT=LIMIT, REDIS_URL=SHARED_REDIS) for _ in range(2))
    register(a.test_client(), email=email)
    fail(a.test_client(), LIMIT - 1, email)
    fail(b.test_client(), 1, email)
    assert_throttled(attempt(b.test_client(), email, PASSWORD))
    assert count(a, LoginFailure) == 0  # counted in Redis


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, which the test can take away."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _redis_reachable(port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


def test_when_redis_goes_away_logins_go_on_and_are_counted_in_the_database(make_app, private_redis, email):
    process, url = private_redis
    app = make_app(LOGIN_FAILURE_LIMIT=LIMIT, REDIS_URL=url)
    client = app.test_client()
    register(client, email=email)
    fail(client, 1, email)
    assert redis.Redis.from_url(url).zcard(f"taskapi:login-failures:{_key(email)}") == 1
    process.kill()
    process.wait()
    assert attempt(client, email, PASSWORD).status_code == 200  # not refused for want of Redis
    fail(client, LIMIT, email)
    assert count(app, LoginFailure) == LIMIT
    assert_throttled(attempt(client, email, PASSWORD))


def _key(email):
    from taskapi.auth.throttle import address_key

    return address_key(email)


# Races (PostgreSQL), counted in the database and in Redis


@pytest.fixture(params=["database", "redis"])
def race_app(request, make_app):
    """The app counting in the database or in Redis, on PostgreSQL (SQLite writes one at a time anyway)."""
    if not POSTGRES:
        pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
    if request.param == "redis" and not _redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return make_app(LOGIN_FAILURE_LIMIT=LIMIT, REDIS_URL=SHARED_REDIS if request.param == "redis" else None)


def at_once(app, passwords, email):
    """One login per password, each from its own thread, client and client address, released together."""
    barrier = threading.Barrier(len(passwords))

    def send(i):
        client = app.test_client()
        barrier.wait(timeout=10)
        return attempt(client, email, passwords[i], client_address=f"198.51.100.{i + 1}").status_code

    with ThreadPoolExecutor(len(passwords)) as pool:
        return sorted(pool.map(send, range(len(passwords))))


def test_of_concurrent_wrong_guesses_exactly_the_limit_are_checked(race_app, email):
    register(race_app.test_client(), email=email)
    statuses = at_once(race_app, [f"guess {i}" for i in range(12)], email)
    assert statuses == [401] * LIMIT + [429] * (12 - LIMIT)
    assert_throttled(attempt(race_app.test_client(), email, PASSWORD))


@pytest.mark.parametrize("logins", [8, 12])
def test_concurrent_logins_with_the_right_password_all_sign_in(race_app, email, logins):
    register(race_app.test_client(), email=email)
    assert at_once(race_app, [PASSWORD] * logins, email) == [200] * logins
    assert count(race_app, LoginFailure) == 0
    fail(race_app.test_client(), LIMIT - 1, email)  # none of them was counted as a failure
    assert attempt(race_app.test_client(), email, PASSWORD).status_code == 200


def test_right_logins_among_concurrent_guesses_are_never_refused_below_the_limit(race_app, email):
    register(race_app.test_client(), email=email)
    statuses = at_once(race_app, [PASSWORD] * 6 + ["a wrong guess"] * (LIMIT - 1), email)
    assert statuses == [200] * 6 + [401] * (LIMIT - 1)
