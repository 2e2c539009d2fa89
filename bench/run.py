"""make bench: taskapi against its equal-output reference (sync and gthread) and bare Flask, in two regimes.

cpu: the servers and PostgreSQL share core 0, wrk runs on core 1; CPU milliseconds per request are
the figure to read. network: PostgreSQL (and a proxy adding ~1 ms of round trip) on core 1, the
server alone on core 0, as on a PaaS whose database is another machine.
"""

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from alembic.script import ScriptDirectory

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import client, cpu, database, equality, loadgen, postgres, report, servers  # noqa: E402
from bench.servers import LOAD_CORE, SERVER_CORE  # noqa: E402

TASKS = "/api/v1/tasks"
REGIMES = ("cpu", "network")
OPERATIONS = ("list", "one", "create", "patch")
# bare in both regimes; the rest in the cpu regime: login, the list filtered by a tag, and on the 1 M-row
# database the list, cursor pages (first and last of 100 k tasks) and feed reads (100 changes of 1 k / 100 k);
# create_webhook (both regimes): the create in a list of the writer's with one webhook (a sink answering 204),
# and beside it its baseline, the same create in a list of the writer's without webhooks (create list); with
# --before and create_webhook in --before-cases, the same pair on the before server.
EXTRAS = ("bare", "login", "tag", "pat", "list-1m", "deep", "create_webhook")
COMPARED = ("taskapi", "ref-sync", "ref-gthread")


