"""A gunicorn worker's memory right after it starts and after a warm-up, as the Procfile runs it.

`python -m bench.worker_memory --database-url postgresql://…/db [--tree DIR …]` migrates the database,
then, for each round and each source tree in turn (alternating, so that the machine's load falls on
every tree alike), starts `gunicorn wsgi:app` from that tree (its gunicorn.conf.py, production settings,
`WEB_CONCURRENCY` workers), reads each worker once it serves (post_worker_init has run), drives the
soak's mix of requests through it over HTTP (bench.memory's Driver: registrations and logins, creates
with and without a key, PATCH, move, toggle, delete, restore, lists in six sorts, reads, the feed, the
trash, tags, refresh), reads each worker again, and stops it. Each read: VmRSS as the floor of 5 reads
0.2 s apart (an argon2 hash in flight holds 19 MiB for 0.1 s), and /proc/<pid>/smaps_rollup: PSS (shared
pages divided among the processes that map them), USS (private pages), anonymous and file-backed RSS.
Prints every read, then the medians per tree. Several trees: one is the tree before a change (e.g.
`git archive <commit> | tar -x -C /tmp/before`; the shared .venv is used for all).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.memory import Driver, production_env  # noqa: E402

FIELDS = ("rss", "pss", "uss", "anon", "file")


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Answer:
    """A requests response as bench.memory's Driver reads Flask's test responses."""

    def __init__(self, response):
        self.status_code = response.status_code
        self._response = response

    def get_json(self):
        return self._response.json() if self._response.content else None


class HttpClient:
    """Flask's test client's `open`, over HTTP to a running server: a connection per request, so that the
    requests spread over the workers as their accepts take them (a kept-alive connection stays with one)."""

    def __init__(self, url):
        self.url = url

    def open(self, path, method="GET", headers=None, json=None, query_string=None):
        headers = {**(headers or {}), "Connection": "close"}
        return Answer(requests.request(method, self.url + path, headers=headers, json=json, params=query_string,
                                       timeout=30))


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read(pid, floors=5):
    """One worker's memory in MiB: the floor of `floors` VmRSS reads, and smaps_rollup at the floor."""
    best = None
    for n in range(floors):
        rss = vm_rss_kib(pid)
        rollup = {}
        with open(f"/proc/{pid}/smaps_rollup") as smaps:
            for line in smaps:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    rollup[parts[0].rstrip(":")] = int(parts[1])
        if best is None or rss < best["rss"]:
            anon = rollup["Anonymous"]
            best = {"rss": rss, "pss": rollup["Pss"], "uss": rollup["Private_Clean"] + rollup["Private_Dirty"],
                    "anon": anon, "file": rollup["Rss"] - anon}
        if n + 1 < floors:
            time.sleep(0.2)
    return {key: value / 1024 for key, value in best.items()}


class Gunicorn:
    """`gunicorn wsgi:app` from a tree, as the Procfile starts it."""

    def __init__(self, tree, env, workers):
        self.tree = tree
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.workers = workers
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "wsgi:app"], cwd=tree,
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return sorted(int(pid) for pid in out.split())

    def wait_ready(self, timeout=60):
        """Every worker has booted and answers (post_worker_init runs before a worker accepts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                response = requests.get(self.url + "/health/live", timeout=2, headers={"Connection": "close"})
                if response.status_code == 200 and len(self.worker_pids()) == self.workers:
                    time.sleep(2)  # the last worker forked has run post_worker_init too
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


def warm_up(url, requests_count, clients, accounts):
    drivers = [Driver(HttpClient(url), seed) for seed in range(clients)]
    for driver in drivers:
        for _ in range(max(1, accounts // clients)):
            driver.register()

    def client(driver):
        while sum(d.requests for d in drivers) < requests_count:
            driver.step()

    threads = [threading.Thread(target=client, args=(driver,)) for driver in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tree", action="append", help="a source tree to start gunicorn from (repeatable; "
                        "default: this repository)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=3000, help="warm-up requests, all workers together")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server (repeatable)")
    options = parser.parse_args()
    trees = options.tree or [str(ROOT)]

    env = {"PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "HOME": os.environ.get("HOME", tempfile.gettempdir()), **production_env(options.database_url),
           "LOG_LEVEL": "WARNING"}
    env.update(item.split("=", 1) for item in options.env)
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=trees[0],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {tree: {"init": [], "warm": []} for tree in trees}
    header = f"{'tree':<28} {'round':>5} {'pid':>7} {'when':<5} " + " ".join(f"{f:>6}" for f in FIELDS)
    print(header, file=sys.stderr)
    for round_ in range(1, options.rounds + 1):
        for tree in trees:
            with tempfile.TemporaryDirectory(prefix="taskapi-worker-memory-") as metrics:
                server = Gunicorn(tree, {**env, "PROMETHEUS_MULTIPROC_DIR": metrics}, options.workers)
                try:
                    server.wait_ready()
                    pids = server.worker_pids()
                    for when in ("init", "warm"):
                        if when == "warm":
                            warm_up(server.url, options.requests, options.clients, options.accounts)
                            time.sleep(1)
                        for pid in pids:
                            figures = read(pid)
                            results[tree][when].append(figures)
                            print(f"{tree[-28:]:<28} {round_:>5} {pid:>7} {when:<5} "
                                  + " ".join(f"{figures[f]:>6.1f}" for f in FIELDS), file=sys.stderr)
                finally:
                    server.stop()
    print(f"\nmedians, MiB ({options.rounds} rounds × {options.workers} workers; warm: after "
          f"{options.requests} requests)", file=sys.stderr)
    print(f"{'tree':<28} {'when':<5} " + " ".join(f"{f:>6}" for f in FIELDS), file=sys.stderr)
    for tree in trees:
        for when in ("init", "warm"):
            rows = results[tree][when]
            print(f"{tree[-28:]:<28} {when:<5} "
                  + " ".join(f"{statistics.median(r[f] for r in rows):>6.1f}" for f in FIELDS), file=sys.stderr)


if __name__ == "__main__":
    main()
