"""What a webhook costs, in process: the write that stores its event, and the delivery per event by batch size.

`python -m bench.webhook_cost` builds taskapi as gunicorn's worker does (production settings) on a private
PostgreSQL cluster (on core 1), with a sink answering 204 (`python -m bench.sink`, core 1), and drives it
through Flask's test client on core 0:

- the write: creates in a list without webhooks and in one with a webhook (every task event), the
  background thread stopped (nothing is sent meanwhile), in alternating rounds whose order rotates;
- the delivery: a backlog of events sent by the webhooks' job (`deliver_due()`) in batches of 8, 16 and 64.

CPU is this process's (every thread: the senders too) plus the cluster's backends', per create or per event;
medians over the rounds. The machine's other load shows as spread between rounds, not as a bias between cases.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cpu, database, postgres, servers  # noqa: E402
from bench.layers import build_app  # noqa: E402


def backend_cpu(postmaster):
    """CPU seconds so far of every process the postmaster started (its backends and helpers)."""
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return sum(cpu.cpu_seconds(int(pid)) or 0 for pid in children)


class Meter:
    """CPU of this process and of the cluster's backends between start() and per(count), in ms per unit."""

    def __init__(self, postmaster):
        self.postmaster = postmaster

    def start(self):
        self.started = (time.process_time(), backend_cpu(self.postmaster))

    def per(self, count):
        python, backends = time.process_time(), backend_cpu(self.postmaster)
        return ((python - self.started[0]) / count * 1000, (backends - self.started[1]) / count * 1000)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=300, help="creates per case and round (300)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of the write cases (8)")
    parser.add_argument("--events", type=int, default=640, help="events per delivery measurement (640)")
    parser.add_argument("--delivery-rounds", type=int, default=3, help="rounds of each batch size (3)")
    return parser.parse_args()


def main():
    args = parse_args()
    from taskapi.auth.passwords import hasher_for
    from taskapi.config import PASSWORD_HASHING

    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-webhook-cost-"))
    cluster = postgres.Cluster(servers.free_port(), servers.LOAD_CORE)
    sink_port = servers.free_port()
    sink = subprocess.Popen(["taskset", "-c", servers.LOAD_CORE, sys.executable, "-m", "bench.sink", "--port",
                             str(sink_port)], cwd=servers.ROOT)
    try:
        cluster.start()
        db = database.Database(cluster.admin_url, "webhook_cost")
        servers.release(db.url, work_dir)
        password_hash = hasher_for(PASSWORD_HASHING).hash(database.BENCH_PASSWORD)
        database.seed(db.url, password_hash, 10, 1)
        os.sched_setaffinity(0, {int(servers.SERVER_CORE)})
        app = build_app(db.url, work_dir)
        print(measure(app, args, sink_port, Meter(cluster.postmaster_pid())))
    finally:
        sink.terminate()
        sink.wait()
        cluster.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def measure(app, args, sink_port, meter):
    from taskapi import background
    from taskapi.extensions import db
    from taskapi.webhooks import delivery

    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"email": database.WRITER_EMAIL,
                                                    "password": database.BENCH_PASSWORD}).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    lists = {name: client.post("/api/v1/lists", json={"name": name}, headers=auth).get_json()["id"]
             for name in ("without webhooks", "with a webhook")}
    hook = client.post(f"/api/v1/lists/{lists['with a webhook']}/webhooks", headers=auth,
                       json={"url": f"http://127.0.0.1:{sink_port}/hook", "events": ["task.*"]})
    if hook.status_code != 201:
        raise SystemExit(f"registering the webhook answered {hook.status_code}: {hook.get_data(as_text=True)}")
    background.stop(app)  # never started here: nothing is sent but what this script sends

    def create(list_id, count):
        for _ in range(count):
            answer = client.post("/api/v1/tasks", json={"title": "Measured", "priority": "high", "list_id": list_id},
                                 headers=auth)
            if answer.status_code != 201:
                raise SystemExit(f"create answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")

    def deliver_all():
        with app.app_context():
            try:
                while delivery.deliver_due():
                    pass
            finally:
                db.session.remove()

    for list_id in lists.values():  # warm up
        create(list_id, 100)
    deliver_all()
    writes = {name: [] for name in lists}
    cases = list(lists.items())
    for number in range(args.rounds):
        for name, list_id in cases[number % 2:] + cases[:number % 2]:
            meter.start()
            create(list_id, args.creates)
            writes[name].append(meter.per(args.creates))
    deliver_all()
    sends = {}
    for batch in (8, 16, 64):
        delivery.BATCH = batch
        for _ in range(args.delivery_rounds):
            create(lists["with a webhook"], args.events)
            meter.start()
            deliver_all()
            sends.setdefault(batch, []).append(meter.per(args.events))
    return report(writes, sends, args)


def _medians(samples):
    python = statistics.median(p for p, _ in samples)
    backends = statistics.median(b for _, b in samples)
    return python, backends, statistics.median(p + b for p, b in samples)


def report(writes, sends, args):
    lines = [f"The write: {args.rounds} alternating rounds of {args.creates} creates each, CPU ms per create "
             "(medians)\n", "| create | Python (all threads) | backends | total | rounds (total) |",
             "|---|---:|---:|---:|---|"]
    totals = {}
    for name, samples in writes.items():
        python, backends, total = _medians(samples)
        totals[name] = total
        lines.append(f"| in a list {name} | {python:.2f} | {backends:.2f} | {total:.2f} | "
                     f"{' '.join(f'{p + b:.2f}' for p, b in samples)} |")
    lines.append(f"\nWith a webhook / without: {totals['with a webhook'] / totals['without webhooks']:.3f}×\n")
    lines += [f"The delivery: {args.events} events at a time, {args.delivery_rounds} rounds per batch size, CPU ms "
              "per event (medians)\n", "| batch | Python (all threads) | backends | total |", "|---:|---:|---:|---:|"]
    for batch, samples in sends.items():
        python, backends, total = _medians(samples)
        lines.append(f"| {batch} | {python:.2f} | {backends:.2f} | {total:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
