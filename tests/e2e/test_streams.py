"""Live update streams on real gunicorn and PostgreSQL: fan-out across instances, heartbeats, revocation,
no thread held per stream, one log line each at its end, the gauge, and SIGTERM."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import AUTH, TIMEOUT, Client
from tests.helpers.sse import StreamClient

REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/13")
ROOMY = {"AUTH_RATE_LIMIT": "1000 per minute"}
STREAM = "/api/v1/stream"


def ticket(client):
    response = client.post(STREAM + "/ticket")
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


def open_stream(server, client):
    stream = StreamClient(server.port, ticket(client))
    assert stream.status == 200, getattr(stream, "body", None)
    assert stream.next_block() == "retry: 3000\n: open\n\n"
    return stream


def inbox_id(client):
    return client.get("/api/v1/lists").json()["items"][0]["id"]


def redis_reachable():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
        return True
    except redis.RedisError:
        return False


@pytest.mark.usefixtures("database_route")
@pytest.mark.parametrize("fanout", ["database", "redis"])
def test_a_write_on_one_instance_is_changed_on_a_stream_of_the_other_within_a_second(start_server, fanout):
    env = dict(ROOMY)
    if fanout == "redis":
        if not redis_reachable():
            pytest.skip("no Redis")
        env["REDIS_URL"] = REDIS_URL
    a, b = start_server(**env), start_server(**env)
    ada, ben = Client(a), Client(b)
    ada.register()
    ben.register()
    streams = [open_stream(b, Client(b, ada.token)) for _ in range(4)]  # on both of B's workers
    ben_stream = open_stream(b, ben)
    try:
        for attempt in range(3):
            written = time.monotonic()
            task = ada.create_task(title=f"Milk {attempt}")
            for stream in streams:
                assert stream.next_event(timeout=3) == ("changed", {"lists": [task["list_id"]]})
                assert time.monotonic() - written < 1, fanout
        with pytest.raises(TimeoutError):  # nothing of Ada's reaches Ben
            ben_stream.next_event(timeout=1)
    finally:
        for stream in [*streams, ben_stream]:
            stream.close()


def test_heartbeats_keep_an_idle_stream_alive(start_server):
    server = start_server(STREAM_HEARTBEAT_SECONDS=1, **ROOMY)
    client = Client(server)
    client.register()
    stream = open_stream(server, client)
    try:
        started = time.monotonic()
        assert stream.next_block(timeout=3) == ": keep-alive\n\n"
        assert stream.next_block(timeout=3) == ": keep-alive\n\n"
        assert 1 <= time.monotonic() - started < 4.5
    finally:
        stream.close()


@pytest.mark.parametrize("ending", ["logout", "password"])
def test_a_stream_is_revoked_within_five_seconds_of_its_session_ending(server, ending):
    client = Client(server)
    pair = client.register()
    stream = open_stream(server, client)
    try:
        if ending == "logout":
            assert client.post(AUTH + "/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
        else:
            changed = client.post(AUTH + "/password", json={"current_password": "correct horse battery staple",
                                                            "new_password": "another horse battery"})
            assert changed.status_code in (200, 204), changed.text
        ended = time.monotonic()
        assert stream.next_event(timeout=5) == ("revoked", {})
        assert stream.wait_closed(timeout=5)
        assert time.monotonic() - ended < 5
    finally:
        stream.close()


def test_thirty_streams_hold_none_of_one_thread(start_server):
    server = start_server(workers=1, GUNICORN_THREADS=1, **ROOMY)
    clients = [Client(server) for _ in range(3)]
    for client in clients:
        client.register()
    streams = [open_stream(server, client) for client in clients for _ in range(10)]
    try:
        worst = 0.0
        for _ in range(10):
            started = time.monotonic()
            assert clients[0].get("/api/v1/tasks").status_code == 200
            worst = max(worst, time.monotonic() - started)
        assert worst < 0.5, worst
        refused = StreamClient(server.port, ticket(clients[0]))  # the eleventh of one user
        assert refused.status == 429 and refused.body["code"] == "rate_limited"
        refused.close()
        task = clients[1].create_task(title="Seen by ten streams")
        for stream in streams[10:20]:
            assert stream.next_event(timeout=3) == ("changed", {"lists": [task["list_id"]]})
    finally:
        for stream in streams:
            stream.close()


def stream_lines(server):
    lines = []
    for line in server.lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("logger") == "taskapi.access" and record.get("path") == STREAM:
            lines.append(record)
    return lines


def open_streams_gauge(server):
    body = requests.get(server.url + "/metrics", timeout=TIMEOUT).text
    for family in text_string_to_metric_families(body):
        if family.name == "taskapi_open_streams":
            return sum(sample.value for sample in family.samples)
    raise AssertionError("no taskapi_open_streams in /metrics")


def test_a_stream_is_one_log_line_at_its_end_and_counted_in_the_gauge(server):
    client = Client(server)
    client.register()
    streams = [open_stream(server, client) for _ in range(4)]  # over both workers
    assert open_streams_gauge(server) == 4
    time.sleep(0.5)
    assert stream_lines(server) == []
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 5
    while len(stream_lines(server)) < 4 or open_streams_gauge(server) != 0:
        assert time.monotonic() < deadline, (stream_lines(server), open_streams_gauge(server))
        time.sleep(0.1)
    lines = stream_lines(server)
    assert len(lines) == 4 and {line["status"] for line in lines} == {200}
    assert all(line["duration_ms"] >= 500 and line["request_id"] for line in lines)


def test_sigterm_closes_the_streams_and_the_server_exits_promptly(server):
    client = Client(server)
    client.register()
    streams = [open_stream(server, client) for _ in range(4)]
    started = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda stream: stream.wait_closed(timeout=5), streams))
    server.process.wait(timeout=10)
    assert time.monotonic() - started < 5
    for stream in streams:
        stream.close()
