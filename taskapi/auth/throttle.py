"""Login throttling per account: LOGIN_FAILURE_LIMIT failed checks per address in 15 minutes, then 429 from anywhere.

Counts are shared by every worker and instance: in the database, or in Redis when
REDIS_URL is set (falling back to the database while Redis is unreachable).

Only failed password checks count. A check in flight is *pending*: it holds a place
while the password is verified, then becomes a recorded failure (a wrong password)
or goes away (the right one). A login is refused only when the recorded failures
reach the limit. When failures and pending checks together reach it, the new check
waits (polling, at most PENDING_WAIT seconds) for those in flight to be decided
instead of being refused: so right passwords are never refused because other logins
are in flight, and of a burst of concurrent wrong guesses exactly the limit reach the
password check. Should the pending checks still hold every place after the wait, the
check is refused with Retry-After 1.

Each store decides in one step, one address at a time: in the database one
transaction under a lock on the address reads every row it counts, and the
Retry-After from them; in Redis one Lua script. A pending check whose request died
(a worker killed mid-check) counts as the failure it may have been once it is
PENDING_TTL old.
"""

import hashlib
import logging
import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from taskapi.auth.models import LoginFailure
from taskapi.extensions import db
from taskapi.models import rowcount, utcnow

log = logging.getLogger(__name__)
WINDOW = timedelta(minutes=15)
PENDING_TTL = timedelta(seconds=60)  # longer than any request may run (GUNICORN_TIMEOUT)
PENDING_WAIT = 5.0  # seconds a check waits for pending ones to be decided before it is refused
POLL = (0.02, 0.06)  # seconds between two looks while waiting, at random: waiting checks do not move in step
REDIS_KEY = "taskapi:login-failures:{}"
REDIS_PENDING_KEY = "taskapi:login-pending:{}"


def address_key(email):
    """Failures are counted by a hash of the normalised address, so the store is no list of addresses tried."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class Attempt:
    """A pending check of an address's password; `retry_after` is set when it was refused instead."""

    store: object
    address: str
    token: object
    retry_after: int | None = None


class DatabaseStore:
    """Failures and pending checks as rows of login_failures; one address's checks take turns, so counts are exact."""

    def reserve(self, address, limit):
        """A pending Attempt, a refused one, or None while pending checks hold the places left."""
        now = utcnow()
        # Take turns: PostgreSQL with a lock on the address held until commit; SQLite by writing
        # first (dropping this address's stale rows), which takes its one write lock.
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(address))))
        else:
            db.session.execute(delete(LoginFailure).where(LoginFailure.address == address,
                                                          LoginFailure.created_at <= now - WINDOW))
        # One statement reads every row counted and the one Retry-After is taken from: a row deleted
        # meanwhile (a check succeeding, a reset) is simply not among them.
        rows = db.session.execute(
            select(LoginFailure.created_at, LoginFailure.pending)
            .where(LoginFailure.address == address, LoginFailure.created_at > now - WINDOW)
            .order_by(LoginFailure.created_at.desc())
        ).all()
        failures = [row.created_at for row in rows if not row.pending or row.created_at <= now - PENDING_TTL]
        attempt = None
        if len(failures) >= limit:
            # Allowed again once the limit-th most recent failure leaves the window.
            attempt = Attempt(self, address, None, _seconds_until(failures[limit - 1] + WINDOW, now))
        elif len(rows) < limit:
            pending = LoginFailure(address=address, created_at=now, pending=True)
            db.session.add(pending)
            db.session.flush()
            attempt = Attempt(self, address, pending.id)
        db.session.commit()  # the place is taken (and the lock let go) before the password is checked
        return attempt

    def release(self, attempt):
        db.session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.token))
        db.session.commit()

    def fail(self, attempt):
        db.session.execute(update(LoginFailure).where(LoginFailure.id == attempt.token)
                           .values(pending=False, created_at=utcnow()))
        db.session.commit()

    def clear(self, address):
        db.session.execute(delete(LoginFailure).where(LoginFailure.address == address))


