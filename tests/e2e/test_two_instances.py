"""Two instances of the service on one database (and one Redis): what one learns, the other knows."""

import json
import os
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from taskapi.maintenance import JOBS
from tests.e2e.helpers import AUTH, PASSWORD, TASKS, TIMEOUT, Client, assert_error, query, unique_email

# Each test runs with the service on PostgreSQL directly, then through PgBouncer (transaction pooling).
pytestmark = pytest.mark.usefixtures("database_route")

REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/13")
# Generous for every test but the one about the limit: these tests log in a lot.
ROOMY = {"AUTH_RATE_LIMIT": "1000 per minute"}


@pytest.fixture
def pair(start_server):
    """Instances A and B of the service, two workers each, on the same database."""
    return start_server(**ROOMY), start_server(**ROOMY)


def test_a_logout_on_one_instance_is_refused_on_the_other(pair):
    a, b = Client(pair[0]), Client(pair[1])
    tokens = a.register()
    assert b.get(AUTH + "/me", token=tokens["access_token"]).status_code == 200  # B accepts A's token...
    logout = a.post(AUTH + "/logout", token=tokens["access_token"], json={"refresh_token": tokens["refresh_token"]})
    assert logout.status_code == 204, logout.text
    for _ in range(4):  # several requests, so both of B's workers answer
        assert_error(b.get(AUTH + "/me", token=tokens["access_token"]), 401, "token_revoked")
        assert_error(b.get(TASKS, token=tokens["access_token"]), 401, "token_revoked")
        assert_error(b.post(AUTH + "/refresh", token=tokens["refresh_token"]), 401, "token_revoked")


def test_a_refresh_on_one_instance_revokes_the_old_token_on_the_other(pair):
    a, b = Client(pair[0]), Client(pair[1])
    old = a.register()
    refreshed = a.post(AUTH + "/refresh", token=old["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    again = b.post(AUTH + "/refresh", token=new["refresh_token"])  # the new one works on B, once
    assert again.status_code == 200, again.text
    assert_error(a.post(AUTH + "/refresh", token=new["refresh_token"]), 401, "token_revoked")


def test_a_replay_on_one_instance_ends_the_session_on_the_other(pair):
    a, b = Client(pair[0]), Client(pair[1])
    old = a.register()
    new = a.post(AUTH + "/refresh", token=old["refresh_token"]).json()
    assert_error(b.post(AUTH + "/refresh", token=old["refresh_token"]), 401, "token_revoked")
    for _ in range(4):  # both of A's workers refuse the newer tokens of the ended session
        assert_error(a.get(AUTH + "/me", token=new["access_token"]), 401, "token_revoked")
        assert_error(a.post(AUTH + "/refresh", token=new["refresh_token"]), 401, "token_revoked")


def test_ending_a_session_on_one_instance_revokes_on_the_other(pair):
    a, b = Client(pair[0]), Client(pair[1])
    email = unique_email()
    first = a.register(email=email)
    second = b.post(AUTH + "/login", json={"email": email, "password": PASSWORD}).json()
    sessions = a.get(AUTH + "/sessions", token=first["access_token"]).json()["items"]
    other_id = next(s["id"] for s in sessions if not s["current"])
    assert a.delete(f"{AUTH}/sessions/{other_id}", token=first["access_token"]).status_code == 204
    for _ in range(4):
        assert_error(b.get(TASKS, token=second["access_token"]), 401, "token_revoked")
        assert_error(b.post(AUTH + "/refresh", token=second["refresh_token"]), 401, "token_revoked")
    assert b.get(TASKS, token=first["access_token"]).status_code == 200


def test_login_throttling_is_shared_by_instances(start_server):
    a, b = (Client(start_server(**ROOMY, LOGIN_FAILURE_LIMIT=3)) for _ in range(2))
    email = unique_email()
    a.register(email=email)
    for client in (a, b, a):
        assert client.post(AUTH + "/login", json={"email": email, "password": "wrong guess"}).status_code == 401
    for client in (a, b):
        response = client.post(AUTH + "/login", json={"email": email, "password": PASSWORD})
        assert_error(response, 429, "rate_limited")
        assert 890 < int(response.headers["Retry-After"]) <= 900


def test_audit_lines_are_json_and_hold_no_secret(pair):
    a, b = Client(pair[0]), Client(pair[1])
    email = unique_email()
    tokens = a.register(email=email)
    b.post(AUTH + "/login", json={"email": email, "password": "a wrong password"})
    newer = b.post(AUTH + "/refresh", token=tokens["refresh_token"]).json()
    a.post(AUTH + "/logout", token=newer["access_token"], json={"refresh_token": newer["refresh_token"]})
    time.sleep(0.5)  # let the processes print
    lines = [line for server in pair for line in server.lines]
    audit = [json.loads(line) for line in lines if '"taskapi.audit"' in line]
    assert {line["event"] for line in audit} >= {"registered", "login_failed", "logout"}
    assert all({"event", "user_id", "client", "request_id"} <= set(line) for line in audit)
    printed = "\n".join(lines)
    for secret in (PASSWORD, "a wrong password", *tokens.values(), newer["access_token"], newer["refresh_token"]):
        if isinstance(secret, str):
            assert secret not in printed
    assert pair[0].non_json_lines() == pair[1].non_json_lines() == []


def test_an_idempotency_key_holds_across_instances(pair, database):
    a, b = Client(pair[0]), Client(pair[1])
    user_id = a.register()["user"]["id"]
    b.token = a.token
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = a.post(TASKS, json={"title": "Pay rent", "priority": "high"}, headers=key)
    assert first.status_code == 201, first.text
    second = b.post(TASKS, json={"title": "Pay rent", "priority": "high"}, headers=key)
    assert second.status_code == 201, second.text
    assert second.json() == first.json() and second.headers["ETag"] == first.headers["ETag"]
    assert_error(b.post(TASKS, json={"title": "Pay the rent"}, headers=key), 409, "idempotency_conflict")
    assert query(database, "SELECT count(*) FROM tasks WHERE created_by = %s", (user_id,)) == [(1,)]

    # The same key sent to A and B at the same moment: still one task, and both get it.
    for attempt in range(5):
        key = {"Idempotency-Key": f"race-{attempt}-{uuid.uuid4()}"}
        body = {"title": f"Race {attempt}"}
        barrier = threading.Barrier(2, timeout=TIMEOUT)

        def send(client, key=key, body=body, barrier=barrier):
            barrier.wait()
            return client.post(TASKS, json=body, headers=key)

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, (a, b)))
        assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
        assert answers[0].json() == answers[1].json()
    assert query(database, "SELECT count(*) FROM tasks WHERE created_by = %s", (user_id,)) == [(6,)]


