"""Open live streams against ordinary requests: do 500 streams cost the API its latency, and what does each hold?

taskapi runs as the Procfile starts it (production settings, one gunicorn worker of 4 threads, pinned to
core 0) on a fresh database of the machine's PostgreSQL. 100 users register; 5 streams each (500) are opened
by an asyncio client in this process (core 1), which reads them as a browser would. wrk (core 1,
`--connections` connections, `--seconds` s) reads one task (GET /api/v1/tasks/{id}) with a bearer token,
alternately without streams and with the 500 open, `--rounds` times each; the p99 of each run is printed
with the medians. Worker RSS is read after each phase settles: (RSS with 500 − RSS with none) / 500 is the
memory of one stream. The worker's CPU while the 500 streams sit idle (heartbeats, the hub's polls) is read
over `--idle` seconds. Last, the hub's poll itself is timed in this process: one statement for 500 streams
of 100 users (5 lists each), `--polls` times.

    .venv/bin/python -m bench.streams [--streams 500] [--users 100] [--seconds 20] [--rounds 2]
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import client, cpu, database, loadgen, servers  # noqa: E402

PASSWORD = "correct horse battery staple"
LISTS_PER_USER = 4  # and the inbox: 5 memberships each


class Streams:
    """`count` streams held open by an asyncio loop in a thread of its own, each read to the end."""

    def __init__(self, port, tickets):
        self.port = port
        self.tickets = tickets
        self.opened = 0
        self.received = 0
        self.failed = []
        self._ready = threading.Event()
        self._stop = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def open(self):
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self._loop).result(timeout=120)
        if self.failed or self.opened != len(self.tickets):
            raise SystemExit(f"streams: {self.opened} opened, failures {self.failed[:3]}")

    async def _open_all(self):
        self._stop = asyncio.Event()
        self._tasks = []
        for ticket in self.tickets:  # one after another: the server's backlog is not what is measured
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(f"GET /api/v1/stream?ticket={ticket} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                self.failed.append(head[:200])
                writer.close()
                continue
            self.opened += 1
            self._tasks.append(asyncio.ensure_future(self._read(reader, writer)))

    async def _read(self, reader, writer):
        try:
            while data := await reader.read(65536):
                self.received += len(data)
        finally:
            writer.close()

    def close(self):
        async def cancel():
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def users(url, count):
    """`count` users (registered through the API), each with LISTS_PER_USER lists: their access tokens."""
    tokens = []
    for number in range(count):
        answer = client.call(url, "POST", "/api/v1/auth/register",
                             body={"email": f"streamer{number}@example.com", "password": PASSWORD, "name": "S"})
        assert answer.status == 201, answer
        token = answer.json()["access_token"]
        for list_number in range(LISTS_PER_USER):
            made = client.call(url, "POST", "/api/v1/lists", client.bearer(token), {"name": f"List {list_number}"})
            assert made.status == 201, made
        tokens.append(token)
    return tokens


def tickets(url, tokens, per_user):
    out = []
    for token in tokens:
        for _ in range(per_user):
            answer = client.call(url, "POST", "/api/v1/stream/ticket", client.bearer(token))
            assert answer.status == 200, answer
            out.append(answer.json()["ticket"])
    return out


def settled_rss(server, seconds=3.0):
    time.sleep(seconds)
    return server.worker_rss_mib()[0]


def time_polls(database_url, polls, streams, users_count):
    """ms per hub poll, for `streams` streams spread over the first `users_count` users of the database."""
    import os

    os.environ.setdefault("TASKAPI_ENV", "production")
    from sqlalchemy import select

    from taskapi import create_app
    from taskapi.auth.models import UserSession
    from taskapi.extensions import db
    from taskapi.stream.hub import Hub, Stream, versions_of

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url.replace("postgresql://", "postgresql+psycopg2://"),
                      "REDIS_URL": None}, environ={"TASKAPI_ENV": "production", "DATABASE_URL": database_url,
                                                   "SECRET_KEY": servers.SECRET, "JWT_SECRET_KEY": servers.SECRET})

    class Sink:
        def send(self, data):
            pass

        def close(self):
            pass

    hub = Hub(app)
    with app.app_context():
        sessions = db.session.execute(select(UserSession.user_id, UserSession.id).order_by(UserSession.id)).all()
        sessions = sessions[:users_count]
        for number in range(streams):
            user_id, session_id = sessions[number % len(sessions)]
            hub.streams[number] = Stream(number, user_id, session_id, versions_of(user_id), Sink())
        db.session.remove()
    hub.poll()  # the connection, the statement's plan
    seconds = []
    for _ in range(polls):
        started = time.perf_counter()
        hub.poll()
        seconds.append(time.perf_counter() - started)
    with app.app_context():
        db.engine.dispose()
    return statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=100)[98] * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=int, default=20)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()

    db = database.Database(args.admin_url, "streams")
    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-bench-streams-"))
    server = None
    results = {"none": [], "streams": []}
    try:
        servers.release(db.url, work_dir)
        server = servers.taskapi("streams", db.url, 1, work_dir, threads=4)
        server.start()
        tokens = users(server.url, args.users)
        task = client.call(server.url, "POST", "/api/v1/tasks", client.bearer(tokens[0]), {"title": "Read me"})
        assert task.status == 201, task
        path = f"/api/v1/tasks/{task.json()['id']}"
        script = loadgen.request_lua("GET", path, client.bearer(tokens[0]))
        loadgen.run(server.url, script, work_dir / "warm.lua", 3, args.connections, servers.LOAD_CORE)  # warm-up
        rss = {"none": [], "streams": []}
        for _ in range(args.rounds):
            rss["none"].append(settled_rss(server))
            results["none"].append(loadgen.run(server.url, script, work_dir / "read.lua", args.seconds,
                                               args.connections, servers.LOAD_CORE))
            streams = Streams(server.port, tickets(server.url, tokens, args.streams // args.users))
            streams.open()
            rss["streams"].append(settled_rss(server))
            results["streams"].append(loadgen.run(server.url, script, work_dir / "read.lua", args.seconds,
                                                  args.connections, servers.LOAD_CORE))
            if not rss.get("idle_cpu"):
                before = cpu.snapshot([server.worker_pids()[0]])
                time.sleep(args.idle)
                after = cpu.snapshot(list(before))
                rss["idle_cpu"] = [sum(after[pid] - before[pid] for pid in before) / args.idle * 100]
            streams.close()
            time.sleep(2)  # the streams' rows deleted, the worker back to none
        poll_ms, poll_p99_ms = time_polls(db.url, args.polls, args.streams, args.users)
    finally:
        if server:
            server.stop()
        db.drop()

    print(f"GET {'/api/v1/tasks/{id}'}: wrk {args.connections} connections, {args.seconds} s a run, 1 worker of "
          f"4 threads on core 0, wrk and the stream client on core 1; alternating, {args.rounds} rounds")
    for kind, runs in results.items():
        p99s = [round(run.p99_ms, 2) for run in runs]
        rates = [round(run.requests_per_second) for run in runs]
        errors = sum(run.non_2xx + run.socket_errors for run in runs)
        print(f"{kind:8} p99 ms {p99s} (median {statistics.median(p99s):.2f}); req/s {rates}; errors {errors}")
    none, with_streams = (statistics.median(r.p99_ms for r in results[k]) for k in ("none", "streams"))
    print(f"p99 with {args.streams} streams / without: {with_streams / none:.2f}")
    per_stream = (statistics.median(rss["streams"]) - statistics.median(rss["none"])) * 1024 / args.streams
    print(f"worker RSS MiB: none {rss['none']}, {args.streams} streams {rss['streams']}: {per_stream:.1f} KiB a stream")
    print(f"worker CPU with {args.streams} idle streams: {rss['idle_cpu'][0]:.2f} % of a core")
    print(f"hub poll, {args.streams} streams of {args.users} users: median {poll_ms:.2f} ms, p99 {poll_p99_ms:.2f} ms"
          f" ({poll_ms / 500 * 100:.2f} % of a core at one poll per 0.5 s)")
    print(json.dumps({"p99_none_ms": none, "p99_streams_ms": with_streams, "kib_per_stream": per_stream}))


if __name__ == "__main__":
    main()