# KEYS: failures, pending (sorted sets scored by time). ARGV: now, window, limit, member, pending TTL (seconds).
# Answers {"refused", score of the limit-th most recent failure}, {"busy"} or {"pending"}.
RESERVE_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]), 'WITHSCORES')
for i = 1, #stale, 2 do
  redis.call('ZADD', KEYS[1], stale[i + 1], stale[i])
  redis.call('ZREM', KEYS[2], stale[i])
end
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
local failed = redis.call('ZCARD', KEYS[1])
if failed >= limit then
  return {'refused', redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')[2]}
end
if failed + redis.call('ZCARD', KEYS[2]) >= limit then
  return {'busy'}
end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('EXPIRE', KEYS[2], math.ceil(window) + 1)
return {'pending'}
"""


class RedisStore:
    """Failures and pending checks as two sorted sets per address, scored by time; one Lua script decides."""

    def __init__(self, url):
        import redis  # here, not at the top: the client library is ~6 MB of each worker's memory, for Redis users only

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.errors = redis.RedisError
        self.script = self.client.register_script(RESERVE_SCRIPT)

    @staticmethod
    def _keys(address):
        return REDIS_KEY.format(address), REDIS_PENDING_KEY.format(address)

    def reserve(self, address, limit):
        """As DatabaseStore.reserve."""
        member, now, window = uuid.uuid4().hex, time.time(), WINDOW.total_seconds()
        answer = self.script(keys=self._keys(address),
                             args=[repr(now), window, limit, member, PENDING_TTL.total_seconds()])
        if answer[0] == b"busy":
            return None
        if answer[0] == b"refused":
            retry_after = _seconds_until(datetime.fromtimestamp(float(answer[1]) + window, UTC),
                                         datetime.fromtimestamp(now, UTC))
            return Attempt(self, address, None, retry_after)
        return Attempt(self, address, member)

    def release(self, attempt):
        self.client.zrem(REDIS_PENDING_KEY.format(attempt.address), attempt.token)

    def fail(self, attempt):
        failures, pending = self._keys(attempt.address)
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(pending, attempt.token)
        pipe.zadd(failures, {attempt.token: time.time()})
        pipe.expire(failures, int(WINDOW.total_seconds()) + 1)
        pipe.execute()

    def clear(self, address):
        self.client.delete(*self._keys(address))


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
        deadline = time.monotonic() + PENDING_WAIT
        while (attempt := self._reserve_once(address, limit)) is None:
            if time.monotonic() >= deadline:
                return Attempt(None, address, None, retry_after=1)  # checks in flight still hold every place
            time.sleep(random.uniform(*POLL))
        return attempt

    def _reserve_once(self, address, limit):
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
            self._redis_failed(exc)  # the pending check lapses: it counts as a failure after PENDING_TTL

    def fail(self, attempt):
        try:
            attempt.store.fail(attempt)
        except self.redis_errors as exc:
            self._redis_failed(exc)  # likewise

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
    """A pending check of the address's password, or a refused one (`retry_after`); may wait for others in flight."""
    return _throttle().reserve(address_key(email), current_app.config["LOGIN_FAILURE_LIMIT"])


def succeeded(attempt):
    """The password was right: the check is no failure."""
    _throttle().release(attempt)


def failed(attempt):
    """The password was wrong: the check is a recorded failure from now."""
    _throttle().fail(attempt)


def clear(email):
    """Forget every failure of the address (a password reset); the caller commits."""
    _throttle().clear(address_key(email))


def prune():
    """Delete every address's failures older than the window (Redis expires its own); return how many."""
    return rowcount(db.session.execute(delete(LoginFailure).where(LoginFailure.created_at <= utcnow() - WINDOW)))


def init_app(app):
    app.extensions["taskapi-login-throttle"] = Throttle(app)
