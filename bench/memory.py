"""What a worker's heap holds after thousands of requests that it did not hold after the first thousand.

`python -m bench.memory --database-url postgresql://…/db` migrates that database, builds taskapi as a
gunicorn worker does (production settings, Prometheus in multiprocess mode), then drives a mixed
workload through Flask's test client: creates, PATCHes, moves, toggles, deletes, restores, lists in
every sort, single reads, the change feed, the trash, refreshes. At each checkpoint (`--checkpoints`,
in requests) it records RSS (then again after glibc's malloc_trim), the traced total and gc's object
count. tracemalloc starts at the first checkpoint (the warm-up is over, and tracing costs several times
the request), so the last snapshot holds exactly what was allocated since and is still alive: it prints
that, by allocation site, largest first. `--no-trace` leaves tracemalloc off, for the RSS alone.
`--shapes N` instead sends N lists of distinct shapes (sort × filters × tags, and the cursor page after
each), which is what fills the statement caches, and prints RSS and the caches' sizes every 200.
Logs go to /dev/null (they are written, not kept).
"""

import argparse
import ctypes
import gc
import itertools
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

M_ARENA_MAX = -8  # glibc's mallopt parameter
PASSWORD = "correct horse battery staple"
SECRET = "bench-memory-" + "x" * 40


def trim():
    """glibc's malloc_trim(0): every whole free page of its heaps back to the system."""
    ctypes.CDLL(None).malloc_trim(0)


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def production_env(database_url):
    return {"TASKAPI_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
            "JWT_SECRET_KEY": SECRET, "AUTH_RATE_LIMIT": "1000000 per minute", "JWT_ACCESS_TOKEN_EXPIRES": "3600",
            "PASSWORD_RESET_PER_EMAIL": "1000000"}


