"""Password reset requests for known and unknown addresses: is there a timing difference a client could see?

taskapi runs as the Procfile starts it (production settings, one gunicorn worker on core 0) on a database of
the machine's PostgreSQL, delivering to an SMTP sink; this client (core 1) sends requests for known and
unknown addresses of the same shape alternately over one keep-alive connection, and prints the medians,
quartiles and the difference of the medians beside the spread of the same difference between two halves
of the known requests (what noise alone gives).

    .venv/bin/python -m bench.reset_timing [--requests 2000] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import client, database, servers  # noqa: E402
from tests.smtp import SMTPServer  # noqa: E402

PATH = "/api/v1/auth/password-reset"
PASSWORD = "correct horse battery"


def timed_posts(port, bodies):
    """Seconds per request, each sent and read whole on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    seconds = []
    for body in bodies:
        payload = json.dumps(body)
        started = time.perf_counter()
        connection.request("POST", PATH, payload, headers)
        response = connection.getresponse()
        response.read()
        seconds.append(time.perf_counter() - started)
        if response.status != 202:
            raise SystemExit(f"expected 202, got {response.status}")
    connection.close()
    return seconds


def quartiles_ms(values):
    q1, median, q3 = statistics.quantiles(values, n=4)
    return f"median {median * 1000:.3f} ms (quartiles {q1 * 1000:.3f}–{q3 * 1000:.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per kind (default 2000)")
    parser.add_argument("--users", type=int, default=200, help="known addresses (default 200)")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    db = database.Database(args.admin_url, "reset_timing")
    url = db.url
    smtp = SMTPServer().start()
    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-reset-timing-"))
    server = None
    try:
        servers.release(url, work_dir)
        server = servers.taskapi("reset-timing", url, 1, work_dir)
        server.env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port), MAIL_DEFAULT_SENDER="t <t@example.com>",
                          PASSWORD_RESET_URL="https://app.example.com/reset?token={token}")
        server.start()
        known = [f"user{number}@example.com" for number in range(args.users)]
        unknown = [f"nouser{number}@example.com" for number in range(args.users)]
        for email in known:
            answer = client.call(server.url, "POST", "/api/v1/auth/register",
                                 body={"email": email, "password": PASSWORD, "name": "T"})
            assert answer.status == 201, answer
        timed_posts(server.port, [{"email": random.choice(known + unknown)} for _ in range(200)])  # warm-up
        kinds = ["known", "unknown"] * args.requests
        random.shuffle(kinds)
        pools = {"known": known, "unknown": unknown}
        bodies = [{"email": random.choice(pools[kind])} for kind in kinds]
        seconds = timed_posts(server.port, bodies)
    finally:
        if server:
            server.stop()
        smtp.stop()
        db.drop()

    by_kind = {kind: [s for k, s in zip(kinds, seconds, strict=True) if k == kind] for kind in pools}
    difference = statistics.median(by_kind["known"]) - statistics.median(by_kind["unknown"])
    halves = []
    for _ in range(200):
        sample = random.sample(by_kind["known"], len(by_kind["known"]))
        half = len(sample) // 2
        halves.append(statistics.median(sample[:half]) - statistics.median(sample[half:]))
    print(f"{args.requests} requests each, interleaved at random, one connection, 1 worker")
    for kind, values in by_kind.items():
        print(f"{kind:8} {quartiles_ms(values)}")
    print(f"median known - unknown: {difference * 1e6:+.1f} µs; noise (known vs known, two random halves, 200 "
          f"draws): 95 % within ±{statistics.quantiles([abs(h) for h in halves], n=20)[-1] * 1e6:.1f} µs")
    print(f"messages delivered: {len(smtp.received)}")


if __name__ == "__main__":
    main()
