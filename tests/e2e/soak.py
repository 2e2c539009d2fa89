"""The soak workload: client threads on real HTTP, keeping a ledger of every write the service acknowledged."""

import collections
import functools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from tests.e2e.helpers import AUTH, PASSWORD, TASKS, TIMEOUT, query

# During a fault the service may answer 503 (the database went away); these 4xx are documented answers a
# client must handle (a write it could not confirm may have happened: 404, 409 and 412 follow from that).
FAULT_STATUSES = {503}
DOCUMENTED_4XX = {404, 409, 412, 429}
ACCOUNTS_PER_CLIENT = 4
LIVE_TASKS_WANTED = 12
PAUSE = 0.02  # between a client's operations: the machine is shared, the point is duration, not load
RESYNC_SECONDS = 30
REFRESH_AFTER = 600  # seconds; access tokens live 900
COMPARED = ("title", "status", "priority", "version", "position", "deleted")
# Moving a task again and again to one place makes the keys around it longer; ~370 moves make the service
# rewrite the account's positions (a rebalance), which one client provokes once per run.
CROWD_MOVES = 600


class Stats:
    """Every request's outcome and when it was sent, shared by the clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.outcomes = collections.Counter()  # status code or "conn" → count
        self.errors = []  # monotonic times at which every non-2xx or connection error came back
        self.counts = collections.Counter()  # what the clients did about unknown outcomes
        self.unexpected = []  # what no client should ever see: (method, path, status, body)

    def record(self, method, path, response):
        with self.lock:
            self.requests += 1
            outcome = "conn" if response is None else response.status_code
            self.outcomes[outcome] += 1
            if outcome == "conn" or outcome >= 300:
                self.errors.append(time.monotonic())
            if outcome == "conn" or 200 <= outcome < 300 or outcome in DOCUMENTED_4XX:
                return
            if outcome in FAULT_STATUSES and _error_code(response) == "service_unavailable":
                return
            self.unexpected.append((method, path, outcome, response.text[:300]))

    def problem(self, description):
        with self.lock:
            self.unexpected.append(description)

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    def non2xx(self):
        """`503:4,conn:2`: every answer that was not 2xx, by status, and connection errors."""
        items = sorted((str(k), n) for k, n in self.outcomes.items() if k == "conn" or not 200 <= k < 300)
        return ",".join(f"{k}:{n}" for k, n in items) or "0"


def renumbered(known, seen):
    """True when `seen` is `known` renumbered by a rebalance: a new position and a higher version, all else alike."""
    return (seen["version"] > known["version"] and seen["position"] != known["position"]
            and all(seen[name] == known[name] for name in COMPARED if name not in ("version", "position")))


def _error_code(response):
    try:
        return response.json().get("code")
    except ValueError:
        return None


@dataclass
class TaskState:
    """What the client last knew of one task: from an acknowledged write, or re-read after an unknown outcome."""

    id: int
    title: str
    status: str
    priority: str
    version: int
    position: str
    deleted: bool = False
    acknowledged: int = 0  # writes to it the service acknowledged
    uncertain: bool = False  # could not be re-read after an unknown outcome: left out of the verification

    def take(self, body, deleted=False):
        for name in ("title", "status", "priority", "version", "position"):
            setattr(self, name, body[name])
        self.deleted = deleted

    def etag(self):
        return f'"{self.id}.{self.version}"'

    def expected(self):
        return {name: getattr(self, name) for name in COMPARED}


@dataclass
class Account:
    email: str
    user_id: int = 0
    access: str = ""
    refresh: str = ""
    issued_at: float = 0.0
    tasks: dict = field(default_factory=dict)  # id → TaskState
    unknown_titles: set = field(default_factory=set)  # creates without a key whose outcome is unknown
    keyed_titles: dict = field(default_factory=dict)  # Idempotency-Key → title, for keys sent more than once
    feed_cursor: str | None = None
    replica: dict = field(default_factory=dict)  # id → version, as the change feed told it
    resets_requested: int = 0  # answered 202
    resets_unknown: int = 0  # no answer, or 503: stored or not

    def live(self):
        return [t for t in self.tasks.values() if not t.deleted and not t.uncertain]

    def trashed(self):
        return [t for t in self.tasks.values() if t.deleted and not t.uncertain]

    def take_pair(self, pair):
        self.user_id = pair["user"]["id"]
        self.access, self.refresh = pair["access_token"], pair["refresh_token"]
        self.issued_at = time.monotonic()


class Client(threading.Thread):
    """One client: its own accounts, written by it alone, so their final state is its ledger's (see `learn`)."""

    def __init__(self, urls, stats, stop, seed):
        super().__init__(daemon=True, name=f"soak-client-{seed}")
        self.urls = urls
        self.stats = stats
        self.stop = stop
        self.random = random.Random(seed)
        self.session = requests.Session()
        self.turn = seed
        self.accounts = []
        self.failure = None
        self.crowded = seed != 0  # one client provokes a rebalance
        self.operations = [
            (self.create, 10), (self.create_with_key, 10), (self.patch, 15), (self.move, 8), (self.toggle, 8),
            (self.delete, 6), (self.restore, 4), (self.browse, 8), (self.read, 6), (self.feed, 6),
            (self.refresh, 2), (self.login, 1), (self.register, 1), (self.reset, 1), (self.crowd, 1),
        ]

    # -- plumbing --------------------------------------------------------------------------------------

    def call(self, method, path, account=None, token=None, headers=None, **kwargs):
        """One request to the next instance in turn; None when the connection failed (outcome unknown)."""
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        headers = dict(headers or {})
        token = token or (self.token(account) if account else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.session.request(method, url + path, headers=headers, timeout=TIMEOUT,
                                            allow_redirects=False, **kwargs)
        except requests.RequestException:
            response = None
        self.stats.record(method, path, response)
        return response

    def token(self, account):
        if time.monotonic() - account.issued_at > REFRESH_AFTER:
            self.refresh(account)
        return account.access

    def pick_account(self):
        return self.random.choice(self.accounts)

    def run(self):
        try:
            while not self.accounts and not self.stop.is_set():
                self.register()
            operations, weights = zip(*self.operations, strict=True)
            while not self.stop.is_set():
                self.random.choices(operations, weights)[0]()
                time.sleep(PAUSE)
        except Exception as exc:  # a bug in the workload must fail the test, not vanish with the thread
            self.failure = exc
            raise

    # -- accounts --------------------------------------------------------------------------------------

    def register(self):
        if len(self.accounts) >= ACCOUNTS_PER_CLIENT:
            return self.login()
        account = Account(email=f"soak-{uuid.uuid4().hex[:12]}@example.com")
        response = self.call("POST", AUTH + "/register", json={"email": account.email, "password": PASSWORD,
                                                                "name": "Soak"})
        if response is not None and response.status_code == 201:
            account.take_pair(response.json())
            self.accounts.append(account)
        # Otherwise the account may or may not exist: its address is never used again.

    def login(self, account=None):
        """Log in (a new session); after an unknown outcome, keep trying: the account needs tokens."""
        account = account or self.pick_account()
        deadline = time.monotonic() + RESYNC_SECONDS
        while time.monotonic() < deadline:
            response = self.call("POST", AUTH + "/login", json={"email": account.email, "password": PASSWORD})
            if response is not None and response.status_code == 200:
                account.take_pair(response.json())
                return
            time.sleep(0.5)
        self.stats.problem(f"could not log in to {account.email} for {RESYNC_SECONDS} s")

    def refresh(self, account=None):
        account = account or self.pick_account()
        response = self.call("POST", AUTH + "/refresh", token=account.refresh)
        if response is not None and response.status_code == 200:
            account.take_pair(response.json())
        else:
            # Unknown outcome: the refresh token may have been exchanged, and sending it again would end the
            # session as a replay. A new login is the safe way back.
            self.login(account)

    def reset(self):
        account = self.pick_account()
        response = self.call("POST", AUTH + "/password-reset", json={"email": account.email})
        if response is not None and response.status_code == 202:
            account.resets_requested += 1
        elif _unknown(response):
            account.resets_unknown += 1

    # -- task writes -----------------------------------------------------------------------------------

    def create(self, keyed=False):
        account = self.pick_account()
        if len(account.live()) >= LIVE_TASKS_WANTED * 2:
            return self.delete(account)
        title = f"soak {uuid.uuid4().hex[:16]}"
        body = {"title": title, "priority": self.random.choice(["low", "medium", "high"])}
        headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
        response = self.call("POST", TASKS, account, headers=headers, json=body)
        deadline = time.monotonic() + RESYNC_SECONDS
        while keyed and _unknown(response) and time.monotonic() < deadline:
            # The same key again: the service answers what the first attempt did, or does it now, once.
            account.keyed_titles[headers["Idempotency-Key"]] = title
            self.stats.count("key_retries")
            time.sleep(0.3)
            response = self.call("POST", TASKS, account, headers=headers, json=body)
        if _unknown(response):
            account.unknown_titles.add(title)
            self.stats.count("unknown_creates")
            return
        if response.status_code != 201:
            return
        created = response.json()
        task = TaskState(id=created["id"], title="", status="", priority="", version=0, position="")
        task.take(created)
        task.acknowledged = 1
        account.tasks[task.id] = task
        if created["version"] != 1 or created["title"] != title:
            self.stats.problem(f"create answered {created}")
        if keyed and self.random.random() < 0.2:  # a replay of an acknowledged create gets the same answer
            again = self.call("POST", TASKS, account, headers=headers, json=body)
            if again is not None and again.status_code == 201 and again.json() != created:
                self.stats.problem(f"replayed Idempotency-Key answered {again.json()}, first {created}")

    def create_with_key(self):
        self.create(keyed=True)

    def _write(self, account, task, method, path, bump, **kwargs):
        """A conditional write to one task; its answer updates the ledger, an unknown outcome re-reads it."""
        response = self.call(method, path, account, headers={"If-Match": task.etag()}, **kwargs)
        if _unknown(response):
            return self.resync(account, task)
        if response.status_code == 412:  # this client alone writes the task: only a rebalance changes it too
            return self.resync(account, task, expected=True)
        if response.status_code == 404:
            self.stats.problem(f"{method} {path} answered 404 to the task's own writer")
            return self.resync(account, task)
        if response.status_code >= 300:
            return
        task.acknowledged += 1
        if response.status_code == 204:
            task.deleted = True
            return
        before = task.version
        task.take(response.json())
        if (bump and task.version != before + 1) or task.version < before:
            self.stats.problem(f"{method} {path}: version {before} → {task.version}")

    def _live_task(self, account):
        live = account.live()
        return self.random.choice(live) if live else None

    def patch(self):
        account = self.pick_account()
        task = self._live_task(account)
        if task is None:
            return self.create()
        changes = {"title": f"soak {uuid.uuid4().hex[:16]}"}
        if self.random.random() < 0.5:
            changes["priority"] = self.random.choice(["low", "medium", "high"])
        if self.random.random() < 0.3:
            changes["status"] = self.random.choice(["pending", "in_progress", "completed"])
        self._write(account, task, "PATCH", f"{TASKS}/{task.id}", True, json=changes)

    def toggle(self):
        account = self.pick_account()
        task = self._live_task(account)
        if task is not None:
            self._write(account, task, "PATCH", f"{TASKS}/{task.id}/toggle", True)

    def move(self):
        account = self.pick_account()
        live = account.live()
        if len(live) < 2:
            return
        task = self.random.choice(live)
        after = self.random.choice([None] + [t.id for t in live if t.id != task.id])
        self._write(account, task, "POST", f"{TASKS}/{task.id}/move", False, json={"after": after})

    def crowd(self):
        """Once: move two tasks in turn right after a third until the service rebalances the account's order."""
        account = next((a for a in self.accounts if len(a.live()) >= 3), None)
        if self.crowded or account is None:
            return
        self.crowded = True
        anchor, *movers = self.random.sample(account.live(), 3)
        for n in range(CROWD_MOVES):
            task = movers[n % 2]
            longest = max(len(t.position) for t in movers)
            self._write(account, task, "POST", f"{TASKS}/{task.id}/move", False, json={"after": anchor.id})
            if any(t.deleted or t.uncertain for t in (anchor, *movers)):
                return
            if longest > 32 and len(task.position) < 8:  # keys between the evenly rewritten ones are short
                self.stats.count("rebalances")
                return

    def delete(self, account=None):
        account = account or self.pick_account()
        if len(account.live()) <= LIVE_TASKS_WANTED // 3:
            return
        task = self._live_task(account)
        self._write(account, task, "DELETE", f"{TASKS}/{task.id}", False)

    def restore(self):
        account = self.pick_account()
        trashed = account.trashed()
        if not trashed:
            return
        task = self.random.choice(trashed)
        response = self.call("POST", f"{TASKS}/{task.id}/restore", account)
        if _unknown(response):
            return self.resync(account, task)
        if response.status_code == 404:
            self.stats.problem(f"restore of trashed task {task.id} answered 404")
            return self.resync(account, task)
        if response.status_code == 200:
            task.acknowledged += 1
            task.version, task.deleted = task.version + 1, False  # what a restore does
            # Its old key, or (when a live task was given that key meanwhile) right after that task.
            task.position = response.json()["position"]
            self.learn(task, response.json())

    def learn(self, task, body, deleted=False):
        """Check what the service shows of a task against the ledger: the same, or renumbered by a rebalance
        (then taken); anything else is a problem."""
        known = task.expected()
        seen = {**{name: body[name] for name in COMPARED if name != "deleted"}, "deleted": deleted}
        if seen == known:
            return
        if renumbered(known, seen):
            self.stats.count("renumbered")
            task.take(body, deleted)
        else:
            self.stats.problem(f"task {task.id}: the service shows {seen}, the ledger says {known}")

    def resync(self, account, task, expected=False):
        """Re-read a task: live, in the trash, or lost. After a write whose outcome is unknown, whatever it is
        now is taken; when `expected`, it must be as the ledger says (see `learn`)."""
        self.stats.count("resyncs")
        take = functools.partial(self.learn, task) if expected else task.take
        deadline = time.monotonic() + RESYNC_SECONDS
        while time.monotonic() < deadline:
            response = self.call("GET", f"{TASKS}/{task.id}", account)
            if response is not None and response.status_code == 200:
                take(response.json())
                return
            if response is not None and response.status_code == 404:
                found = self._find_in_trash(account, task.id)
                if found is not None:
                    take(found, deleted=True)
                    return
            time.sleep(0.5)
        task.uncertain = True

    def learn_trash(self, account):
        """Check every trashed task of the account against the ledger (see `learn`)."""
        for item in self._trash(account) or []:
            task = account.tasks.get(item["id"])
            if task is not None and not task.uncertain:
                self.learn(task, item, deleted=True)

    def _find_in_trash(self, account, task_id):
        items = self._trash(account)
        if items is None:
            return None
        found = next((item for item in items if item["id"] == task_id), None)
        if found is None:
            self.stats.problem(f"task {task_id} is neither live nor in the trash")
        return found

    def _trash(self, account):
        """Every item of the account's trash, or None when a page of it could not be read."""
        items = []
        while True:
            response = self.call("GET", f"{TASKS}/trash", account, params={"limit": 100, "offset": len(items)})
            if response is None or response.status_code != 200:
                return None
            page = response.json()
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    # -- reads -----------------------------------------------------------------------------------------

    def browse(self):
        account = self.pick_account()
        sort = self.random.choice(["position", "-created_at", "title", "-updated_at"])
        self.call("GET", TASKS, account, params={"sort": sort, "limit": 20})

    def read(self):
        """A read after the client's own writes, through either instance, answers exactly its ledger."""
        account = self.pick_account()
        task = self._live_task(account)
        if task is None:
            return
        response = self.call("GET", f"{TASKS}/{task.id}", account)
        if response is not None and response.status_code == 200:
            self.learn(task, response.json())

    def feed(self, account=None):
        """Apply the change feed to the account's replica; True when it was read to its end."""
        account = account or self.pick_account()
        for _ in range(20):
            params = {"limit": 100, **({"since": account.feed_cursor} if account.feed_cursor else {})}
            response = self.call("GET", f"{TASKS}/changes", account, params=params)
            if response is None or response.status_code != 200:
                return False
            page = response.json()
            for item in page["changes"]:
                account.replica[item["id"]] = item["version"]
                task = account.tasks.get(item["id"])
                if task is not None and not task.uncertain:
                    self.learn(task, item)
            for task_id in page["deleted"]:
                account.replica.pop(task_id, None)
            account.feed_cursor = page["cursor"]
            if not page["has_more"]:
                return True
        return False


def _unknown(response):
    """No answer, or 503: the write may or may not have happened."""
    return response is None or response.status_code in FAULT_STATUSES


class Workload:
    """`clients` threads against the instances at `urls`."""

    def __init__(self, urls, clients=6):
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.clients = [Client(urls, self.stats, self.stop_event, seed) for seed in range(clients)]

    def start(self):
        for client in self.clients:
            client.start()

    def stop(self):
        self.stop_event.set()
        for client in self.clients:
            client.join(timeout=2 * RESYNC_SECONDS + TIMEOUT)
        failures = [client.failure for client in self.clients if client.failure is not None]
        assert not failures, failures

    def accounts(self):
        return [account for client in self.clients for account in client.accounts]

    def acknowledged_writes(self):
        return sum(task.acknowledged for account in self.accounts() for task in account.tasks.values())

    def finish_feeds(self):
        """Read every account's feed to its end and its trash, now that no one writes: [(email, problem)].

        Both also teach the ledger what a rebalance renumbered since the client last saw it.
        """
        problems = []
        for client in self.clients:
            for account in client.accounts:
                if not client.feed(account):
                    problems.append((account.email, "feed not readable to its end"))
                    continue
                client.learn_trash(account)
                live = {t.id: t.version for t in account.tasks.values() if not t.deleted and not t.uncertain}
                known = set(account.tasks)
                replica = {i: v for i, v in account.replica.items() if i in known}
                if replica != live:
                    problems.append((account.email, f"feed replica {replica} != ledger {live}"))
        return problems


def verify(workload, database):
    """The ledger against the database: (verified writes, problems)."""
    accounts = workload.accounts()
    # Every account writes to its inbox only: a task's account is its list's owner.
    rows = query(database, "SELECT t.id, l.owner_id, t.title, t.status::text, t.priority::text, t.version, "
                           "t.position, t.deleted_at IS NOT NULL FROM tasks t JOIN lists l ON l.id = t.list_id "
                           "WHERE l.owner_id = ANY(%s)",
                 ([a.user_id for a in accounts],))
    by_id = {row[0]: row for row in rows}
    problems, verified = [], 0
    for account in accounts:
        for task in account.tasks.values():
            if task.uncertain:
                problems.append(f"task {task.id}: state never learnt after an unknown outcome")
                continue
            row = by_id.get(task.id)
            actual = None if row is None else dict(zip(COMPARED, row[2:], strict=True))
            if actual != task.expected():
                problems.append(f"task {task.id}: database {actual}, last acknowledged {task.expected()}")
            else:
                verified += task.acknowledged
        unclaimed = collections.Counter(row[2] for row in rows if row[1] == account.user_id
                                        and row[0] not in account.tasks)
        for title, count in unclaimed.items():
            if title not in account.unknown_titles or count > 1:
                problems.append(f"{account.email}: {count} task(s) titled {title!r} nobody created")
        for key, title in account.keyed_titles.items():
            count = sum(1 for row in rows if row[1] == account.user_id and row[2] == title)
            if count > 1:
                problems.append(f"Idempotency-Key {key}: {count} tasks")
    return verified, problems


def recovery_seconds(error_times, last_fault, ended, window=10.0):
    """Seconds from the last fault to the start of the first `window` without a single error (None: never)."""
    later = sorted(t for t in error_times if t >= last_fault)
    for start in [last_fault] + [t + 1e-6 for t in later]:
        if start + window > ended:
            return None
        if not any(start <= t < start + window for t in later):
            return start - last_fault
    return None


def rss_kib(pid):
    """A process's resident set (VmRSS), in KiB; None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


class RssSampler(threading.Thread):
    """Every worker's RSS every `interval` seconds: {pid: [(seconds since start, KiB)]}.

    Each sample is the least of `reads` reads a fifth of a second apart: a login or a password change
    holds argon2's 19 MiB block for the ~0.1 s of its hash (then unmapped, see taskapi/auth/passwords.py),
    and one read landing in it would look like growth. A worker gunicorn starts in place of a killed one
    has a pid, hence a series, of its own.
    """

    def __init__(self, servers, interval=10.0, reads=5):
        super().__init__(daemon=True, name="soak-rss")
        self.servers = servers
        self.interval = interval
        self.reads = reads
        self.series = collections.defaultdict(list)
        self.peaks = collections.Counter()  # pid → the highest single read, KiB
        self.stopped = threading.Event()
        self.started = time.monotonic()

    def run(self):
        while True:
            self.sample()
            if self.stopped.wait(self.interval):
                return

    def sample(self):
        now = time.monotonic() - self.started
        pids = [pid for server in self.servers for pid in server.worker_pids()]
        reads = collections.defaultdict(list)
        for n in range(self.reads):
            if n:
                time.sleep(0.2)
            for pid in pids:
                kib = rss_kib(pid)
                if kib is not None:
                    reads[pid].append(kib)
        for pid, values in reads.items():
            self.series[pid].append((now, min(values)))
            self.peaks[pid] = max(self.peaks[pid], *values)

    def stop(self):
        self.stopped.set()
        self.join()
        self.sample()


def slope_mib_per_minute(samples, after=0.0):
    """Least-squares slope of RSS over time, in MiB per minute, of the samples taken `after` seconds or later;
    None with fewer than three."""
    points = [(t / 60, kib / 1024) for t, kib in samples if t >= after]
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / spread


# -- live streams ------------------------------------------------------------------------------------------


class StreamWatcher(threading.Thread):
    """A tab watching one account with a live stream, on one instance, in a session of its own.

    Its view of the account's tasks (id → version) is built only from the change-feed reads its stream
    triggered: one when a stream opens, one on each `changed`. A stream that breaks (a worker killed, the
    database away) is opened again with a new ticket; `revoked` signs in again. After the run the view must
    be the server's: nothing was missed.
    """

    def __init__(self, server, client, stop):
        super().__init__(daemon=True, name=f"soak-stream-{client.name}")
        self.url = server.url
        self.port = server.port
        self.client = client
        self.stop = stop
        self.session = requests.Session()
        self.account = None
        self.token = None
        self.view = {}
        self.cursor = None
        self.streams_opened = 0
        self.breaks = 0
        self.changed = 0
        self.failure = None

    def run(self):
        from tests.helpers.sse import StreamClient

        try:
            while not self.client.accounts and not self.stop.is_set():
                time.sleep(0.1)
            if self.stop.is_set():
                return
            self.account = self.client.accounts[0]
            while not self.stop.is_set():
                stream = self._open(StreamClient)
                if stream is None:
                    time.sleep(0.5)
                    continue
                try:
                    self._follow(stream)
                finally:
                    stream.close()
        except Exception as exc:  # a bug in the watcher must fail the test, not vanish with the thread
            self.failure = exc
            raise

    def _request(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            return self.session.request(method, self.url + path, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException:
            return None

    def _sign_in(self):
        """A session of the watcher's own (the account's password never changes in the soak)."""
        signed_in = self._request("POST", AUTH + "/login", json={"email": self.account.email, "password": PASSWORD})
        ok = signed_in is not None and signed_in.status_code == 200
        self.token = signed_in.json()["access_token"] if ok else None
        return ok

    def _open(self, stream_client):
        """A new stream (a new ticket; a new session when the last one ended), its feed read: None on failure."""
        if self.token is None and not self._sign_in():
            return None
        ticket = self._request("POST", "/api/v1/stream/ticket")
        if ticket is None or ticket.status_code != 200:
            if ticket is not None and ticket.status_code == 401:
                self.token = None
            return None
        try:
            stream = stream_client(self.port, ticket.json()["ticket"])
        except (OSError, EOFError):
            return None
        if stream.status != 200:
            stream.close()
            return None
        self.streams_opened += 1
        self._read_feed()
        return stream

    def _follow(self, stream):
        while not self.stop.is_set():
            try:
                event, _ = stream.next_event(timeout=1)
            except TimeoutError:
                continue
            except (EOFError, OSError):
                self.breaks += 1
                return
            if event == "revoked":
                self.token = None
                return
            self.changed += 1
            self._read_feed()

    def _read_feed(self):
        """The account's feed since the last read, into the view; True when read to its end."""
        for _ in range(50):
            params = {"limit": 100, **({"since": self.cursor} if self.cursor else {})}
            response = self._request("GET", f"{TASKS}/changes", params=params)
            if response is not None and response.status_code == 401 and self._sign_in():  # the token expired
                response = self._request("GET", f"{TASKS}/changes", params=params)
            if response is None or response.status_code != 200:
                return False  # the next `changed`, or the next stream's opening read, catches up
            page = response.json()
            for item in page["changes"]:
                self.view[item["id"]] = item["version"]
            for task_id in page["deleted"]:
                self.view.pop(task_id, None)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return True
        return False

    def server_view(self):
        """The account's live tasks now (id → version), read in full by a fresh feed."""
        cursor, view = None, {}
        while True:
            params = {"limit": 500, **({"since": cursor} if cursor else {})}
            page = self._request("GET", f"{TASKS}/changes", params=params).json()
            view.update({item["id"]: item["version"] for item in page["changes"]})
            for task_id in page["deleted"]:
                view.pop(task_id, None)
            cursor = page["cursor"]
            if not page["has_more"]:
                return view


