"""Login, register and refresh are rate limited per client address, with 429 rate_limited and Retry-After."""

import socket
import uuid

import pytest
import redis

from taskapi.auth.models import User
from tests.helpers.api import PASSWORD, assert_error, bearer
from tests.helpers.auth import AUTH, count, stored_user

LIMIT = "3 per minute"
REDIS_URL = "redis://127.0.0.1:6379/15"


def login(client, address=None, forwarded_for=None):
    kwargs = {}
    if address:
        kwargs["environ_base"] = {"REMOTE_ADDR": address}
    if forwarded_for:
        kwargs["headers"] = {"X-Forwarded-For": forwarded_for}
    return client.post(f"{AUTH}/login", json={"email": "nobody@example.com", "password": PASSWORD}, **kwargs)


def register(client, i):
    return client.post(f"{AUTH}/register", json={"email": f"user{i}@example.com", "password": PASSWORD})


def refresh(client, i):
    return client.post(f"{AUTH}/refresh", headers=bearer("not-a-token"))


def exhaust(send, n=3):
    """Send `n` requests, none of them limited yet."""
    for i in range(n):
        assert send(i).status_code != 429


def assert_rate_limited(response):
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def limited_app(make_app):
    return make_app(AUTH_RATE_LIMIT=LIMIT)


@pytest.fixture
def limited(limited_app):
    return limited_app.test_client()


def test_fourth_login_from_one_address_is_429(limited):
    exhaust(lambda i: login(limited))
    assert_rate_limited(login(limited))


def test_successful_logins_count_too(limited):
    limited.post(f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD})
    for _ in range(3):
        assert limited.post(f"{AUTH}/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    assert_rate_limited(limited.post(f"{AUTH}/login", json={"email": "ada@example.com", "password": PASSWORD}))


@pytest.mark.parametrize("send", [register, refresh], ids=["register", "refresh"])
def test_register_and_refresh_are_limited_too(limited, send):
    exhaust(lambda i: send(limited, i))
    assert_rate_limited(send(limited, 3))


def test_a_limited_register_creates_nothing(limited_app, limited):
    exhaust(lambda i: register(limited, i))
    assert_rate_limited(register(limited, 3))
    assert count(limited_app, User) == 3
    assert stored_user(limited_app, "user3@example.com") is None


def test_another_address_is_not_limited(limited):
    exhaust(lambda i: login(limited, address="192.0.2.1"))
    assert_rate_limited(login(limited, address="192.0.2.1"))
    assert_error(login(limited, address="192.0.2.2"), 401, "invalid_credentials")


def test_routes_outside_login_register_and_refresh_are_not_limited(limited):
    for _ in range(5):
        assert limited.get("/health/live").status_code == 200
        assert_error(limited.get(f"{AUTH}/me"), 401, "token_missing")


def test_without_trusted_proxies_x_forwarded_for_is_ignored(limited):
    exhaust(lambda i: login(limited, forwarded_for=f"203.0.113.{i}"))
    assert_rate_limited(login(limited, forwarded_for="203.0.113.99"))


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_key(make_app):
    client = make_app(AUTH_RATE_LIMIT=LIMIT, TRUSTED_PROXIES=1).test_client()
    exhaust(lambda i: login(client, forwarded_for="203.0.113.5"))
    assert_rate_limited(login(client, forwarded_for="203.0.113.5"))
    assert_error(login(client, forwarded_for="203.0.113.6"), 401, "invalid_credentials")


def test_behind_a_trusted_proxy_spoofed_addresses_on_the_left_do_not_escape(make_app):
    client = make_app(AUTH_RATE_LIMIT=LIMIT, TRUSTED_PROXIES=1).test_client()
    exhaust(lambda i: login(client, forwarded_for=f"198.51.100.{i}, 203.0.113.5"))
    assert_rate_limited(login(client, forwarded_for="198.51.100.99, 203.0.113.5"))


def _redis_reachable():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def shared_store():
    """Redis db 15 for the limits; afterwards only this test's taskapi keys are deleted."""
    if not _redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    store = redis.Redis.from_url(REDIS_URL)
    # An address of its own, so runs in parallel never share a counter.
    address = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    yield address
    for key in store.scan_iter(match="*taskapi*"):
        if address.encode() in key:
            store.delete(key)
    store.close()


def test_instances_sharing_a_store_share_the_limit(make_app, shared_store):
    a = make_app(AUTH_RATE_LIMIT=LIMIT, REDIS_URL=REDIS_URL).test_client()
    exhaust(lambda i: login(a, address=shared_store), n=2)
    b = make_app(AUTH_RATE_LIMIT=LIMIT, REDIS_URL=REDIS_URL).test_client()
    exhaust(lambda i: login(b, address=shared_store), n=1)
    assert_rate_limited(login(b, address=shared_store))