def test_a_stale_if_match_on_one_instance_after_a_write_on_the_other_is_412(pair, database):
    a, b = Client(pair[0]), Client(pair[1])
    a.register()
    b.token = a.token
    task = a.create_task(title="Draft")
    url = f"{TASKS}/{task['id']}"
    read_on_b = b.get(url)
    assert read_on_b.status_code == 200
    etag = read_on_b.headers["ETag"]
    written = a.patch(url, json={"title": "Final"}, headers={"If-Match": etag})
    assert written.status_code == 200, written.text
    assert_error(b.patch(url, json={"title": "Overwritten"}, headers={"If-Match": etag}), 412, "precondition_failed")
    assert_error(b.patch(url + "/toggle", headers={"If-Match": etag}), 412, "precondition_failed")
    assert_error(b.delete(url, headers={"If-Match": etag}), 412, "precondition_failed")
    now = b.get(url)
    assert now.json()["title"] == "Final" and now.json()["version"] == 2
    assert now.headers["ETag"] == written.headers["ETag"]
    assert query(database, "SELECT title, status, version FROM tasks WHERE id = %s", (task["id"],)) == [
        ("Final", "pending", 2)]

    # Two writers that both send the ETag they read, at the same moment: exactly one wins.
    etag = now.headers["ETag"]
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def write(args):
        client, title = args
        barrier.wait()
        return client.patch(url, json={"title": title}, headers={"If-Match": etag})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(write, ((a, "From A"), (b, "From B"))))
    assert sorted(r.status_code for r in answers) == [200, 412], [r.text for r in answers]
    winner = next(r for r in answers if r.status_code == 200).json()
    assert query(database, "SELECT title, version FROM tasks WHERE id = %s", (task["id"],)) == [
        (winner["title"], 3)]


@pytest.fixture
def shared_redis():
    """A Redis database for the limiter; its taskapi keys are removed afterwards."""
    parts = urlsplit(REDIS_URL)
    store = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        store.ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {parts.netloc}")
    yield store
    for key in store.scan_iter(match="*taskapi*", count=1000):
        store.delete(key)
    store.close()


