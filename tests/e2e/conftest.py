"""End-to-end fixtures: taskapi started exactly as the Procfile does, on a fresh PostgreSQL database."""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import requests

from tests.helpers import processes

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
SECRET = "e2e-secret-" + "x" * 40
PG_ADMIN_URL = os.environ.get("E2E_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def e2e_requested(config):
    """The e2e suite runs when TASKAPI_E2E=1 or `-m` selects e2e; a plain `pytest` (make test) skips it."""
    if os.environ.get("TASKAPI_E2E") == "1":
        return True
    return re.search(r"(?<!not )\be2e\b", config.getoption("markexpr") or "") is not None


def soak_requested(config):
    """The soak test (minutes long) runs only when `-m` selects soak: never within `-m e2e` or a plain run."""
    return re.search(r"(?<!not )\bsoak\b", config.getoption("markexpr") or "") is not None


def pytest_collection_modifyitems(config, items):
    skip = None if e2e_requested(config) else pytest.mark.skip(reason="end-to-end: set TASKAPI_E2E=1 or use -m e2e")
    skip_soak = None if soak_requested(config) else pytest.mark.skip(reason="soak: use -m soak")
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            if item.get_closest_marker("soak"):
                if skip_soak:
                    item.add_marker(skip_soak)
            else:  # not e2e: `-m e2e` leaves the soak out
                item.add_marker(pytest.mark.e2e)
            if skip:
                item.add_marker(skip)


def _postgres_reachable():
    try:
        psycopg2.connect(PG_ADMIN_URL, connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _venv_bin():
    return str(Path(sys.executable).parent)


class Database:
    """A fresh PostgreSQL database, dropped at the end.

    `url` reaches it directly (the tests' own queries); `service_url` is what the service
    is given as DATABASE_URL: the same, or the way through PgBouncer.
    """

    def __init__(self):
        self.name = f"taskapi_e2e_{uuid.uuid4().hex[:10]}"
        self._admin("CREATE DATABASE {}")
        parts = urlsplit(PG_ADMIN_URL)
        self.url = urlunsplit(parts._replace(path="/" + self.name))
        self.service_url = self.url

    def _admin(self, statement):
        connection = psycopg2.connect(PG_ADMIN_URL)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement.format(self.name))
        connection.close()

    def drop(self):
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


class PgBouncer:
    """Debian's pgbouncer on a free loopback port in front of PostgreSQL, transaction pooling."""

    def __init__(self):
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="taskapi-pgbouncer-")
        target = urlsplit(PG_ADMIN_URL)
        config = os.path.join(self.directory, "pgbouncer.ini")
        with open(config, "w") as file:
            file.write(PGBOUNCER_INI.format(host=target.hostname, port=target.port or 5432,
                                            user=target.username or "postgres", listen=self.port,
                                            directory=self.directory))
        # pgbouncer will not run as root: as root, it is told to become postgres, which must read its files.
        command = ["pgbouncer", config]
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg2.connect(self.url_for("postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                assert self.process.poll() is None and time.monotonic() < deadline, self.process.stdout.read()
                time.sleep(0.1)

    def url_for(self, database):
        target = urlsplit(PG_ADMIN_URL)
        return f"postgresql://{target.username or 'postgres'}@127.0.0.1:{self.port}/{database}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


PGBOUNCER_INI = """\
[databases]
* = host={host} port={port} user={user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


class Server:
    """`release` then `web` from the Procfile, with production variables; every line kept."""

    def __init__(self, database_url, workers=2, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": _venv_bin() + os.pathsep + os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TASKAPI_ENV": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "JWT_SECRET_KEY": SECRET,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            **{key: str(value) for key, value in env.items()},
        }
        self.lines = []
        self.process = None

    def _run_logged(self, command, **kwargs):
        return subprocess.Popen(shlex.split(command), cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, **kwargs)

    def _collect(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def release(self):
        process = self._run_logged(PROCFILE["release"])
        out, _ = process.communicate(timeout=120)
        self.lines.extend(out.splitlines())
        assert process.returncode == 0, out

    def start(self, timeout=30):
        self.process = self._run_logged(PROCFILE["web"], start_new_session=True)
        threading.Thread(target=self._collect, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.lines)
            try:
                if requests.get(self.url + "/health/live", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:  # refused, or accepted before a worker has booted
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start:\n" + "\n".join(self.lines))

    def stop(self):
        if self.process:
            processes.stop(self.process)

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def non_json_lines(self):
        bad = []
        for line in self.lines:
            try:
                assert isinstance(json.loads(line), dict)
            except (ValueError, AssertionError):
                bad.append(line)
        return bad


@pytest.fixture(scope="session")
def postgres():
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")


@pytest.fixture(scope="session")
def pgbouncer(postgres):
    """One PgBouncer for the session; CI installs it (.ci/run), elsewhere its tests skip without it."""
    if shutil.which("pgbouncer") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    bouncer = PgBouncer()
    yield bouncer
    bouncer.stop()


@pytest.fixture(params=["direct", "pgbouncer"])
def database_route(request, database):
    """Run a test twice: the service on PostgreSQL directly, then through PgBouncer (transaction pooling)."""
    if request.param == "pgbouncer":
        database.service_url = request.getfixturevalue("pgbouncer").url_for(database.name)
    return request.param


@pytest.fixture
def database(postgres):
    db = Database()
    yield db
    db.drop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def start_server(database, request):
    """start_server(**env) → a running Server on the test's database (released once).

    When the test fails, the errors the servers logged are printed with it.
    """
    servers = []

    def start(workers=2, **env):
        server = Server(database.service_url, workers=workers, **env)
        if not servers:
            server.release()
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for server in servers:
            print(f"--- errors logged by {server.url}:")
            print("\n".join(line for line in server.lines if '"ERROR"' in line or '"CRITICAL"' in line))


@pytest.fixture
def server(start_server):
    return start_server()
