"""Each process's hub: the streams it holds, and the one thread that finds what changed for them.

Every POLL_SECONDS (without Redis), or when Redis says lists changed (with it: at most 5 times a second, and every
SAFETY_POLL_SECONDS besides), the hub runs one statement for all its streams: their users' memberships
with each list's version, and which of their sessions still stand. A version or a membership that differs
from what a stream last saw is an `event: changed` with those lists; a session gone is `event: revoked`
and the end. The same thread keeps the streams' rows alive (OPEN_STREAM_SECONDS) and deletes the rows of
streams that ended. Nothing here needs LISTEN/NOTIFY, so it works behind PgBouncer in transaction mode.
"""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, false, literal, select, union_all, update
from sqlalchemy.exc import SQLAlchemyError

from taskapi.auth.models import User, UserSession
from taskapi.extensions import db
from taskapi.lists.models import Membership, TaskList
from taskapi.models import utcnow
from taskapi.stream import fanout
from taskapi.stream.models import OpenStream

log = logging.getLogger(__name__)
EXTENSION = "taskapi-stream-hub"
POLL_SECONDS = 0.5  # without Redis: a change reaches a stream within this and the poll's time
SAFETY_POLL_SECONDS = 2.0  # with Redis: sessions ended (revoked within 5 s), and what a lost message missed
# With Redis: polls come at most this often, however many messages arrive. A message names lists, not who
# joined them, so it is answered with a poll (a stream learns its new lists too), and under a steady stream of
# writes a worker polls 5 times a second, about 3 % of a core with 500 streams (docs/performance.md).
NUDGE_GAP_SECONDS = 0.2
OPEN_STREAM_SECONDS = 60  # a stream's row counts this long after its worker last pushed it forward
REFRESH_SECONDS = 20  # how often the worker pushes its streams' rows forward
RETRY_MILLISECONDS = 3000  # the `retry:` a client waits before reconnecting

# One round trip for every stream of the process: (0, user, session, 0) for each session still valid,
# (1, user, list, version) for each membership.
POLL = union_all(
    select(literal(0).label("kind"), UserSession.user_id, UserSession.id.label("id"), literal(0).label("version"))
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id.in_(bindparam("sessions", expanding=True)), User.disabled == false()),
    select(literal(1), Membership.user_id, Membership.list_id, TaskList.version)
    .join(TaskList, TaskList.id == Membership.list_id)
    .where(Membership.user_id.in_(bindparam("users", expanding=True))),
)


def versions_of(user_id):
    """The user's lists and their versions now: what a new stream starts from."""
    query = select(Membership.list_id, TaskList.version).join(TaskList, TaskList.id == Membership.list_id)
    return {list_id: version for list_id, version in db.session.execute(query.where(Membership.user_id == user_id))}


def event(name, data):
    return f"event: {name}\ndata: {json.dumps(data, separators=(', ', ': '))}\n\n".encode()


OPENING = f"retry: {RETRY_MILLISECONDS}\n: open\n\n".encode()
HEARTBEAT = b": keep-alive\n\n"
REVOKED = event("revoked", {})


@dataclass(eq=False)
class Stream:
    """An open stream: its row, its user and session, what it last saw, and where its events go (`sink`:
    send(bytes) and close(), from any thread)."""

    row_id: int
    user_id: int
    session_id: int
    versions: dict[int, int]
    sink: Any = None
    ended: bool = field(default=False)