def test_the_auth_rate_limit_is_shared_by_instances_through_redis(start_server, shared_redis):
    # Behind a PaaS router (TRUSTED_PROXIES=1) the client is the X-Forwarded-For address: a fresh
    # one for this run, so no counter left in Redis by another run can interfere.
    env = {"AUTH_RATE_LIMIT": "5 per minute", "REDIS_URL": REDIS_URL, "TRUSTED_PROXIES": "1"}
    instances = [Client(start_server(**env)), Client(start_server(**env))]
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    client_headers = {"X-Forwarded-For": address}
    login = {"email": unique_email(), "password": PASSWORD}
    started = time.monotonic()
    for attempt in range(5):  # A, B, A, B, A: four workers in all, one limit
        answer = instances[attempt % 2].post(AUTH + "/login", json=login, headers=client_headers)
        assert_error(answer, 401, "invalid_credentials")
    sixth = instances[1].post(AUTH + "/login", json=login, headers=client_headers)
    assert time.monotonic() - started < 50, "too slow to be inside one minute's window"
    assert_error(sixth, 429, "rate_limited")
    retry_after = int(sixth.headers["Retry-After"])
    assert 0 < retry_after <= 62, retry_after  # the window, and the limiter's rounding up
    assert_error(instances[0].post(AUTH + "/login", json=login, headers=client_headers), 429, "rate_limited")
    assert any(address in key.decode() for key in shared_redis.scan_iter(match="*taskapi*")), "nothing in Redis"
    # Another client address is not limited by this one's attempts (another account: that one is throttled now).
    other = instances[0].post(AUTH + "/login", json={**login, "email": unique_email()},
                              headers={"X-Forwarded-For": "10.255.255.254"})
    assert_error(other, 401, "invalid_credentials")


def _last_successes(server):
    """{job: when it last succeeded}, as the instance's /metrics reports it."""
    response = requests.get(server.url + "/metrics", timeout=TIMEOUT)
    return {sample.labels["job"]: sample.value for family in text_string_to_metric_families(response.text)
            for sample in family.samples if sample.name == "taskapi_maintenance_last_success_timestamp_seconds"}


def test_each_maintenance_job_runs_once_across_every_worker_of_both_instances(pair):
    deadline = time.monotonic() + 60
    while any(len(_last_successes(server)) < len(JOBS) for server in pair):  # four background threads race
        assert time.monotonic() < deadline, [_last_successes(server) for server in pair]
        time.sleep(0.5)
    assert _last_successes(pair[0]) == _last_successes(pair[1])  # B reports the runs A did, and the other way
    time.sleep(1)  # the log lines of the runs reach the test a moment after the metrics

    def runs(job):
        return sum(f"maintenance {job}: " in line for server in pair for line in server.lines)

    assert {job: runs(job) for job in JOBS} == dict.fromkeys(JOBS, 1)


def _route_count(server, route):
    """How many requests `route` answered, summed over statuses and methods, as /metrics reports it."""
    response = requests.get(server.url + "/metrics", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "taskapi_http_request_duration_seconds_count" and sample.labels.get("url_rule") == route:
                total += sample.value
    return total


def test_metrics_add_up_the_requests_of_every_worker(start_server):
    server = start_server(workers=2)
    before = _route_count(server, "/health/live")  # the start-up polls count too
    workers = server.worker_pids()
    assert len(workers) == 2
    # Where gunicorn.conf.py has each worker write its samples, by default: when it is there, its
    # files show whether both workers have answered yet.
    samples = Path(tempfile.gettempdir()) / f"taskapi-metrics-{server.process.pid}"

    def both_answered():
        return all((samples / f"histogram_{pid}.db").exists() for pid in workers)

    def live(_):
        return requests.get(server.url + "/health/live", timeout=TIMEOUT).status_code

    sent = 0
    for _ in range(20):  # concurrent batches until both workers have answered some (a busy machine may need many)
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(live, range(30)))
        assert statuses == [200] * 30
        sent += 30
        if samples.is_dir() and both_answered():
            break
    if samples.is_dir():
        assert both_answered(), f"one worker answered every request: {sorted(p.name for p in samples.iterdir())}"
    assert _route_count(server, "/health/live") - before == sent
