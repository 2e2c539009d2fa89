"""The first hour: `make run` and the flask command as a newcomer meets them."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from taskapi import config
from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_dry_run(*args):
    """The command `make run` would serve with, also when this suite itself runs under make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "run", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return next(line for line in reversed(out.splitlines()) if " run " in line)


def dev_env(tmp_path):
    """What `flask` reads from .flaskenv, on a SQLite file of the test's own."""
    return {**os.environ, "FLASK_APP": "wsgi", "TASKAPI_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_make_run_reloads_and_takes_a_port():
    assert make_dry_run().endswith("flask run --host 127.0.0.1 --port 5000 --reload")
    assert make_dry_run("PORT=8123").endswith("--port 8123 --reload")


def test_the_dev_server_logs_one_line_per_request_without_colour(tmp_path):
    env = {k: v for k, v in dev_env(tmp_path).items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    command = make_dry_run(f"PORT={port}").split()
    command[0] = str(BIN / "flask")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # The first answer waits for the app to load (seconds on a busy machine); one request, so one log line.
                answer = requests.get(f"http://127.0.0.1:{port}/health/live", timeout=30,
                                      headers={"X-Request-ID": "dev-1"})
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "the dev server did not start"
                time.sleep(0.2)
        assert answer.status_code == 200
        time.sleep(0.5)
        assert len(_children(server.pid)) == 1  # the reloader watches and restarts its serving child
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have died already; the asserts say why
            os.killpg(server.pid, signal.SIGINT)
        _, err = server.communicate(timeout=30)
    about_it = [line for line in err.splitlines() if "/health/live" in line]
    assert len(about_it) == 1 and "[dev-1]" in about_it[0], err
    assert "\x1b[" not in err
    assert "Running on http://127.0.0.1" in err


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return out.split()


def test_flask_openapi_print_writes_only_the_document(tmp_path):
    result = subprocess.run([BIN / "flask", "openapi", "print"], cwd=ROOT, env=dev_env(tmp_path),
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["openapi"].startswith("3.")


def test_development_keeps_rate_limits_out_of_a_developers_way():
    development = config.load("/tmp", {"TASKAPI_ENV": "development"})
    production = config.load("/tmp", {"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "s" * 32, "DATABASE_URL": "sqlite://"})
    assert (development["AUTH_RATE_LIMIT"], development["LOGIN_FAILURE_LIMIT"]) == ("300 per minute", 50)
    assert (production["AUTH_RATE_LIMIT"], production["LOGIN_FAILURE_LIMIT"]) == ("10 per minute", 5)
    assert re.fullmatch(r"\d+ per minute", development["AUTH_RATE_LIMIT"])
