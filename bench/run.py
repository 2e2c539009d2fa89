"""make bench: seed PostgreSQL, start taskapi as the Procfile does plus two references, drive wrk, print medians."""

import argparse
import http.client
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database, loadgen, report, servers  # noqa: E402

DESCRIPTIONS = {
    "list": "taskapi GET list (20 of 20, 10 k rows)",
    "reference_list": "reference GET list (user + count + page)",
    "bare": "bare Flask GET",
    "get_one": "taskapi GET one",
    "create": "taskapi POST create",
    "patch": "taskapi PATCH with If-Match: *",
    "login": "taskapi POST login (argon2id)",
    "list_1m": "taskapi GET list (20 of 20, 1 M rows)",
}
TASKS = "/api/v1/tasks"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="taskapi's WEB_CONCURRENCY (default 1)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over every case (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded load per case first")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--other-users", type=int, default=10_000, help="users besides the bench user")
    parser.add_argument("--large-tasks-per-user", type=int, default=100,
                        help="their tasks each in the 1 M-row database (the 10 k-row one gives them 1)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1 M-row database")
    parser.add_argument("--cases", default=",".join(DESCRIPTIONS), help="comma-separated subset of cases")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", help="also write the medians to this file")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def post_json(url, path, body, headers=None):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = json.loads(response.read() or b"null")
    connection.close()
    if response.status >= 300:
        raise RuntimeError(f"POST {path}: {response.status} {data}")
    return data


def access_token(server, email):
    body = {"email": email, "password": database.BENCH_PASSWORD}
    return post_json(server.url, "/api/v1/auth/login", body)["access_token"]


def cases_for(main, ref, bare, large, task_ids):
    """Case name → (server, wrk script text)."""
    bench_auth = {"Authorization": f"Bearer {access_token(main, database.BENCH_EMAIL)}"}
    writer_auth = {"Authorization": f"Bearer {access_token(main, database.WRITER_EMAIL)}"}
    json_type = {"Content-Type": "application/json"}
    login_body = json.dumps({"email": database.BENCH_EMAIL, "password": database.BENCH_PASSWORD})
    task_paths = [f"{TASKS}/{task_id}" for task_id in task_ids]
    lua = loadgen.request_lua
    cases = {
        "list": (main, lua("GET", TASKS, bench_auth)),
        "reference_list": (ref, lua("GET", TASKS, bench_auth)),
        "bare": (bare, lua("GET", TASKS, {})),
        "get_one": (main, lua("GET", task_paths[0], bench_auth)),
        # The writer's own tasks grow with every POST; the bench user's list stays at 20.
        "create": (main, lua("POST", TASKS, {**writer_auth, **json_type},
                             counter_body='{"title": "Bench task %d", "priority": "high"}')),
        # wrk cannot read the ETag of an answer, so every PATCH sends If-Match: * (matches any current ETag,
        # still parsed and checked) and a new title, so each one really writes and bumps the version.
        "patch": (main, lua("PATCH", task_paths[0], {**bench_auth, **json_type, "If-Match": "*"},
                            rotate_paths=task_paths, counter_body='{"title": "Edited %d"}')),
        "login": (main, lua("POST", "/api/v1/auth/login", json_type, body=login_body)),
    }
    if large is not None:
        large_auth = {"Authorization": f"Bearer {access_token(large, database.BENCH_EMAIL)}"}
        cases["list_1m"] = (large, lua("GET", TASKS, large_auth))
    return cases


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}, Python {platform.python_version()}"


def prepare_database(args, label, tasks_per_other_user, password_hash, log_dir):
    db = database.Database(args.admin_url, label)
    servers.release(db.url, log_dir)
    started = time.perf_counter()
    task_ids, total = database.seed(db.url, password_hash, args.other_users, tasks_per_other_user)
    log(f"{db.name}: {total} task rows seeded in {time.perf_counter() - started:.1f} s")
    return db, task_ids