class Hub:
    def __init__(self, app):
        self.app = app
        self.redis_url = app.config["REDIS_URL"]
        self.interval = SAFETY_POLL_SECONDS if self.redis_url else POLL_SECONDS
        self.streams: dict[int, Stream] = {}
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()
        self._ended_rows: list[int] = []
        self._nudged = False
        self._pid = None
        self._stopping = False
        self._failing = False
        self.polls = 0

    # From request threads and the worker's event loop.

    def add(self, stream):
        with self._lock:
            self.streams[stream.row_id] = stream
        self.start()

    def remove(self, stream):
        """The stream ended (any reason): forget it, and have its row deleted soon."""
        with self._lock:
            if self.streams.pop(stream.row_id, None) is None:
                return
            self._ended_rows.append(stream.row_id)
        self._wake.set()

    def nudge(self):
        """Redis said lists changed: poll now."""
        self._nudged = True
        self._wake.set()

    # The thread.

    def start(self):
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="taskapi-stream-hub", daemon=True)
            self._thread.start()
            if self.redis_url:
                threading.Thread(target=fanout.listen, args=(self.redis_url, self.nudge, self._stopped),
                                 name="taskapi-stream-listener", daemon=True).start()

    def stop(self):
        if self._pid == os.getpid():
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout=5)
            self._pid = None

    def _stopped(self):
        return self._stopping

    def _run(self):
        next_poll = next_refresh = time.monotonic()
        last_poll = 0.0
        while not self._stopping:
            self._wake.wait(max(0.0, next_poll - time.monotonic()))
            self._wake.clear()
            if self._stopping:
                break
            try:
                self._delete_ended()
                now = time.monotonic()
                if self._nudged and now - last_poll < NUDGE_GAP_SECONDS:
                    time.sleep(NUDGE_GAP_SECONDS - (now - last_poll))
                if self._nudged or time.monotonic() >= next_poll:
                    self._nudged = False
                    last_poll = time.monotonic()
                    self.poll()
                    next_poll = last_poll + self.interval
                if time.monotonic() >= next_refresh:
                    self.refresh()
                    next_refresh = time.monotonic() + REFRESH_SECONDS
            except SQLAlchemyError as exc:  # the database went away: the streams stay, the next round tries again
                if not self._failing:
                    log.warning("live updates paused: %s: %s", exc.__class__.__name__,
                                str(getattr(exc, "orig", None) or exc).strip())
                self._failing = True
                next_poll = time.monotonic() + self.interval
                continue
            except Exception:  # a bug: said once a round, and the next round tries again
                log.exception("live updates: a poll failed")
                next_poll = time.monotonic() + self.interval
                continue
            if self._failing:
                log.info("live updates resumed")
                self._failing = False

    def _delete_ended(self):
        with self._lock:
            rows, self._ended_rows = self._ended_rows, []
        if rows:
            with self.app.app_context(), db.engine.begin() as connection:
                connection.execute(delete(OpenStream).where(OpenStream.id.in_(rows)))

    def poll(self):
        """One statement for every stream of the process; each learns what changed for it."""
        with self._lock:
            streams = list(self.streams.values())
        if not streams:
            return
        with self._poll_lock:
            params = {"sessions": sorted({s.session_id for s in streams}),
                      "users": sorted({s.user_id for s in streams})}
            with self.app.app_context(), db.engine.connect() as connection:
                rows = connection.execution_options(isolation_level="AUTOCOMMIT").execute(POLL, params).all()
            self.polls += 1
            sessions = set()
            lists: dict[int, dict[int, int]] = {}
            for kind, user_id, object_id, version in rows:
                if kind == 0:
                    sessions.add(object_id)
                else:
                    lists.setdefault(user_id, {})[object_id] = version
            for stream in streams:
                if stream.ended:
                    continue
                if stream.session_id not in sessions:
                    self.revoke(stream)
                    continue
                now = lists.get(stream.user_id, {})
                changed = {list_id for list_id in stream.versions.keys() | now.keys()
                           if stream.versions.get(list_id) != now.get(list_id)}
                if changed:
                    stream.versions = now
                    stream.sink.send(event("changed", {"lists": sorted(changed)}))

    def revoke(self, stream):
        stream.ended = True
        stream.sink.send(REVOKED)
        stream.sink.close()

    def refresh(self):
        """Keep this process's streams' rows counted; drop the rows of streams whose worker died."""
        with self._lock:
            rows = list(self.streams)
        if not rows:
            return  # an idle worker sends nothing: expired rows count for nobody, a busy worker deletes them
        now = utcnow()
        with self.app.app_context(), db.engine.begin() as connection:
            connection.execute(update(OpenStream).where(OpenStream.id.in_(rows))
                               .values(expires_at=now + timedelta(seconds=OPEN_STREAM_SECONDS)))
            connection.execute(delete(OpenStream).where(OpenStream.expires_at < now))


def hub(app):
    return app.extensions[EXTENSION]


def init_app(app):
    app.extensions[EXTENSION] = Hub(app)
