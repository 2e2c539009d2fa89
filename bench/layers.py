"""What each layer of taskapi's request path costs: microseconds per request, in-process, as a Markdown table.

`python -m bench.layers` builds taskapi as gunicorn's worker does (production settings) on a private
PostgreSQL cluster seeded like the bench's, warms it, then drives list, one task, create and PATCH
through Flask's test client. Each layer's entry points (found on the built app, so this follows
whatever taskapi is now) are wrapped with a timer that keeps the time of its own, less that of the
layers it calls: the access log's request id lookup counts as the access log's, the token's query as
the revocation check's. What no layer claims is Flask, werkzeug and the views' own code. Wall-clock
medians over batches; the process runs on core 0, PostgreSQL on core 1.
"""

import argparse
import collections
import contextlib
import cProfile
import functools
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database, postgres, servers  # noqa: E402

REQUESTS = ("list", "one", "create", "patch")
REST = "Flask, werkzeug, the views' own code"
# Hooks (before/after/teardown request) by the module that registered them.
HOOK_LAYERS = {
    "taskapi.requestid": "request id (X-Request-ID)",
    "taskapi.headers": "security headers and CORS",
    "flask_cors": "security headers and CORS",
    "flask_limiter": "rate-limit hooks (Flask-Limiter)",
    "taskapi.api": "body checks (before_request)",
    "taskapi.logs": "access log line (JSON)",
    "prometheus_flask_exporter": "Prometheus (prometheus-flask-exporter)",
}
ORDER = ["request id (X-Request-ID)", "security headers and CORS", "rate-limit hooks (Flask-Limiter)",
         "body checks (before_request)", "JWT decode (flask-jwt-extended, PyJWT)",
         "token revocation check and user (one query)", "webargs / flask-smorest parsing",
         "the query (SQLAlchemy ORM, round trips, commit)", "marshmallow dump", "JSON encoding",
         "access log line (JSON)", "Prometheus (prometheus-flask-exporter)"]


CLOCKS = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}


@dataclass
class Frame:
    label: str
    opaque: bool
    children: dict


class Ledger:
    """Nanoseconds per layer on each clock, each layer's own: time in a nested layer is taken off its caller's."""

    def __init__(self):
        self.totals = {clock: collections.Counter() for clock in CLOCKS}
        self.stack = []
        self.calls = 0

    def wrap(self, label, func, opaque=False):
        """`func`, timed as `label`; inside an opaque layer nothing is timed apart."""

        @functools.wraps(func)
        def timed(*args, **kwargs):
            if self.stack and self.stack[-1].opaque:
                return func(*args, **kwargs)
            self.calls += 1
            frame = Frame(label, opaque, dict.fromkeys(CLOCKS, 0))
            self.stack.append(frame)
            started = {clock: read() for clock, read in CLOCKS.items()}
            try:
                return func(*args, **kwargs)
            finally:
                for clock, read in CLOCKS.items():
                    elapsed = read() - started[clock]
                    self.totals[clock][label] += elapsed - frame.children[clock]
                    if len(self.stack) > 1:
                        self.stack[-2].children[clock] += elapsed
                self.stack.pop()

        return timed

    def overhead_us(self, count=20000):
        """CPU microseconds one timed call adds, measured on a function that does nothing."""
        nothing = self.wrap("calibration", lambda: None)
        started = time.thread_time()
        for _ in range(count):
            nothing()
        self.take()
        return (time.thread_time() - started) / count * 1e6

    def take(self):
        totals, self.totals = self.totals, {clock: collections.Counter() for clock in CLOCKS}
        return totals


def _hook_layer(func):
    func = getattr(func, "func", func)  # a functools.partial: the module of what it calls
    module = getattr(func, "__module__", "") or ""
    for prefix, label in HOOK_LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return label
    return f"other hooks ({module})"


