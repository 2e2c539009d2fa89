"""Periodic maintenance: once per period across workers and instances, `flask maintenance run`, its metric."""

import logging
import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi import background, config, maintenance
from taskapi.extensions import db
from taskapi.maintenance import MaintenanceJob
from taskapi.models import utcnow


def run_job(app, name):
    """`flask maintenance run NAME`: what the job said it did."""
    result = app.test_cli_runner().invoke(args=["maintenance", "run", name])
    assert result.exit_code == 0, result.output
    return result.output.removeprefix(f"{name}: ").strip()


def every_coin_heads(monkeypatch):
    """Pin random.random() at 0: a request pruning one time in N by chance would now prune every time."""
    monkeypatch.setattr(random, "random", lambda: 0.0)


@pytest.fixture
def counted(monkeypatch):
    """The job table replaced by two jobs that count their runs: {name: runs}."""
    runs = {"first": 0, "second": 0}

    def job(name):
        def run():
            runs[name] += 1
            return runs[name]
        return run

    monkeypatch.setattr(maintenance, "JOBS", {name: (job(name), "run {}") for name in runs})
    return runs


def run_due(app):
    with app.app_context():
        maintenance.run_due()


def a_period_passes(app):
    """Move every job's last start one MAINTENANCE_INTERVAL back, as if a period had passed."""
    with app.app_context():
        for row in db.session.execute(select(MaintenanceJob)).scalars():
            row.last_started_at -= timedelta(seconds=app.config["MAINTENANCE_INTERVAL"])
        db.session.commit()


def rows(app):
    with app.app_context():
        return {row.name: row for row in db.session.execute(select(MaintenanceJob)).scalars()}


def test_each_job_runs_once_per_period_across_two_instances(make_app, counted):
    one, two = make_app(), make_app()
    for _ in range(3):
        run_due(one)
        run_due(two)
    assert counted == {"first": 1, "second": 1}
    a_period_passes(one)
    for _ in range(3):
        run_due(two)
        run_due(one)
    assert counted == {"first": 2, "second": 2}


