"""Background work in each serving process: one thread runs the registered jobs, every one on a timer, and
the ones a request asks for at once (woken).

Work that must not happen inside a request (mail and webhook delivery) is stored in the
database by the request and done here. Every process that serves runs this
thread, so no extra process type is needed; the jobs claim rows so that
several workers and instances never do the same work twice. A deployment that wants
that work off its web processes sets BACKGROUND_WORK=false on them and runs
`flask background run` as a process type of its own (the same loop, in the foreground).
"""

import logging
import os
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from taskapi import memory
from taskapi.extensions import db

log = logging.getLogger(__name__)
EXTENSION = "taskapi-background"


EVERY = "every job"  # what wake() without a job asks for


class Worker:
    """The jobs of one app and the thread that runs them (one per process)."""

    def __init__(self, app):
        self.app = app
        self.jobs = []
        self.gather = {}  # job → seconds a wake for it alone waits before running it, so that work gathers
        self.interval = app.config["BACKGROUND_INTERVAL"]
        self._wake = threading.Event()
        self._woken = set()  # jobs asked for (or EVERY) since the thread last took them
        self._lock = threading.Lock()
        self._pid = None
        self._failing = False
        self._stopping = False

    def run_jobs(self, jobs=None):
        """Run `jobs` (default: every job) once, in the order registered; the set of those that did something."""
        busy = set()
        with self.app.app_context():
            for job in self.jobs if jobs is None else [job for job in self.jobs if job in jobs]:
                try:
                    if job():
                        busy.add(job)
                except SQLAlchemyError as exc:
                    db.session.rollback()
                    self._report(exc)
                    return set()
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

    def _take_woken(self):
        with self._lock:
            woken, self._woken = self._woken, set()
            self._wake.clear()  # before the jobs run: a wake that comes while they do is kept
        return woken

    def _gather_time(self):
        """How long to let work gather before running the jobs woken: only a wake for gathering jobs alone waits."""
        with self._lock:
            if not self._woken or EVERY in self._woken:
                return 0.0
            return max(self.gather.get(job, 0.0) for job in self._woken)

    def _loop(self):
        next_trim = time.monotonic() + memory.TRIM_INTERVAL
        next_round = time.monotonic()  # every job once at the start, then every interval
        while not self._stopping:
            if self._wake.wait(max(next_round - time.monotonic(), 0)):
                time.sleep(self._gather_time())
            woken = self._take_woken()
            if time.monotonic() >= next_round or EVERY in woken:
                next_round = time.monotonic() + self.interval
                jobs = None
            else:
                jobs = woken
            try:
                busy = self.run_jobs(jobs)
            except Exception:  # a bug in a job must not end delivery for the process's lifetime
                log.exception("background job failed")
                busy = set()
            if time.monotonic() >= next_trim:  # the requests' freed memory back to the system
                memory.release_free_memory()
                next_trim = time.monotonic() + memory.TRIM_INTERVAL
            if busy:  # a job that found work may find more: it runs again at once
                self.wake(*busy)

    def start(self):
        """Start the thread in this process, once (again after a fork: threads do not survive it)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="taskapi-background", daemon=True)
        self._thread.start()

    def run_here(self):
        """Run the loop in this thread until SIGTERM or SIGINT (each lets the jobs under way finish first)."""

        def halt(signum, frame):
            self._stopping = True
            self._wake.set()

        previous = {number: signal.signal(number, halt) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._pid = os.getpid()
            self._stopping = False
            self._loop()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._pid = None

    def stop(self):
        """Let the thread finish the jobs it is running, then end (tests use it; workers just exit)."""
        if self._pid == os.getpid():
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._pid = None

    def wake(self, *jobs):
        with self._lock:
            self._woken.update(jobs or (EVERY,))
        self._wake.set()


def register(app, job, gather=0.0):
    """Add `job` (a callable run inside an app context; truthy when it did work) to the app's worker.

    `gather`: when woken for this job alone, the thread waits that many seconds first, so that work
    arriving meanwhile (a busy list's webhook events) is done in one round rather than one each.
    """
    worker = app.extensions[EXTENSION]
    worker.jobs.append(job)
    worker.gather[job] = gather


def start(app):
    """Start the app's background thread in this process (gunicorn's post_worker_init calls it)."""
    if app.config["BACKGROUND_WORK"]:
        app.extensions[EXTENSION].start()


def stop(app):
    app.extensions[EXTENSION].stop()


def run_jobs(app):
    """Run every job once, here and now (the CLI's way to do by hand what the thread does); whether any did work."""
    return bool(app.extensions[EXTENSION].run_jobs())


def wake(app, job=None):
    """Have this process's thread run `job` (default: every job) now rather than at its next interval."""
    worker = app.extensions[EXTENSION]
    worker.wake(*([job] if job is not None else []))


@click.group(cls=AppGroup, help="The background jobs: mail, webhooks, password reset requests, maintenance.")
def background_cli():
    pass


@background_cli.command("run", help="Run the background jobs in this process until stopped (SIGTERM): for a process "
                        "type of their own, with BACKGROUND_WORK=false on the web processes.")
def run_command():
    log.info("background work running in this process")
    current_app.extensions[EXTENSION].run_here()


def init_app(app, serving_under_gunicorn):
    app.extensions[EXTENSION] = Worker(app)
    app.cli.add_command(background_cli, "background")
    if app.config["BACKGROUND_WORK"] and not serving_under_gunicorn:
        # `flask run` has no worker hook: its serving process starts the thread at its first request.
        app.before_request(lambda: start(app))