def instrument(app, ledger):
    """Wrap every layer's entry points on this app and the libraries it uses."""
    import flask_jwt_extended.view_decorators as jwt_views
    import marshmallow
    import sqlalchemy.orm
    import webargs.core
    from flask.json.provider import DefaultJSONProvider

    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for hooks in registry.values():
            hooks[:] = [ledger.wrap(_hook_layer(hook), hook) for hook in hooks]
    jwt_views.verify_jwt_in_request = ledger.wrap(ORDER[4], jwt_views.verify_jwt_in_request)
    manager = app.extensions["flask-jwt-extended"]
    for callback in ("_token_in_blocklist_callback", "_user_lookup_callback"):
        if getattr(manager, callback, None) is not None:
            setattr(manager, callback, ledger.wrap(ORDER[5], getattr(manager, callback), opaque=True))
    webargs.core.Parser.parse = ledger.wrap(ORDER[6], webargs.core.Parser.parse)
    for method in ("execute", "scalar", "scalars", "get", "flush", "commit", "rollback", "close"):
        setattr(sqlalchemy.orm.Session, method, ledger.wrap(ORDER[7], getattr(sqlalchemy.orm.Session, method)))
    marshmallow.Schema.dump = ledger.wrap(ORDER[8], marshmallow.Schema.dump)
    try:  # taskapi's schemas dump through serializers compiled from them, where that module exists
        from taskapi import serializers
    except ImportError:
        pass
    else:
        serializers.Schema.dump = ledger.wrap(ORDER[8], serializers.Schema.dump)
    DefaultJSONProvider.dumps = ledger.wrap(ORDER[9], DefaultJSONProvider.dumps)
    # The app's own provider (a subclass may write the response body itself, without dumps()).
    app.json.dumps = ledger.wrap(ORDER[9], app.json.dumps)
    app.json.response = ledger.wrap(ORDER[9], app.json.response)
    app.wsgi_app = ledger.wrap(REST, app.wsgi_app)


def build_app(database_url, log_dir):
    """taskapi as a gunicorn worker builds it: production settings, no migrations, multiprocess metrics."""
    os.environ.update(servers.taskapi_env(database_url, 1))
    os.environ["TASKAPI_WEB_PROCESS"] = "1"
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(log_dir)
    from taskapi import create_app

    # The access log is written as under gunicorn, but to /dev/null rather than onto this table.
    sink = open(os.devnull, "w")  # noqa: SIM115 - the log handler keeps it for the process's lifetime
    with contextlib.redirect_stdout(sink):
        return create_app()


def request_makers(test_client, reader, writer, task_ids):
    """Request name → a function that sends one such request and checks its status."""
    counter = iter(range(10**9))
    json_type = {"Content-Type": "application/json"}

    def expect(response, status):
        if response.status_code != status:
            raise SystemExit(f"{response.request.method} {response.request.path}: {response.status_code} "
                             f"{response.get_data(as_text=True)[:300]}")

    def patch():
        number = next(counter)
        path = f"/api/v1/tasks/{task_ids[number % len(task_ids)]}"
        expect(test_client.patch(path, json={"title": f"Layered {number}"},
                                 headers={**reader, **json_type, "If-Match": "*"}), 200)

    return {
        "list": lambda: expect(test_client.get("/api/v1/tasks", headers=reader), 200),
        "one": lambda: expect(test_client.get(f"/api/v1/tasks/{task_ids[0]}", headers=reader), 200),
        "create": lambda: expect(test_client.post("/api/v1/tasks", json={"title": "Layered", "priority": "high"},
                                                  headers=writer), 201),
        "patch": patch,
    }


def measure(ledger, makers, count, batches):
    """Clock → request name → label → median µs per request over the batches; and the process CPU per request."""
    samples = {clock: {name: collections.defaultdict(list) for name in makers} for clock in CLOCKS}
    process_cpu = {name: [] for name in makers}
    for _ in range(batches):
        for name, send in makers.items():
            ledger.take()
            cpu_started = time.process_time()
            for _ in range(count):
                send()
            process_cpu[name].append((time.process_time() - cpu_started) / count * 1e6)
            for clock, totals in ledger.take().items():
                for label, nanoseconds in totals.items():
                    samples[clock][name][label].append(nanoseconds / count / 1000)
    medians = {clock: {name: {label: statistics.median(values) for label, values in by_label.items()}
                       for name, by_label in by_name.items()}
               for clock, by_name in samples.items()}
    return medians, {name: statistics.median(values) for name, values in process_cpu.items()}


