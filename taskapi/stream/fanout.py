"""Fan-out through Redis: each commit that changed lists publishes their ids once, off the request's thread;
every process's hub listens and looks at once. Without REDIS_URL nothing is published (the hub polls)."""

import json
import logging
import os
import queue
import threading
import time

from flask import current_app, has_app_context
from sqlalchemy import event

from taskapi.lists.access import CHANGED_LISTS
from taskapi.sessions import Session

log = logging.getLogger(__name__)
CHANNEL = "taskapi:stream:changed"
EXTENSION = "taskapi-stream-publisher"
TIMEOUT = 1.0  # seconds a Redis command may take, in the publisher's and listener's threads only


def client(url):
    import redis  # only with REDIS_URL: the client costs each worker some megabytes

    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


class Publisher:
    """One thread per process publishing the lists commits changed: a write only puts ids on a queue.

    Ids waiting together go out in one PUBLISH. A Redis outage costs the writes nothing: the thread
    logs it once and drops what it could not send; the hubs' slower poll still finds those changes.
    """

    def __init__(self, url):
        self.url = url
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pid = None
        self._lock = threading.Lock()
        self._failing = False

    def publish(self, list_ids):
        if self._pid != os.getpid():
            self._start()
        self._queue.put(list_ids)

    def _start(self):
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()  # a fork's copy may hold the parent's
            threading.Thread(target=self._run, name="taskapi-stream-publisher", daemon=True).start()
            self._pid = os.getpid()

    def _run(self):
        import redis

        redis_client = client(self.url)
        while True:
            ids = set(self._queue.get())
            while True:
                try:
                    ids |= self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                redis_client.publish(CHANNEL, json.dumps({"lists": sorted(ids)}))
            except redis.RedisError as exc:
                if not self._failing:
                    log.warning("live updates: cannot publish to Redis (%s); streams fall back to polling",
                                exc.__class__.__name__)
                self._failing = True
                continue
            if self._failing:
                log.info("live updates: publishing to Redis again")
                self._failing = False


def _published(session):
    """after_commit: the lists the transaction changed, to the publisher (with Redis; else just forgotten)."""
    changed = session.info.pop(CHANGED_LISTS, None)
    if changed and has_app_context():
        publisher = current_app.extensions.get(EXTENSION)
        if publisher is not None:
            publisher.publish(changed)


def _forgotten(session):
    session.info.pop(CHANGED_LISTS, None)


event.listen(Session, "after_commit", _published)
event.listen(Session, "after_rollback", _forgotten)


def listen(url, nudge, stopping):
    """Call nudge() for every message on the channel, until stopping() (a thread of the hub runs this).

    After a broken connection it reconnects, nudging once: what was published meanwhile is found by a poll.
    """
    import redis

    failing = False
    while not stopping():
        try:
            pubsub = client(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            if failing:
                log.info("live updates: listening to Redis again")
                failing = False
                nudge()
            while not stopping():
                if pubsub.get_message(timeout=TIMEOUT) is not None:
                    nudge()
        except redis.RedisError as exc:
            if not failing:
                log.warning("live updates: lost Redis (%s); streams fall back to polling", exc.__class__.__name__)
            failing = True
            time.sleep(TIMEOUT)


def init_app(app):
    if app.config["REDIS_URL"]:
        app.extensions[EXTENSION] = Publisher(app.config["REDIS_URL"])
