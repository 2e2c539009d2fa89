"""The background thread: runs every job, at once when woken, and survives a database that goes away."""

import os
import signal
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from taskapi import background, config, memory


@pytest.fixture
def worker_app(make_app):
    app = make_app(BACKGROUND_WORK=True)
    app.extensions[background.EXTENSION].interval = 30  # only a wake makes it run again
    yield app
    background.stop(app)


def until(predicate, timeout=30.0):  # generous: a busy machine starves the thread for seconds
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_jobs_run_in_order_at_start_and_when_woken(worker_app):
    runs = []
    background.register(worker_app, lambda: runs.append("first"))
    background.register(worker_app, lambda: runs.append("second"))
    background.start(worker_app)  # after the app's own jobs (reset requests, mail, then maintenance), these two
    until(lambda: len(runs) >= 2)
    assert runs == ["first", "second"]
    background.wake(worker_app)
    until(lambda: len(runs) >= 4)
    assert runs == ["first", "second"] * 2


def test_a_wake_runs_the_jobs_at_once(worker_app):
    runs = threading.Event()
    background.start(worker_app)
    time.sleep(0.2)
    background.register(worker_app, runs.set)
    background.wake(worker_app)
    assert runs.wait(10)  # not the 30 s interval (the first round, maintenance's, may still be running)


def test_a_wake_for_one_job_runs_that_job_alone(worker_app):
    runs = []
    first, second = (lambda: runs.append("first")), (lambda: runs.append("second"))
    background.register(worker_app, first)
    background.register(worker_app, second)
    background.start(worker_app)
    until(lambda: len(runs) >= 2)
    background.wake(worker_app, second)
    until(lambda: len(runs) >= 3)
    time.sleep(0.2)
    assert runs == ["first", "second", "second"]


def test_a_wake_for_a_gathering_job_waits_for_work_to_gather_first(worker_app):
    runs = []
    background.register(worker_app, lambda: runs.append(time.monotonic()), gather=0.5)
    gathering = worker_app.extensions[background.EXTENSION].jobs[-1]
    background.start(worker_app)
    until(lambda: len(runs) >= 1)
    woken = time.monotonic()
    for _ in range(3):  # wakes meanwhile make no round of their own
        background.wake(worker_app, gathering)
        time.sleep(0.05)
    until(lambda: len(runs) >= 2)
    time.sleep(0.3)
    assert len(runs) == 2 and runs[1] - woken >= 0.45


def test_a_job_that_found_work_runs_again_at_once(worker_app):
    found = iter([True, True, False])
    runs = []

    def job():
        runs.append(1)
        return next(found, False)

    background.register(worker_app, job)
    background.start(worker_app)
    until(lambda: len(runs) >= 3)  # no wake, and the interval is 30 s
    time.sleep(0.2)
    assert len(runs) == 3


def test_a_database_outage_pauses_the_jobs_and_logs_once(worker_app, caplog):
    failing = {"left": 3}

    def flaky():
        if failing["left"]:
            failing["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception('connection to server at "db" (10.0.0.9), port 5432 '
                                                            "failed: Connection refused"))
        return False

    background.register(worker_app, flaky)
    background.start(worker_app)
    # Wakes during a round make one more round, not one each: wake until three rounds have failed.
    until(lambda: background.wake(worker_app) or failing["left"] == 0)
    background.wake(worker_app)
    until(lambda: "background work resumed" in caplog.text)
    paused = [r for r in caplog.records if "background work paused" in r.getMessage()]
    assert len(paused) == 1 and 'connection to server at "db"' in paused[0].getMessage()


def test_start_is_once_per_process_and_stop_ends_the_thread(worker_app):
    background.start(worker_app)
    background.start(worker_app)
    assert [t.name for t in threading.enumerate()].count("taskapi-background") == 1
    background.stop(worker_app)
    assert "taskapi-background" not in [t.name for t in threading.enumerate()]


def test_testing_runs_no_thread(app):
    background.start(app)
    assert "taskapi-background" not in [t.name for t in threading.enumerate()]


def test_the_flask_run_server_starts_the_thread_at_its_first_request(worker_app):
    assert "taskapi-background" not in [t.name for t in threading.enumerate()]
    worker_app.test_client().get("/health/live")
    assert "taskapi-background" in [t.name for t in threading.enumerate()]


def test_the_thread_gives_freed_memory_back_every_trim_interval(worker_app, monkeypatch):
    trims = threading.Event()
    monkeypatch.setattr(memory, "TRIM_INTERVAL", 0)
    monkeypatch.setattr(memory, "release_free_memory", trims.set)
    background.start(worker_app)
    until(trims.is_set)


def test_flask_background_run_runs_the_jobs_here_until_sigterm(make_app):
    app = make_app()  # BACKGROUND_WORK off, as on web processes beside such a process
    before = signal.getsignal(signal.SIGTERM)
    """The loop of a process type of its own: every job at once, in the command's own thread, ended by SIGTERM
    after the jobs under way."""
    runs = []

    def job():
        runs.append(threading.current_thread() is threading.main_thread())
        os.kill(os.getpid(), signal.SIGTERM)
        return False

    background.register(app, job)
    result = app.test_cli_runner().invoke(args=["background", "run"])
    assert result.exit_code == 0, result.output
    assert runs == [True]
    assert signal.getsignal(signal.SIGTERM) is before


def test_background_work_is_on_outside_testing_unless_turned_off():
    development = {"TASKAPI_ENV": "development"}
    assert config.load("/tmp", development)["BACKGROUND_WORK"] is True
    assert config.load("/tmp", {**development, "BACKGROUND_WORK": "false"})["BACKGROUND_WORK"] is False