def drain(server):
    """Wait until `server` has answered what wrk left queued (up to 32 logins: ~1 s of one core).

    Otherwise that work runs on the server core during the next case's first second and shows in its p99.
    Any answer will do (the references have no /health/live): it is queued behind the rest.
    """
    servers.get_status(server.port, "/health/live", timeout=60)


def measure(args, cases, work_dir):
    results = {name: [] for name in cases}
    for name, (server, script) in cases.items():
        loadgen.run(server.url, script, work_dir / f"{name}.lua", args.warmup, args.connections)
        drain(server)
    for round_number in range(1, args.rounds + 1):
        for name, (server, script) in cases.items():
            result = loadgen.run(server.url, script, work_dir / f"{name}.lua", args.duration, args.connections)
            drain(server)
            results[name].append(result)
            log(f"round {round_number} {name}: {result.requests_per_second:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, errors {result.non_2xx}+{result.socket_errors}")
    return results


def main():
    args = parse_args()
    loadgen.require_wrk()
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is missing: `apt-get install -y util-linux`")
    from taskapi.auth.passwords import hash_password, hasher

    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-bench-"))
    password_hash = hash_password(database.BENCH_PASSWORD)
    databases, running = [], []
    try:
        small, task_ids = prepare_database(args, "10k", 1, password_hash, work_dir)
        databases.append(small)
        large = None
        if not args.no_scaling:
            large, _ = prepare_database(args, "1m", args.large_tasks_per_user, password_hash, work_dir)
            databases.append(large)
        main_server = servers.taskapi("taskapi", small.url, args.workers, work_dir)
        running.append(main_server.start())
        start_seconds = main_server.start_seconds
        log(f"taskapi: Popen to first 200 on /health in {start_seconds:.2f} s")
        ref = servers.reference("reference", "reference_app", small.url, work_dir)
        bare = servers.reference("bare", "bare_app", small.url, work_dir)
        running += [ref.start(), bare.start()]
        large_server = None
        if large is not None:
            large_server = servers.taskapi("taskapi-1m", large.url, args.workers, work_dir)
            running.append(large_server.start())
        cases = cases_for(main_server, ref, bare, large_server, task_ids)
        wanted = args.cases.split(",")
        cases = {name: case for name, case in cases.items() if name in wanted}
        results = measure(args, cases, work_dir)
        for server in running:  # RSS once each worker has answered everything it accepted
            drain(server)
        rss = main_server.worker_rss_mib()
        rss_by_server = {server.name: server.worker_rss_mib() for server in running}
    finally:
        for server in running:
            server.stop()
        for db in databases:
            db.drop()

    summary = report.medians(results)
    print(f"\nMachine: {machine()}")
    print(f"Method: server on core 0 (taskset -c 0), wrk -t1 -c{args.connections} on core 1; {args.rounds} rounds of "
          f"{args.duration} s per case, interleaved, after {args.warmup} s of warm-up each; medians over rounds.")
    print(f"taskapi: WEB_CONCURRENCY={args.workers}; argon2id m={hasher.memory_cost} KiB, t={hasher.time_cost}, "
          f"p={hasher.parallelism}\n")
    print(report.table(summary, DESCRIPTIONS))
    print("\nWorker RSS after the run (MiB): " + ", ".join(
        f"{name} {' '.join(f'{value:.1f}' for value in values)}" for name, values in rss_by_server.items()))
    print(f"taskapi process start (Popen of gunicorn) to first 200 on /health: {start_seconds:.2f} s\n")
    if {"list", "reference_list", "bare", "login"} <= summary.keys():
        ratio = report.ratios(summary)
        print("\n".join(f"- {name}: {value:.2f}" for name, value in ratio.items()) + "\n")
        print(report.targets(summary, ratio, rss, start_seconds, server_cores=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rss_mib": rss_by_server,
                                               "start_seconds": start_seconds}, indent=2))
    shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