def test_each_job_runs_once_per_period_across_threads(make_app, counted):
    apps = [make_app() for _ in range(2)]
    def worker(app, start):
        start.wait()
        run_due(app)

    for period in (1, 2):
        start = threading.Barrier(8)  # the eight rounds ask for their claims at once
        threads = [threading.Thread(target=worker, args=(apps[i % 2], start)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert counted == {"first": period, "second": period}
        a_period_passes(apps[0])


def test_a_job_not_yet_due_waits_for_its_period(make_app, counted):
    app = make_app(MAINTENANCE_INTERVAL=60)
    run_due(app)
    with app.app_context():  # 59 s later
        db.session.execute(update(MaintenanceJob).values(last_started_at=utcnow() - timedelta(seconds=59)))
        db.session.commit()
    run_due(app)
    assert counted == {"first": 1, "second": 1}
    with app.app_context():
        db.session.execute(update(MaintenanceJob).where(MaintenanceJob.name == "second")
                           .values(last_started_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
    run_due(app)
    assert counted == {"first": 1, "second": 2}


def test_a_failing_job_is_logged_does_not_stop_the_others_and_runs_again_next_period(app, counted, monkeypatch,
                                                                                    caplog):
    attempts = []

    def broken():
        attempts.append(1)
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(maintenance.JOBS, "broken", (broken, "{}"))
    maintenance.JOBS["last"] = maintenance.JOBS.pop("second")  # after the broken one
    run_due(app)
    assert counted == {"first": 1, "second": 1} and len(attempts) == 1
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failed) == 1 and "maintenance job broken failed" in failed[0].getMessage()
    assert "disk on fire" in caplog.text
    stored = rows(app)
    assert stored["broken"].last_started_at is not None and stored["broken"].last_succeeded_at is None
    assert stored["first"].last_succeeded_at is not None
    run_due(app)
    assert len(attempts) == 1  # not every round: once per period
    a_period_passes(app)
    run_due(app)
    assert len(attempts) == 2 and counted == {"first": 2, "second": 2}


def test_the_background_thread_runs_every_job(make_app):
    app = make_app(BACKGROUND_WORK=True)
    background.start(app)
    try:
        deadline = time.monotonic() + 30
        while not all(row.last_succeeded_at for row in rows(app).values()) or len(rows(app)) < len(maintenance.JOBS):
            assert time.monotonic() < deadline, rows(app)
            time.sleep(0.05)
    finally:
        background.stop(app)
    assert set(rows(app)) == set(maintenance.JOBS)


def test_flask_maintenance_run_runs_every_job_now_and_says_what_each_did(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["maintenance", "run"])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert [line.split(":")[0] for line in lines] == list(maintenance.JOBS)
    assert "trash: 0 task(s) deleted from the trash for good, 0 feed tombstone(s) dropped" in lines
    assert "login-failures: 0 failed login(s) older than 15 minutes dropped" in lines
    again = runner.invoke(args=["maintenance", "run"])  # whatever the period
    assert again.exit_code == 0 and again.output == first.output
    assert all(row.last_succeeded_at for row in rows(app).values())


def test_flask_maintenance_run_job_runs_that_job_alone(app):
    result = app.test_cli_runner().invoke(args=["maintenance", "run", "mail-outbox"])
    assert result.exit_code == 0, result.output
    assert result.output == "mail-outbox: 0 message(s) sent or given up over a week ago dropped\n"
    assert {name for name, row in rows(app).items() if row.last_succeeded_at} == {"mail-outbox"}


def test_flask_maintenance_run_an_unknown_job_is_an_error(app):
    result = app.test_cli_runner().invoke(args=["maintenance", "run", "everything"])
    assert result.exit_code != 0
    assert "Invalid value for JOB: no job is named 'everything'; the jobs are trash, login-failures," in result.output
    assert rows(app) == {}  # nothing ran


def test_flask_maintenance_run_exits_non_zero_when_a_job_fails(app, monkeypatch):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(maintenance.JOBS, "trash", (broken, "{}"))
    result = app.test_cli_runner().invoke(args=["maintenance", "run"])
    assert result.exit_code == 1
    assert "trash: failed (see the log)" in result.output
    assert "mail-outbox: 0 message(s)" in result.output  # the others ran
    assert "1 job(s) failed: trash" in result.output


def last_success_samples(client):
    text = client.get("/metrics").get_data(as_text=True)
    prefix = "taskapi_maintenance_last_success_timestamp_seconds{"
    return {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(prefix)}


def test_each_jobs_last_success_is_in_metrics(app, client):
    before = time.time()  # a gauge keeps what an earlier test's run set in this process: the times tell them apart
    assert app.test_cli_runner().invoke(args=["maintenance", "run"]).exit_code == 0
    samples = {job: when for job, when in last_success_samples(client).items() if job in maintenance.JOBS}
    assert set(samples) == set(maintenance.JOBS)  # (other tests' stand-in jobs may be there too)
    assert all(before - 1 <= when <= time.time() + 1 for when in samples.values())


def test_another_instances_success_is_in_this_ones_metrics(make_app):
    one, two = make_app(), make_app()
    assert one.test_cli_runner().invoke(args=["maintenance", "run", "trash"]).exit_code == 0
    run_due(two)  # its round reads the table; the trash, run this period, is not due
    assert last_success_samples(two.test_client())["trash"] == last_success_samples(one.test_client())["trash"]


def test_maintenance_interval_defaults_to_an_hour_and_is_at_least_a_second():
    development = {"TASKAPI_ENV": "development"}
    assert config.load("/tmp", development)["MAINTENANCE_INTERVAL"] == 3600
    assert config.load("/tmp", {**development, "MAINTENANCE_INTERVAL": "60"})["MAINTENANCE_INTERVAL"] == 60
    for value in ("0", "hourly"):
        with pytest.raises(config.ConfigError, match="MAINTENANCE_INTERVAL"):
            config.load("/tmp", {**development, "MAINTENANCE_INTERVAL": value})
