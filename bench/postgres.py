"""A private PostgreSQL cluster for one bench run: initdb in a temporary directory, pinned where the regime says.

The machine's shared cluster serves everyone's tests: pinning it to the server's core would put their
queries on it too, and its backends could not be told from theirs. A cluster of the bench's own has
only the bench's backends, follows `pin()` to either core, and is gone after the run.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

INSTALL_HINT = "PostgreSQL's server programs (initdb, pg_ctl) are missing: `apt-get install -y postgresql` (as root)"


def server_programs():
    """The directory holding initdb, pg_ctl and postgres: on PATH, else Debian's newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not candidates:
        raise SystemExit(INSTALL_HINT)
    return candidates[-1].parent


class Cluster:
    """initdb, then pg_ctl start, under `taskset -c <core>` when given; backends inherit the postmaster's affinity."""

    def __init__(self, port, core=None):
        self.programs = server_programs()
        self.port = port
        self.core = core
        self.directory = Path(tempfile.mkdtemp(prefix="taskapi-bench-pg-"))
        self.data = self.directory / "data"
        # initdb refuses to run as root: the cluster belongs to the postgres user, as Debian's own.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *command):
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, cwd=self.directory)

    def start(self):
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(self.programs / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.directory} "
                   "-c timezone=UTC")
        pinned = ["taskset", "-c", self.core] if self.core is not None else []
        self._run(*pinned, str(self.programs / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.directory / "postgres.log"), "-o", options, "-w", "start")
        return self

    def postmaster_pid(self):
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def pin(self, core):
        """Move the postmaster and every process it started to `core`; backends started later follow."""
        self.core = core
        postmaster = self.postmaster_pid()
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        for pid in [postmaster, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):  # a process that ended meanwhile
                os.sched_setaffinity(pid, {int(core)})

    def backends(self, application_name):
        """The pids of the backends serving connections that gave `application_name`."""
        connection = psycopg2.connect(self.admin_url, application_name="bench-admin")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,))
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.programs / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def round_trip_ms(url, count=300):
    """Median time of `SELECT 1` over one connection to `url`, in milliseconds."""
    connection = psycopg2.connect(url, application_name="bench-rtt")
    connection.autocommit = True
    times = []
    with connection.cursor() as cursor:
        for _ in range(count):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append(time.perf_counter() - started)
    connection.close()
    times.sort()
    return 1000 * times[len(times) // 2]
