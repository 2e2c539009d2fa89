"""Login throttling per account: LOGIN_FAILURE_LIMIT failures per address in 15 minutes, then 429 from anywhere.

Counts are shared by every worker and instance: in the database, or in Redis when
REDIS_URL is set (falling back to the database while Redis is unreachable). Each
check takes a place among the address's failures before the password is verified,
one check at a time per address: of many concurrent wrong guesses, exactly the
limit reach the password check. The place is given back when the password is right.
"""

import hashlib
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from taskapi.auth.models import LoginFailure
from taskapi.extensions import db
from taskapi.models import utcnow

log = logging.getLogger(__name__)
WINDOW = timedelta(minutes=15)
REDIS_KEY = "taskapi:login-failures:{}"


def address_key(email):
    """Failures are counted by a hash of the normalised address, so the store is no list of addresses tried."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class Attempt:
    """A place reserved among an address's failures; `retry_after` is set when it was refused."""

    store: object
    address: str
    token: object
    retry_after: int | None = None


class DatabaseStore:
    """Failures as rows of login_failures; one address's checks take turns, so the count is exact."""

    def reserve(self, address, limit):
        now = utcnow()
        recent = select(LoginFailure.created_at).where(LoginFailure.address == address,
                                                       LoginFailure.created_at > now - WINDOW)
        # Take turns: PostgreSQL with a lock on the address held until commit; SQLite by writing
        # first (dropping this address's stale failures), which takes its one write lock.
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(address))))
        else:
            db.session.execute(delete(LoginFailure).where(LoginFailure.address == address,
                                                          LoginFailure.created_at <= now - WINDOW))
        count = db.session.execute(select(func.count()).select_from(recent.subquery())).scalar_one()
        attempt = Attempt(self, address, None)
        if count >= limit:
            # Allowed again once the limit-th most recent failure leaves the window.
            nth = recent.order_by(LoginFailure.created_at.desc()).offset(limit - 1).limit(1)
            attempt.retry_after = _seconds_until(db.session.execute(nth).scalar_one() + WINDOW, now)
        else:
            failure = LoginFailure(address=address, created_at=now)
            db.session.add(failure)
            db.session.flush()
            attempt.token = failure.id
        db.session.commit()  # the place is taken (and the lock let go) before the password is checked
        return attempt

    def release(self, attempt):
        db.session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.token))
        db.session.commit()

    def clear(self, address):
        db.session.execute(delete(LoginFailure).where(LoginFailure.address == address))


class RedisStore:
    """Failures as members of a sorted set per address, scored by time; one MULTI reserves and counts."""

    def __init__(self, url):
        import redis  # here, not at the top: the client library is ~6 MB of each worker's memory, for Redis users only

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.errors = redis.RedisError

    def reserve(self, address, limit):
        key, member, now = REDIS_KEY.format(address), uuid.uuid4().hex, time.time()
        window = WINDOW.total_seconds()
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, 0, now - window)
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.expire(key, int(window) + 1)
        count = pipe.execute()[2]
        attempt = Attempt(self, address, member)
        if count > limit:
            self.release(attempt)
            nth = self.client.zrevrange(key, limit - 1, limit - 1, withscores=True)
            oldest_counted = nth[0][1] if nth else now
            attempt.retry_after = _seconds_until(datetime.fromtimestamp(oldest_counted + window, UTC),
                                                 datetime.fromtimestamp(now, UTC))
        return attempt

    def release(self, attempt):
        self.client.zrem(REDIS_KEY.format(attempt.address), attempt.token)

    def clear(self, address):
        self.client.delete(REDIS_KEY.format(address))


def _seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))


class Throttle:
    """The app's store, and the fallback from Redis to the database while Redis is away."""

    def __init__(self, app):
        self.database = DatabaseStore()
        self.redis = RedisStore(app.config["REDIS_URL"]) if app.config["REDIS_URL"] else None
        self.redis_errors = self.redis.errors if self.redis else ()  # `except ()` catches nothing
        self._redis_failing = False

    def _redis_failed(self, exc):
        if not self._redis_failing:
            log.warning("login throttle: Redis unreachable (%s); counting in the database meanwhile",
                        exc.__class__.__name__)
            self._redis_failing = True

    def reserve(self, address, limit):
        if self.redis is not None:
            try:
                attempt = self.redis.reserve(address, limit)
                self._redis_failing = False
                return attempt
            except self.redis_errors as exc:
                self._redis_failed(exc)
        return self.database.reserve(address, limit)

    def release(self, attempt):
        try:
            attempt.store.release(attempt)
        except self.redis_errors as exc:
            self._redis_failed(exc)  # the reservation lapses with the window

    def clear(self, address):
        self.database.clear(address)
        if self.redis is not None:
            try:
                self.redis.clear(address)
            except self.redis_errors as exc:
                self._redis_failed(exc)


def _throttle():
    return current_app.extensions["taskapi-login-throttle"]


def check(email):
    """Reserve this login's place among the address's failures; the Attempt says whether it was refused."""
    return _throttle().reserve(address_key(email), current_app.config["LOGIN_FAILURE_LIMIT"])


def succeeded(attempt):
    """The password was right: this attempt is no failure."""
    _throttle().release(attempt)


def clear(email):
    """Forget every failure of the address (a password reset); the caller commits."""
    _throttle().clear(address_key(email))


def prune():
    """Delete every address's failures older than the window (Redis expires its own); return how many."""
    return db.session.execute(delete(LoginFailure).where(LoginFailure.created_at <= utcnow() - WINDOW)).rowcount


def init_app(app):
    app.extensions["taskapi-login-throttle"] = Throttle(app)