def table(medians, process_cpu):
    """One clock's medians as Markdown: a row per layer, a column per request."""
    names = list(medians)
    labels = [label for label in ORDER if any(label in medians[name] for name in names)]
    labels += sorted({label for name in names for label in medians[name]} - set(ORDER) - {REST})
    lines = ["| layer | " + " | ".join(f"{name} µs" for name in names) + " |",
             "|---|" + "---:|" * len(names)]
    for label in [*labels, REST]:
        lines.append(f"| {label} | " + " | ".join(f"{medians[name].get(label, 0):.0f}" for name in names) + " |")
    lines.append("| **in the app, all layers** | "
                 + " | ".join(f"**{sum(medians[name].values()):.0f}**" for name in names) + " |")
    lines.append("| process CPU, test client included | "
                 + " | ".join(f"{process_cpu[name]:.0f}" for name in names) + " |")
    return "\n".join(lines)


def profile(send, count, top):
    """cProfile's view of `count` requests, by cumulative time: where to look inside a layer."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        send()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind per batch (300)")
    parser.add_argument("--batches", type=int, default=5, help="batches, interleaved by kind; medians (5)")
    parser.add_argument("--warmup", type=int, default=200, help="unrecorded requests of each kind first (200)")
    parser.add_argument("--other-users", type=int, default=10_000, help="users besides the bench user (10 000)")
    parser.add_argument("--cprofile", choices=REQUESTS, help="also print cProfile's top functions for this request")
    parser.add_argument("--top", type=int, default=40, help="lines of the cProfile listing (40)")
    return parser.parse_args()


def main():
    args = parse_args()
    from taskapi.auth.passwords import hasher_for
    from taskapi.config import PASSWORD_HASHING

    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-layers-"))
    cluster = postgres.Cluster(servers.free_port(), servers.LOAD_CORE)
    try:
        cluster.start()
        db = database.Database(cluster.admin_url, "layers")
        servers.release(db.url, work_dir)
        password_hash = hasher_for(PASSWORD_HASHING).hash(database.BENCH_PASSWORD)  # production's parameters
        task_ids, _ = database.seed(db.url, password_hash, args.other_users, 1)
        os.sched_setaffinity(0, {int(servers.SERVER_CORE)})
        app = build_app(db.url, work_dir)
        test_client = app.test_client()
        tokens = {}
        for email in (database.BENCH_EMAIL, database.WRITER_EMAIL):
            answer = test_client.post("/api/v1/auth/login", json={"email": email, "password": database.BENCH_PASSWORD})
            tokens[email] = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        makers = request_makers(test_client, tokens[database.BENCH_EMAIL], tokens[database.WRITER_EMAIL], task_ids)
        for send in makers.values():
            for _ in range(args.warmup):
                send()
        ledger = Ledger()
        overhead = ledger.overhead_us()
        instrument(app, ledger)
        ledger.calls = 0
        medians, process_cpu = measure(ledger, makers, args.requests, args.batches)
        timed_calls = ledger.calls / (args.requests * args.batches * len(makers))
        print(f"Microseconds per request, each layer's own, median of {args.batches} batches of {args.requests} "
              f"(in-process, Flask's test client, PostgreSQL on another core).\n\nCPU time of the request's "
              f"thread (what a core spends; round trips cost only their client side):\n")
        print(table(medians["cpu"], process_cpu))
        print("\nWall-clock time (what the request waits; the query's and the revocation check's round trips "
              "included):\n")
        print(table(medians["wall"], process_cpu))
        print(f"\nThe timers themselves: {timed_calls:.0f} timed calls per request × {overhead:.1f} µs, "
              f"~{timed_calls * overhead:.0f} µs per request spread over the layers.")
        if args.cprofile:
            print(f"\ncProfile, {args.requests} × {args.cprofile}:\n")
            print(profile(makers[args.cprofile], args.requests, args.top))
    finally:
        cluster.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
