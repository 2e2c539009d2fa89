"""Servers under test: taskapi as the Procfile runs it, and the two references, each pinned to one core."""

import http.client
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
SECRET = "bench-secret-" + "x" * 40
SERVER_CORE = "0"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_status(port, path, headers=None, timeout=2.0):
    """The HTTP status of one GET, or None when nothing answers yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def rss_mib(pid):
    """VmRSS of a process in MiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


class Server:
    """One gunicorn, started with `taskset -c 0`, its output kept in a log file."""

    def __init__(self, name, command, env, log_dir, ready_path, cwd=ROOT, ready_any_status=False):
        self.name = name
        self.cwd = cwd
        self.ready_any_status = ready_any_status
        self.port = free_port()
        self.command = command
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = Path(log_dir) / f"{name}.log"
        self.ready_path = ready_path
        self.process = None
        self.start_seconds = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60):
        """Popen gunicorn, then poll until the first 200 on the ready path; records the time it took."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        started = time.perf_counter()
        self.process = subprocess.Popen(["taskset", "-c", SERVER_CORE, *shlex.split(self.command)], cwd=self.cwd,
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            status = get_status(self.port, self.ready_path, timeout=0.5)
            if status == 200 or (status is not None and self.ready_any_status):
                self.start_seconds = time.perf_counter() - started
                return self
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not answer 200 on {self.ready_path}; see {self.log_path}")

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def worker_rss_mib(self):
        return [rss_mib(pid) for pid in self.worker_pids()]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def venv_env(**extra):
    """A clean environment whose PATH starts with this interpreter's bin (gunicorn, flask)."""
    path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    home = os.environ.get("HOME", tempfile.gettempdir())
    return {"PATH": path, "HOME": home, **{name: str(value) for name, value in extra.items()}}


def taskapi_env(database_url, workers):
    """Production variables, as a PaaS would set them; rate limits raised so login can be measured."""
    return venv_env(TASKAPI_ENV="production", DATABASE_URL=database_url, SECRET_KEY=SECRET, JWT_SECRET_KEY=SECRET,
                    WEB_CONCURRENCY=workers, AUTH_RATE_LIMIT="100000000 per minute",
                    JWT_ACCESS_TOKEN_EXPIRES=3600)  # a token outlives the whole run


def release(database_url, log_dir):
    """The Procfile's release step (flask db upgrade) on `database_url`."""
    env = taskapi_env(database_url, 1)
    with open(Path(log_dir) / "release.log", "ab") as log:
        subprocess.run(shlex.split(PROCFILE["release"]), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                       check=True)


def taskapi(name, database_url, workers, log_dir):
    return Server(name, PROCFILE["web"], taskapi_env(database_url, workers), log_dir, "/health")


def reference(name, module, database_url, log_dir):
    """A bench app under gunicorn with one sync worker and no access log, like taskapi's.

    Run from bench/, so gunicorn does not pick up the repository's gunicorn.conf.py.
    """
    env = venv_env(DATABASE_URL=database_url, JWT_SECRET_KEY=SECRET)
    server = Server(name, "", env, log_dir, "/api/v1/tasks", cwd=ROOT / "bench", ready_any_status=True)
    server.command = f"gunicorn --workers 1 --bind 127.0.0.1:{server.port} {module}:app"
    return server