class Driver:
    """A mixed workload of one client on a few accounts, through the test client."""

    def __init__(self, client, seed=1):
        self.client = client
        self.random = random.Random(seed)
        self.accounts = []  # [token, refresh, {task id: version}, {trashed id}]
        self.requests = 0

    def call(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.requests += 1
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def register(self):
        email = f"mem-{uuid.uuid4().hex[:12]}@example.com"
        response = self.call("POST", "/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                                    "name": "Ada"})
        assert response.status_code == 201, response.get_json()
        response = self.call("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        pair = response.get_json()
        self.accounts.append([pair["access_token"], pair["refresh_token"], {}, set(), email])

    def step(self):
        account = self.random.choice(self.accounts)
        token, _, tasks, trash, _ = account
        kind = self.random.choices(
            ["create", "keyed", "patch", "move", "toggle", "delete", "restore", "list", "one", "feed", "trash",
             "refresh", "tags", "me"],
            [10, 10, 15, 8, 8, 6, 4, 8, 6, 6, 2, 1, 1, 1])[0]
        if kind in ("create", "keyed") or not tasks:
            headers = {"Idempotency-Key": str(uuid.uuid4())} if kind == "keyed" else {}
            body = {"title": f"mem {uuid.uuid4().hex[:16]}", "priority": self.random.choice(["low", "high"]),
                    "tags": self.random.sample(["home", "work", "urgent", "later"], 2)}
            response = self.call("POST", "/api/v1/tasks", token, json=body, headers=headers)
            if response.status_code == 201:
                tasks[response.get_json()["id"]] = response.get_json()["version"]
            if len(tasks) > 40:
                self._delete(token, tasks, trash)
            return
        task_id = self.random.choice(list(tasks))
        if kind == "patch":
            self._write(tasks, task_id, "PATCH", f"/api/v1/tasks/{task_id}", token,
                        json={"title": f"mem {uuid.uuid4().hex[:16]}"})
        elif kind == "move":
            after = self.random.choice([None, *tasks])
            self._write(tasks, task_id, "POST", f"/api/v1/tasks/{task_id}/move", token,
                        json={"after": after if after != task_id else None})
        elif kind == "toggle":
            self._write(tasks, task_id, "PATCH", f"/api/v1/tasks/{task_id}/toggle", token)
        elif kind == "delete":
            self._delete(token, tasks, trash)
        elif kind == "restore" and trash:
            restored = trash.pop()
            response = self.call("POST", f"/api/v1/tasks/{restored}/restore", token)
            if response.status_code == 200:
                tasks[restored] = response.get_json()["version"]
        elif kind == "list":
            sort = self.random.choice(["position", "-created_at", "title", "-updated_at", "due_at", "-priority"])
            params = {"sort": sort, "limit": 20}
            if self.random.random() < 0.3:
                params["tag"] = "work"
            self.call("GET", "/api/v1/tasks", token, query_string=params)
        elif kind == "one":
            self.call("GET", f"/api/v1/tasks/{task_id}", token)
        elif kind == "feed":
            self.call("GET", "/api/v1/tasks/changes", token, query_string={"limit": 100})
        elif kind == "trash":
            self.call("GET", "/api/v1/tasks/trash", token)
        elif kind == "refresh":
            response = self.call("POST", "/api/v1/auth/refresh", account[1])
            if response.status_code == 200:
                account[0], account[1] = response.get_json()["access_token"], response.get_json()["refresh_token"]
        elif kind == "tags":
            self.call("GET", "/api/v1/tags", token)
        else:
            self.call("GET", "/api/v1/auth/me", token)

    def _write(self, tasks, task_id, method, path, token, **kwargs):
        headers = {"If-Match": f'"{task_id}.{tasks[task_id]}"'}
        response = self.call(method, path, token, headers=headers, **kwargs)
        if response.status_code == 200:
            tasks[task_id] = response.get_json()["version"]
        elif response.status_code in (404, 412):
            got = self.call("GET", f"/api/v1/tasks/{task_id}", token)
            if got.status_code == 200:
                tasks[task_id] = got.get_json()["version"]
            else:
                tasks.pop(task_id)

    def _delete(self, token, tasks, trash):
        task_id = self.random.choice(list(tasks))
        response = self.call("DELETE", f"/api/v1/tasks/{task_id}", token,
                             headers={"If-Match": f'"{task_id}.{tasks[task_id]}"'})
        tasks.pop(task_id)
        if response.status_code == 204:
            trash.add(task_id)


def list_shapes():
    """Every list query string of a distinct statement shape: sorts × filter sets × 0-2 tags."""
    sorts = [f"{sign}{key}" for key in ("created_at", "updated_at", "due_at", "priority", "title", "id", "position")
             for sign in ("", "-")]
    filters = [("status", "pending"), ("priority", "high"), ("q", "mem"), ("due_after", "2020-01-01T00:00:00Z"),
               ("due_before", "2030-01-01T00:00:00Z")]
    return [[("sort", sort), ("limit", "2"), *combo, *[("tag", tag) for tag in tags]]
            for n in range(len(filters) + 1) for combo in itertools.combinations(filters, n)
            for tags in ([], ["work"], ["home", "work"]) for sort in sorts]


def fill_statement_caches(app, driver, count):
    from taskapi.extensions import db
    from taskapi.tasks import queries

    token = driver.accounts[0][0]
    for _ in range(30):
        driver.call("POST", "/api/v1/tasks", token, json={"title": "mem", "tags": ["home", "work"]})
    gc.collect()
    trim()
    start = rss_kib()
    print(f"{'lists':>6} {'RSS growth MiB':>14} {'list statements':>15} {'compiled':>8}", file=sys.stderr)
    for n, query in enumerate(list_shapes()[:count], 1):
        response = driver.call("GET", "/api/v1/tasks", token, query_string=query)
        cursor = response.get_json().get("next_cursor") if response.status_code == 200 else None
        if cursor:
            driver.call("GET", "/api/v1/tasks", token, query_string={"cursor": cursor})
        if n % 200 == 0 or n == count:
            gc.collect()
            trim()
            with app.app_context():
                compiled = len(db.engine._compiled_cache)
            print(f"{n:>6} {(rss_kib() - start) / 1024:>+14.1f} {queries._list_statement.cache_info().currsize:>15} "
                  f"{compiled:>8}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--checkpoints", default="1000,2500,5000,7500,10000")
    parser.add_argument("--frames", type=int, default=6, help="tracemalloc frames per allocation")
    parser.add_argument("--no-trace", action="store_true", help="RSS and object counts only")
    parser.add_argument("--threads", type=int, default=1, help="clients at once, each in a thread of its own "
                        "(as gunicorn's threads serve them; a checkpoint counts every client's requests)")
    parser.add_argument("--shapes", type=int, default=0, help="lists of this many distinct shapes instead")
    parser.add_argument("--arena-max", type=int, default=0, help="glibc's M_ARENA_MAX (0: as the process has it)")
    parser.add_argument("--top", type=int, default=25)
    options = parser.parse_args()
    checkpoints = [int(n) for n in options.checkpoints.split(",")]

    if options.arena_max:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, options.arena_max)
    env = production_env(options.database_url)
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(env)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="taskapi-bench-memory-")
    os.environ["TASKAPI_WEB_PROCESS"] = "1"
    from taskapi import create_app

    app = create_app({"BACKGROUND_WORK": False})
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the process's life)
    for logger in (logging.getLogger(), logging.getLogger("taskapi")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
    if options.shapes:
        driver = Driver(app.test_client())
        driver.register()
        return fill_statement_caches(app, driver, options.shapes)
    drivers = [Driver(app.test_client(), seed) for seed in range(options.threads)]
    for driver in drivers:
        for _ in range(max(1, options.accounts // options.threads)):
            driver.register()

    def run_until(count):
        def client(driver):
            while sum(d.requests for d in drivers) < count:
                driver.step()
        threads = [threading.Thread(target=client, args=(driver,)) for driver in drivers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    print(f"{'requests':>9} {'RSS MiB':>8} {'trimmed':>8} {'traced MiB':>10} {'gc objects':>10} {'s':>6}",
          file=sys.stderr)
    snapshots, started = {}, time.monotonic()
    for checkpoint in checkpoints:
        run_until(checkpoint)
        gc.collect()
        if not options.no_trace and checkpoint == checkpoints[0]:
            tracemalloc.start(options.frames)
        if tracemalloc.is_tracing():
            snapshots[checkpoint] = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
        traced, _ = tracemalloc.get_traced_memory()
        rss = rss_kib()
        trim()  # what glibc holds freed but resident
        print(f"{checkpoint:>9} {rss / 1024:>8.1f} {rss_kib() / 1024:>8.1f} {traced / 2**20:>10.2f} "
              f"{len(gc.get_objects()):>10} "
              f"{time.monotonic() - started:>6.0f}", file=sys.stderr)

    if options.no_trace:
        return
    first, last = snapshots[checkpoints[0]], snapshots[checkpoints[-1]]
    diff = last.compare_to(first, "traceback")
    total = sum(stat.size_diff for stat in diff)
    print(f"\ngrowth {checkpoints[0]} → {checkpoints[-1]} requests: {total / 1024:+.1f} KiB traced; largest:",
          file=sys.stderr)
    for stat in diff[:options.top]:
        frames = [f"{frame.filename.replace(str(ROOT) + '/', '')}:{frame.lineno}" for frame in stat.traceback]
        print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+6d} blocks  {' < '.join(frames[-4:][::-1])}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
