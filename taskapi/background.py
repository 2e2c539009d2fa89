"""Background work in each serving process: one thread runs the registered jobs, woken or on a timer.

Work that must not happen inside a request (mail and webhook delivery) is stored in the
database by the request and done here. Every process that serves runs this
thread, so no extra process type is needed; the jobs claim rows so that
several workers and instances never do the same work twice.
"""

import logging
import os
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from taskapi import memory
from taskapi.extensions import db

log = logging.getLogger(__name__)
EXTENSION = "taskapi-background"


class Worker:
    """The jobs of one app and the thread that runs them (one per process)."""

    def __init__(self, app):
        self.app = app
        self.jobs = []
        self.interval = app.config["BACKGROUND_INTERVAL"]
        self._wake = threading.Event()
        self._pid = None
        self._failing = False
        self._stopping = False

    def run_jobs(self):
        """Run every job once, in order; returns True when one of them did something."""
        busy = False
        with self.app.app_context():
            for job in self.jobs:
                try:
                    busy = bool(job()) or busy
                except SQLAlchemyError as exc:
                    db.session.rollback()
                    self._report(exc)
                    return False
                finally:
                    db.session.remove()
        if self._failing:
            log.info("background work resumed")
            self._failing = False
        return busy

    def _report(self, exc):
        """One line when the database goes away, not one every interval."""
        if not self._failing:
            log.warning("background work paused: %s: %s", exc.__class__.__name__,
                        str(getattr(exc, "orig", None) or exc).strip())
            self._failing = True

    def _loop(self):
        next_trim = time.monotonic() + memory.TRIM_INTERVAL
        while not self._stopping:
            self._wake.clear()  # before the jobs: a wake that comes while they run is kept
            try:
                busy = self.run_jobs()
            except Exception:  # a bug in a job must not end delivery for the process's lifetime
                log.exception("background job failed")
                busy = False
            if time.monotonic() >= next_trim:  # the requests' freed memory back to the system
                memory.release_free_memory()
                next_trim = time.monotonic() + memory.TRIM_INTERVAL
            if not busy:
                self._wake.wait(self.interval)

    def start(self):
        """Start the thread in this process, once (again after a fork: threads do not survive it)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="taskapi-background", daemon=True)
        self._thread.start()

    def stop(self):
        """Let the thread finish the jobs it is running, then end (tests use it; workers just exit)."""
        if self._pid == os.getpid():
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._pid = None

    def wake(self):
        self._wake.set()


def register(app, job):
    """Add `job` (a callable run inside an app context; truthy when it did work) to the app's worker."""
    app.extensions[EXTENSION].jobs.append(job)


def start(app):
    """Start the app's background thread in this process (gunicorn's post_worker_init calls it)."""
    if app.config["BACKGROUND_WORK"]:
        app.extensions[EXTENSION].start()


def stop(app):
    app.extensions[EXTENSION].stop()


def run_jobs(app):
    """Run every job once, here and now (the CLI's way to do by hand what the thread does)."""
    return app.extensions[EXTENSION].run_jobs()


def wake(app):
    """Have this process's thread look for work now rather than at its next interval."""
    app.extensions[EXTENSION].wake()


def init_app(app, serving_under_gunicorn):
    app.extensions[EXTENSION] = Worker(app)
    if app.config["BACKGROUND_WORK"] and not serving_under_gunicorn:
        # `flask run` has no worker hook: its serving process starts the thread at its first request.
        app.before_request(lambda: start(app))