def start_stream_watchers(server, workload):
    """One watcher per client of the workload (its first account), all on `server`: (watchers, their stop)."""
    stop = threading.Event()
    watchers = [StreamWatcher(server, client, stop) for client in workload.clients]
    for watcher in watchers:
        watcher.start()
    return watchers, stop


def finish_stream_watchers(watchers, stop, settle=3.0):
    """Let the last `changed` events arrive, stop the watchers; (problems, one summary line)."""
    time.sleep(settle)
    stop.set()
    for watcher in watchers:
        watcher.join(timeout=TIMEOUT + 5)
    problems = [(watcher.name, repr(watcher.failure)) for watcher in watchers if watcher.failure is not None]
    for watcher in watchers:
        if watcher.account is None:
            problems.append((watcher.name, "never had an account to watch"))
            continue
        if watcher.token is None:
            watcher._sign_in()  # to read the server's view
        server = watcher.server_view()
        if watcher.view != server:
            missing = {i: v for i, v in server.items() if watcher.view.get(i) != v}
            problems.append((watcher.account.email, f"stream view differs from the server's: {missing}"))
    summary = (f"soak streams: {len(watchers)} watchers, {sum(w.streams_opened for w in watchers)} streams opened, "
               f"{sum(w.breaks for w in watchers)} broke and were opened again, "
               f"{sum(w.changed for w in watchers)} changed events")
    return problems, summary


