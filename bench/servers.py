"""Servers under test: taskapi as the Procfile runs it, the reference and bare Flask, each on the server core."""

import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import cpu
from bench.client import status_of

ROOT = Path(__file__).resolve().parents[1]


def procfile(root):
    """A checkout's Procfile: process name → command."""
    return dict(line.split(": ", 1) for line in (Path(root) / "Procfile").read_text().splitlines() if ": " in line)

SECRET = "bench-secret-" + "x" * 40
SERVER_CORE = "0"
LOAD_CORE = "1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid):
    """VmRSS of a process in MiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def with_application_name(database_url, name):
    """The URL with ?application_name=…, so the database's backends serving one server can be found."""
    return urlunsplit(urlsplit(database_url)._replace(query=f"application_name={name}"))


class Server:
    """One gunicorn in a process group of its own, started with `taskset -c 0`, its output kept in a log file."""

    def __init__(self, name, command, env, log_dir, ready_path, cwd=ROOT, ready_any_status=False):
        self.name = name
        self.cwd = cwd
        self.ready_any_status = ready_any_status
        self.port = free_port()
        self.command = command.format(port=self.port)
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = Path(log_dir) / f"{name}.log"
        self.ready_path = ready_path
        self.process = None
        self.start_seconds = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def application_name(self):
        return f"bench-{self.name}"

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
            status = status_of(self.url, self.ready_path, timeout=0.5)
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

    def processes(self):
        """gunicorn's master and workers: the process group start_new_session gave it."""
        return cpu.group_members(self.process.pid)

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
    return {"PATH": path, "HOME": home, **{name: str(value) for name, value in extra.items() if value is not None}}


def taskapi_env(database_url, workers, threads=None):
    """Production variables, as a PaaS would set them; rate limits raised so login can be measured, and the
    task cap so the writer account can take every create of the run (per list now, per user before v3: a
    --before checkout may read either)."""
    return venv_env(TASKAPI_ENV="production", DATABASE_URL=database_url, SECRET_KEY=SECRET, JWT_SECRET_KEY=SECRET,
                    WEB_CONCURRENCY=workers, GUNICORN_THREADS=threads, AUTH_RATE_LIMIT="100000000 per minute",
                    TOKEN_RATE_LIMIT="100000000 per minute",
                    MAX_TASKS_PER_LIST=10**9, MAX_TASKS_PER_USER=10**9,
                    # The create_webhook case's webhook points at the bench's sink, on 127.0.0.1 over http.
                    WEBHOOK_ALLOW_HTTP="true",
                    JWT_ACCESS_TOKEN_EXPIRES=3600)  # a token outlives the whole run


def release(database_url, log_dir, cwd=ROOT):
    """The release step of `cwd`'s Procfile (flask db upgrade: that checkout's migrations) on `database_url`."""
    env = taskapi_env(database_url, 1)
    with open(Path(log_dir) / "release.log", "ab") as log:
        subprocess.run(shlex.split(procfile(cwd)["release"]), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                       check=True)


def taskapi(name, database_url, workers, log_dir, threads=None, cwd=ROOT, **extra_env):
    """taskapi exactly as the Procfile's web line starts it (gunicorn.conf.py and all), from `cwd`'s files."""
    server = Server(name, procfile(cwd)["web"], {}, log_dir, "/health", cwd=cwd)
    server.env.update(taskapi_env(with_application_name(database_url, server.application_name), workers, threads))
    server.env.update({key: str(value) for key, value in extra_env.items()})
    return server


def background_runner(database_url, log_dir, core):
    """`flask background run` on `core`: the background jobs in a process of their own (a `worker` process type),
    its backends named apart from every server's. The caller stops it (terminate())."""
    env = taskapi_env(with_application_name(database_url, "bench-background"), 1)
    env["BACKGROUND_INTERVAL"] = "1"
    log = open(Path(log_dir) / "background.log", "ab")  # noqa: SIM115 - the process writes it until stopped
    return subprocess.Popen(["taskset", "-c", str(core), "flask", "background", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


# gunicorn's two thread models: one request at a time, or taskapi's default of four threads.
THREAD_MODELS = {"sync": "--workers 1", "gthread": "--workers 1 --threads 4 --worker-class gthread"}


def bench_app(name, module, database_url, log_dir, thread_model):
    """An app of bench/ under gunicorn, run from bench/ so that it does not read taskapi's gunicorn.conf.py."""
    command = f"gunicorn {THREAD_MODELS[thread_model]} --bind 127.0.0.1:{{port}} '{module}:create_app()'"
    server = Server(name, command, {}, log_dir, "/api/v1/tasks", cwd=ROOT / "bench", ready_any_status=True)
    server.env.update(venv_env(DATABASE_URL=with_application_name(database_url, server.application_name),
                               JWT_SECRET_KEY=SECRET))
    return server