@dataclass
class Case:
    name: str
    server: servers.Server
    script: str


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated: cpu, network (default both)")
    parser.add_argument("--cases", default=",".join(OPERATIONS + EXTRAS),
                        help=f"comma-separated subset of {', '.join(OPERATIONS + EXTRAS)} (default all)")
    parser.add_argument("--workers", type=int, default=1, help="taskapi's WEB_CONCURRENCY (default 1)")
    parser.add_argument("--threads", type=int, help="taskapi's GUNICORN_THREADS (default: as gunicorn.conf.py says)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over every case (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded load per case first (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--rtt-ms", type=float, default=1.0, help="round trip to PostgreSQL, network regime (1.0)")
    parser.add_argument("--other-users", type=int, default=10_000, help="users besides the bench user (10 000)")
    parser.add_argument("--large-tasks-per-user", type=int, default=100,
                        help="their tasks each in the 1 M-row database (the 10 k-row one gives them 1)")
    parser.add_argument("--json", help="also write the medians to this file")
    parser.add_argument("--before", metavar="GIT_REF",
                        help="also run taskapi as of this commit, interleaved with the working tree's, and print "
                             "before/after; on the same database when both have one migration head, else on a "
                             "database of its own, migrated and seeded (same counts) by that commit's code")
    parser.add_argument("--before-cases", default="list,one",
                        help="operations to run on --before's taskapi (default list,one)")
    args = parser.parse_args()
    args.regimes = [name for name in args.regimes.split(",") if name]
    args.cases = [name for name in args.cases.split(",") if name]
    unknown = set(args.regimes) - set(REGIMES) | set(args.cases) - set(OPERATIONS + EXTRAS)
    if unknown:
        parser.error(f"unknown regime or case: {', '.join(sorted(unknown))}")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def require_tools():
    loadgen.require_wrk()
    for tool, package in (("taskset", "util-linux"), ("pgrep", "procps"), ("runuser", "util-linux")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: `apt-get install -y {package}`")
    postgres.server_programs()
    if os.cpu_count() < 2:
        raise SystemExit("the bench needs two cores: the server's (0) and the load's (1)")


def machine():
    cpu_name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {cpu_name}, Linux {platform.release()}, Python {platform.python_version()}"


def prepare_database(cluster, label, tasks_per_other_user, password_hash, args, log_dir, deep_users=False,
                     tree=servers.ROOT):
    """A new database on `cluster`, migrated and seeded by the code of `tree` (a --before checkout: its
    migrations and its bench/database.py, so an older schema gets the seed written for it)."""
    db = database.Database(cluster.admin_url, label)
    servers.release(db.url, log_dir, cwd=tree)
    seeder = database if tree == servers.ROOT else module_from(Path(tree) / "bench" / "database.py")
    started = time.perf_counter()
    extra = {"deep_users": True} if deep_users else {}  # every seed() so far takes these four arguments
    task_ids, total = seeder.seed(db.url, password_hash, args.other_users, tasks_per_other_user, **extra)
    log(f"{db.name}: {total} task rows seeded in {time.perf_counter() - started:.1f} s")
    return db, task_ids


def module_from(path):
    """The Python module in file `path`, imported under a name of its own (it must not replace bench.database)."""
    spec = importlib.util.spec_from_file_location(f"bench_before_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def migration_heads(tree):
    return set(ScriptDirectory(str(Path(tree) / "migrations")).get_heads())


def scripts(tokens, task_ids, tag, webhook_lists=None):
    """Operation → wrk script. `tag` makes each run's PATCH titles new, so every PATCH really writes."""
    reader = client.bearer(tokens["reader"])
    writer = client.bearer(tokens["writer"])
    json_type = {"Content-Type": "application/json"}
    task_paths = [f"{TASKS}/{task_id}" for task_id in task_ids]
    lua = loadgen.request_lua
    login_body = json.dumps({"email": database.BENCH_EMAIL, "password": database.BENCH_PASSWORD})
    return {
        "list": lua("GET", TASKS, reader),
        "one": lua("GET", task_paths[0], reader),
        # The writer's own tasks grow with every POST; the bench user's list stays at 20.
        "create": lua("POST", TASKS, {**writer, **json_type},
                      counter_body='{"title": "Bench task %d", "priority": "high"}'),
        # wrk cannot read the ETag of an answer, so every PATCH sends If-Match: * (matches any current ETag,
        # still parsed and checked) and a new title, so each one really writes and bumps the version.
        "patch": lua("PATCH", task_paths[0], {**reader, **json_type, "If-Match": "*"}, rotate_paths=task_paths,
                     counter_body=f'{{"title": "Edited {tag} %d"}}'),
        "login": lua("POST", "/api/v1/auth/login", json_type, body=login_body),
        "bare": lua("GET", TASKS, {}),
        "tag": lua("GET", f"{TASKS}?tag={database.TAG}", reader),
        # The same read as "one", authenticated by a personal access token instead of a JWT.
        "pat": tokens.get("personal") and lua("GET", task_paths[0], client.bearer(tokens["personal"])),
        # The create in a list without webhooks, and in one whose one webhook receives every task event: what
        # the outbox and the delivery cost a write.
        **{case: lua("POST", TASKS, {**writer, **json_type}, counter_body=(
            f'{{"title": "Bench task %d", "priority": "high", "list_id": {list_id}}}'))
           for case, list_id in zip(("create_list", "create_webhook"), webhook_lists or (), strict=False)},
    }


class Regime:
    """The servers of one regime, on the database URLs it gives them, and its cases."""

    def __init__(self, name, args, cluster, databases, work_dir):
        self.name = name
        self.args = args
        self.cluster = cluster
        self.databases = databases
        self.work_dir = work_dir
        self.proxy = self.proxy_port = self.one_way_ms = None
        self.rtt_ms = None
        self.servers = {}
        self.tokens = {}
        self.before_tokens = {}
        self.deep_paths = {}
        self.sink = self.sink_port = self.runner = None
        self.webhook_lists = self.before_webhook_lists = self.web_webhook_lists = None

    def database_url(self, db):
        if self.proxy is None:
            return db.url
        return db.url.replace(f":{self.cluster.port}/", f":{self.proxy_port}/")

    def set_up(self):
        """Place PostgreSQL, put the delay in the way (network), start every server, check equal output."""
        self.place_database()
        for key, make in self.server_plan().items():
            self.servers[key] = make(f"{key}-{self.name}").start()
        self.tokens = {"reader": self.log_in("taskapi", database.BENCH_EMAIL),
                       "writer": self.log_in("taskapi", database.WRITER_EMAIL)}
        if self.name == "cpu" and "pat" in self.args.cases:
            self.tokens["personal"] = client.personal_token(self.servers["taskapi"].url, self.tokens["reader"])
        if "before" in self.servers:  # its own tokens: its database may be another, its tokens another kind
            self.before_tokens = {"reader": self.log_in("before", database.BENCH_EMAIL),
                                  "writer": self.log_in("before", database.WRITER_EMAIL)}
        if "taskapi-1m" in self.servers:
            self.tokens["large"] = self.log_in("taskapi-1m", database.BENCH_EMAIL)
        if "taskapi-1m" in self.servers and "deep" in self.args.cases:
            self.deep_paths = self.find_deep_paths()
        if "create_webhook" in self.args.cases:
            self.sink_port = servers.free_port()
            self.sink = subprocess.Popen(["taskset", "-c", LOAD_CORE, sys.executable, "-m", "bench.sink", "--port",
                                          str(self.sink_port)], cwd=servers.ROOT)
            self.webhook_lists = self.lists_for_webhooks("taskapi", self.tokens["writer"])
            self.tokens["web writer"] = self.log_in("taskapi-web", database.WRITER_EMAIL)
            self.web_webhook_lists = self.lists_for_webhooks("taskapi-web", self.tokens["web writer"])
            self.runner = servers.background_runner(self.database_url(self.databases["web"]), self.work_dir,
                                                    LOAD_CORE)
            if "before" in self.servers and "create_webhook" in self.args.before_cases.split(","):
                self.before_webhook_lists = self.lists_for_webhooks("before", self.before_tokens["writer"])
        self.check_equal_output()

    def lists_for_webhooks(self, key, writer_token):
        """Two lists of the writer's on server `key`: one without webhooks, one whose one webhook (every task event)
        posts to the sink on the load core; their ids."""
        url, writer = self.servers[key].url, client.bearer(writer_token)
        ids = []
        for name in ("Plain", "Webhooked"):
            made = client.call(url, "POST", "/api/v1/lists", writer, {"name": f"{name} {self.name}"})
            if made.status != 201:
                raise SystemExit(f"making a list on {key} answered {made.status}: {made.body[:200]!r}")
            ids.append(made.json()["id"])
        hook = client.call(url, "POST", f"/api/v1/lists/{ids[1]}/webhooks", writer,
                           {"url": f"http://127.0.0.1:{self.sink_port}/hook", "events": ["task.*"]})
        if hook.status != 201:
            raise SystemExit(f"registering the webhook on {key} answered {hook.status}: {hook.body[:200]!r}")
        return tuple(ids)

    def place_database(self):
        direct_rtt = postgres.round_trip_ms(self.cluster.admin_url)
        if self.name == "cpu":
            self.cluster.pin(SERVER_CORE)
            self.rtt_ms = direct_rtt
        else:
            self.cluster.pin(LOAD_CORE)
            self.start_proxy()
        log(f"{self.name}: PostgreSQL on core {self.cluster.core}; SELECT 1 round trip {self.rtt_ms:.3f} ms "
            f"(direct: {direct_rtt:.3f} ms)")

    def server_plan(self):
        """Server key → a function making that server from its name, for the cases asked for."""
        args, small_url = self.args, self.database_url(self.databases["small"])
        plan = {"taskapi": lambda name: servers.taskapi(name, small_url, args.workers, self.work_dir, args.threads)}
        if args.before_tree:
            before_url = self.database_url(self.databases["before"])
            plan["before"] = lambda name: servers.taskapi(name, before_url, args.workers, self.work_dir, args.threads,
                                                          cwd=args.before_tree)
        if set(args.cases) & set(OPERATIONS):
            for model in servers.THREAD_MODELS:
                plan[f"ref-{model}"] = lambda name, model=model: servers.bench_app(
                    name, "reference_app", small_url, self.work_dir, model)
        if "bare" in args.cases:
            plan["bare"] = lambda name: servers.bench_app(name, "bare_app", small_url, self.work_dir, "gthread")
        if "create_webhook" in args.cases:
            web_url = self.database_url(self.databases["web"])
            plan["taskapi-web"] = lambda name: servers.taskapi(name, web_url, args.workers, self.work_dir,
                                                               args.threads, BACKGROUND_WORK="false")
        if self.name == "cpu" and {"list-1m", "deep"} & set(args.cases):
            large_url = self.database_url(self.databases["large"])
            plan["taskapi-1m"] = lambda name: servers.taskapi(name, large_url, args.workers, self.work_dir,
                                                              args.threads)
        return plan

    def log_in(self, key, email):
        return client.login(self.servers[key].url, email, database.BENCH_PASSWORD)

    def find_deep_paths(self):
        """Paths of the deep cases, with the cursors they need (taken through the API once)."""
        url = self.servers["taskapi-1m"].url
        big, feed = (self.log_in("taskapi-1m", email) for email in (database.BIG_EMAIL, database.FEED_EMAIL))
        self.tokens.update(big=big, feed=feed)
        last = client.last_page_cursor(url, big, database.BIG_TASKS)
        since_1k = client.feed_cursor_before_last(url, feed, database.FEED_TASKS)
        since_100k = client.feed_cursor_before_last(url, big, database.BIG_TASKS)
        return {
            "first page": (big, f"{TASKS}?limit=20"),
            "last page": (big, f"{TASKS}?limit=20&cursor={last}"),
            "feed 1k": (feed, f"{TASKS}/changes?since={since_1k}"),
            "feed 100k": (big, f"{TASKS}/changes?since={since_100k}"),
        }

    def check_equal_output(self):
        taskapi = equality.over_http(self.servers["taskapi"].url)
        for key in [key for key in self.servers if key.startswith("ref-")]:
            try:
                equality.check(taskapi, equality.over_http(self.servers[key].url), self.tokens["reader"],
                               self.tokens["writer"], self.databases["task_ids"])
            except equality.MismatchError as mismatch:
                raise SystemExit(f"taskapi and the reference ({key}) answer differently, so comparing them would "
                                 f"mean nothing; make bench/reference_app.py answer as taskapi does.\n{mismatch}"
                                 ) from None
            log(f"{self.name}: {key} answers list, one task, create and PATCH exactly as taskapi does")

    def start_proxy(self):
        """The delaying proxy on the load core, its one-way delay tuned until SELECT 1 takes --rtt-ms."""
        one_way = self.args.rtt_ms / 2
        for _ in range(4):
            self.stop_proxy()
            self.proxy_port = servers.free_port()
            self.proxy = subprocess.Popen(
                ["taskset", "-c", LOAD_CORE, sys.executable, "-m", "bench.delay_proxy", "--port",
                 str(self.proxy_port), "--target", str(self.cluster.port), "--one-way-ms", f"{one_way:.4f}"],
                cwd=servers.ROOT)
            proxied = self.cluster.admin_url.replace(f":{self.cluster.port}/", f":{self.proxy_port}/")
            for _attempt in range(100):
                try:
                    self.rtt_ms = postgres.round_trip_ms(proxied)
                    break
                except psycopg2.OperationalError:
                    time.sleep(0.05)
            else:
                raise RuntimeError("the delaying proxy did not pass connections on to PostgreSQL")
            # The proxy's own work and the wake-ups after each wait add to the delay asked for.
            if abs(self.rtt_ms - self.args.rtt_ms) < 0.05 * self.args.rtt_ms:
                break
            one_way = max(0.0, one_way - (self.rtt_ms - self.args.rtt_ms) / 2)
        self.one_way_ms = one_way

    def stop_proxy(self):
        if self.proxy is not None:
            self.proxy.terminate()
            self.proxy.wait()
            self.proxy = None

    def cases(self, tag):
        """Case name → (server, script), taskapi and both references interleaved per operation."""
        common = scripts(self.tokens, self.databases["task_ids"], tag, self.webhook_lists)
        web = self.web_webhook_lists and scripts({**self.tokens, "writer": self.tokens["web writer"]},
                                                 self.databases["task_ids"], tag, self.web_webhook_lists)
        before = self.before_tokens and scripts(self.before_tokens, self.databases["before_task_ids"], tag,
                                                self.before_webhook_lists)
        found = {}
        for operation in OPERATIONS:
            if operation in self.args.cases:
                compared = COMPARED
                if "before" in self.servers and operation in self.args.before_cases.split(","):
                    compared = (*COMPARED, "before")
                for key in compared:
                    script = (before if key == "before" else common)[operation]
                    found[f"{key} {operation}"] = Case(f"{key} {operation}", self.servers[key], script)
        if "bare" in self.servers:
            found["bare"] = Case("bare", self.servers["bare"], common["bare"])
        if self.name == "cpu" and "login" in self.args.cases:
            found["taskapi login"] = Case("taskapi login", self.servers["taskapi"], common["login"])
        if self.name == "cpu" and "tag" in self.args.cases:
            found["taskapi tag list"] = Case("taskapi tag list", self.servers["taskapi"], common["tag"])
        if self.name == "cpu" and "pat" in self.args.cases:
            found["taskapi one pat"] = Case("taskapi one pat", self.servers["taskapi"], common["pat"])
        for key, lists, made in (("taskapi", self.webhook_lists, common), ("taskapi-web", self.web_webhook_lists, web),
                                 ("before", self.before_webhook_lists, before)):
            if lists is not None:  # each pair side by side, so that both meet the same moment's load
                for operation in ("create_list", "create_webhook"):
                    name = f"{key} {operation.replace('_', ' ')}"
                    found[name] = Case(name, self.servers[key], made[operation])
        if "taskapi-1m" in self.servers and "list-1m" in self.args.cases:
            large = scripts({**self.tokens, "reader": self.tokens["large"]}, self.databases["task_ids"], tag)
            found["taskapi-1m list"] = Case("taskapi-1m list", self.servers["taskapi-1m"], large["list"])
        for name, (token, path) in self.deep_paths.items():
            found[f"taskapi-1m {name}"] = Case(f"taskapi-1m {name}", self.servers["taskapi-1m"],
                                               loadgen.request_lua("GET", path, client.bearer(token)))
        return found

    def tear_down(self):
        for server in self.servers.values():
            server.stop()
        self.stop_proxy()
        for process in (self.runner, self.sink):
            if process is not None:
                process.terminate()
                process.wait()


def drain(server):
    """Wait until `server` has answered what wrk left queued (up to 32 logins: ~1 s of one core).

    Otherwise that work runs on the server core during the next case's first second and shows in its p99.
    Any answer will do (the references have no /health/live): it is queued behind the rest.
    """
    client.status_of(server.url, "/health/live", timeout=60)


def measured_processes(cluster, server):
    """gunicorn's process group and the PostgreSQL backends serving it."""
    return server.processes() + cluster.backends(server.application_name)


def run_case(regime, case, seconds, run_number):
    """One wrk run of `case`, with the CPU its server and backends used meanwhile."""
    script_path = regime.work_dir / f"{regime.name}-{case.name.replace(' ', '-')}-{run_number}.lua"
    before = cpu.snapshot(measured_processes(regime.cluster, case.server))
    result = loadgen.run(case.server.url, case.script, script_path, seconds, regime.args.connections, LOAD_CORE)
    after = cpu.snapshot(set(before) | set(measured_processes(regime.cluster, case.server)))
    drain(case.server)
    result.cpu_ms_per_request = 1000 * cpu.used(before, after) / max(result.requests, 1)
    return result


def vacuum(regime):
    """VACUUM each database before a case. A PATCH case leaves thousands of dead versions of the rows it
    updates (the task, its list's sequence row); the servers sharing a database (taskapi and the references)
    would otherwise each pay for the others' writes, and a server on a database of its own (--before on
    another schema) would not: the comparison would favour it."""
    for db in {id(db): db for db in regime.databases.values() if isinstance(db, database.Database)}.values():
        db.vacuum()


def measure(regime):
    args = regime.args
    results = {}
    for name, case in regime.cases("warm").items():
        run_case(regime, case, args.warmup, 0)
        results[name] = []
    for round_number in range(1, args.rounds + 1):
        for name, case in regime.cases(f"r{round_number}").items():
            vacuum(regime)
            result = run_case(regime, case, args.duration, round_number)
            results[name].append(result)
            log(f"{regime.name} round {round_number} {name}: {result.requests_per_second:.0f} req/s, "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"CPU {result.cpu_ms_per_request:.2f} ms/req, errors {result.non_2xx}+{result.socket_errors}")
    return results


def run_regime(name, args, cluster, databases, work_dir, extras):
    regime = Regime(name, args, cluster, databases, work_dir)
    try:
        regime.set_up()
        if name == "cpu":
            extras["start_seconds"] = regime.servers["taskapi"].start_seconds
        results = measure(regime)
        if name == "cpu":
            for server in regime.servers.values():  # RSS once each worker has answered everything it accepted
                drain(server)
            extras["rss_mib"] = {key: server.worker_rss_mib() for key, server in regime.servers.items()}
        return {"results": results, "rtt_ms": regime.rtt_ms, "core": regime.cluster.core,
                "one_way_ms": regime.one_way_ms}
    finally:
        regime.tear_down()


def checkout(ref, directory):
    """The files of commit `ref`, for running taskapi as it was (with this checkout's virtualenv)."""
    directory.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=servers.ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def main():
    args = parse_args()
    require_tools()
    from taskapi.auth.passwords import hasher_for
    from taskapi.config import PASSWORD_HASHING

    hasher = hasher_for(PASSWORD_HASHING)  # production's parameters

    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-bench-"))
    args.before_tree = args.before and checkout(args.before, work_dir / "before")
    # Another schema cannot share the database: the before server gets one of its own, seeded alike.
    # A database of its own for the before tree when its schema differs, and when it delivers webhooks: each
    # process's background thread claims any due event of its database, so servers sharing one would deliver
    # each other's events and the webhook cases would not measure what they say.
    measures_webhooks = "create_webhook" in args.cases
    args.before_own_database = bool(args.before) and (
        migration_heads(args.before_tree) != migration_heads(servers.ROOT)
        or (measures_webhooks and "create_webhook" in args.before_cases.split(",")))
    password_hash = hasher.hash(database.BENCH_PASSWORD)
    cluster = postgres.Cluster(servers.free_port())  # on any core while seeding; each regime places it
    regimes, extras = {}, {}
    try:
        cluster.start()
        small, task_ids = prepare_database(cluster, "10k", 1, password_hash, args, work_dir)
        databases = {"small": small, "task_ids": task_ids, "before": small, "before_task_ids": task_ids}
        if args.before_own_database:
            log(f"--before {args.before}: migration head {', '.join(sorted(migration_heads(args.before_tree)))}, "
                f"this tree's {', '.join(sorted(migration_heads(servers.ROOT)))}; webhooks measured: "
                f"{measures_webhooks}: a database of its own")
            databases["before"], databases["before_task_ids"] = prepare_database(
                cluster, "before", 1, password_hash, args, work_dir, tree=args.before_tree)
        if measures_webhooks:  # taskapi-web and its background process, alone on theirs (see above)
            databases["web"], _ = prepare_database(cluster, "web", 1, password_hash, args, work_dir)
        if {"list-1m", "deep"} & set(args.cases) and "cpu" in args.regimes:
            databases["large"], _ = prepare_database(cluster, "1m", args.large_tasks_per_user, password_hash, args,
                                                     work_dir, deep_users="deep" in args.cases)
        for name in args.regimes:
            regimes[name] = run_regime(name, args, cluster, databases, work_dir, extras)
    finally:
        cluster.stop()

    summaries = {name: report.medians(regime["results"]) for name, regime in regimes.items()}
    print(f"\nMachine: {machine()}")
    print(f"Method: {args.rounds} rounds of {args.duration} s per case, interleaved, after {args.warmup} s of warm-up "
          f"each; wrk -t1 -c{args.connections} on core {LOAD_CORE}; medians over rounds. taskapi: "
          f"WEB_CONCURRENCY={args.workers}, GUNICORN_THREADS={args.threads or 'default'}; argon2id "
          f"m={hasher.memory_cost} KiB, t={hasher.time_cost}, p={hasher.parallelism}.")
    for name, regime in regimes.items():
        print("\n" + report.regime_heading(name, regime))
        print(report.table(summaries[name]))
        print("\n" + report.comparison(summaries[name]))
        if args.before:
            where = "each on its own database, seeded alike" if args.before_own_database else "one database"
            print(f"\nBefore ({args.before}) and after (this tree), same run, {where}:\n")
            print(report.before_after(summaries[name]))
    print("\n" + report.extras(summaries, extras))
    print("\n" + report.targets(summaries, extras, server_cores=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summaries": summaries, "extras": extras,
                                               "rtt_ms": {name: r["rtt_ms"] for name, r in regimes.items()}},
                                              indent=2))
    shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