class Webhooks:
    """Webhooks on some accounts' inboxes, pointing at a receiver of the soak's; then what the receiver saw against
    the activity the service recorded and the delivery log."""

    def __init__(self, urls, receiver):
        self.urls = urls
        self.receiver = receiver
        self.registered = {}  # list id → webhook id

    def register(self, accounts):
        """A webhook for every task event on each account's inbox (a session of its own: the client's stay theirs)."""
        for account in accounts:
            url = self.urls[len(self.registered) % len(self.urls)]
            login = requests.post(url + AUTH + "/login", json={"email": account.email, "password": PASSWORD},
                                  timeout=TIMEOUT)
            if login.status_code != 200:
                continue
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            inbox = requests.get(url + "/api/v1/lists", headers=headers, timeout=TIMEOUT).json()["items"][0]["id"]
            made = requests.post(f"{url}/api/v1/lists/{inbox}/webhooks", headers=headers, timeout=TIMEOUT,
                                 json={"url": self.receiver.url(f"/soak/{inbox}"), "events": ["task.*"]})
            if made.status_code == 201:
                self.registered[inbox] = made.json()["id"]

    def wait_until_sent(self, database, seconds):
        """Until no event waits (retries back off 30 s, 60 s…; a killed worker's lease lapses in about a minute)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            (pending,) = query(database, "SELECT count(*) FROM webhook_events WHERE status = 'pending'")[0]
            if pending == 0:
                return True
            time.sleep(1)
        return False

    def verify(self, database):
        """(figures, problems): every activity entry of a webhooked inbox recorded after its webhook was made
        reached the receiver under one webhook-id; repeats only as retries of that id (the
        same body), and no 2xx after the first unless the delivery log lost that attempt (a worker killed
        mid-send, its outcome never recorded)."""
        problems = []
        if not self.registered:
            return {}, ["no webhook was registered"]
        entries = query(database, "SELECT a.id, a.list_id FROM activity a JOIN webhooks w ON w.list_id = a.list_id "
                                  "WHERE a.list_id = ANY(%s) AND a.at > w.created_at AND a.action LIKE 'task.%%'",
                        (list(self.registered),))
        events = query(database, "SELECT e.id, w.list_id, e.status::text, e.attempts, e.body FROM webhook_events e "
                                 "JOIN webhooks w ON w.id = e.webhook_id WHERE w.list_id = ANY(%s)",
                       (list(self.registered),))
        logged = collections.Counter(row[0] for row in query(
            database, "SELECT d.event_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                      "WHERE w.list_id = ANY(%s)", (list(self.registered),)))
        seen = collections.defaultdict(list)
        for request in self.receiver.requests():
            seen[request["headers"].get("webhook-id")].append(request)
        by_activity = collections.Counter()
        for event_id, list_id, status, _attempts, body in events:
            requests_of = seen.get(str(event_id), [])
            if status != "delivered":
                problems.append(f"event {event_id}: {status} at the end")
            if not requests_of:
                problems.append(f"event {event_id}: never received")
                continue
            if {r["body"] for r in requests_of} != {body.encode()}:
                problems.append(f"event {event_id}: a body other than the one stored")
            if any(r["path"] != f"/soak/{list_id}" for r in requests_of):
                problems.append(f"event {event_id}: sent to another webhook's URL")
            successes = sum(1 for r in requests_of if 200 <= r["status"] < 300)
            unlogged = len(requests_of) - logged[event_id]
            if successes != 1 and successes - 1 > unlogged:
                problems.append(f"event {event_id}: {successes} 2xx received, {unlogged} attempt(s) not logged")
            by_activity[json.loads(body)["data"]["activity"]["id"]] += 1
        expected = collections.Counter(entry_id for entry_id, _ in entries)
        if by_activity != expected:
            missing = sorted(set(expected) - set(by_activity))[:10]
            extra = sorted((by_activity - expected).elements())[:10]
            problems.append(f"activity without exactly one event: missing {missing}, extra {extra}")
        unknown_ids = set(seen) - {str(row[0]) for row in events}
        if unknown_ids:
            problems.append(f"the receiver got webhook-ids of no event: {sorted(unknown_ids)[:10]}")
        figures = {"webhooks": len(self.registered), "events": len(events), "entries": len(expected),
                   "received": sum(len(r) for r in seen.values()), "distinct_ids": len(seen),
                   "retried": sum(1 for row in events if row[3] > 1)}
        return figures, problems
