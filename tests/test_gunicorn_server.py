"""Real gunicorn with taskapi's worker, as the Procfile starts it, on SQLite: in every `make test`.

The worker stands on gunicorn internals (taskapi/gunicorn_worker.py), so a gunicorn release that moves
them must fail here, not in production. The end-to-end suite (tests/e2e) tests the same server at length,
on PostgreSQL; this is the short version that needs nothing but the venv.
"""

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers import processes
from tests.helpers.sse import StreamClient

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
READ_TIMEOUT = 1  # REQUEST_READ_TIMEOUT, seconds
TIMEOUT = 10


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(name):
    """A Procfile line, run with this venv's programs (`gunicorn …` as `python -m gunicorn …`)."""
    program, *arguments = shlex.split(PROCFILE[name])
    return [sys.executable, "-m", program, *arguments]


class Server:
    """gunicorn started by the Procfile's `web` line, one worker of two threads; every line it logs kept."""

    def __init__(self, directory):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            # Not the tests' own: gunicorn.conf.py makes the metrics directory, as in production.
            **{name: value for name, value in os.environ.items()
               if not name.startswith(("TASKAPI_", "DATABASE_", "PROMETHEUS_"))},
            "TASKAPI_ENV": "development",
            "DATABASE_URL": f"sqlite:///{directory / 'taskapi.db'}",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
            "REQUEST_READ_TIMEOUT": str(READ_TIMEOUT),
        }
        self.lines = []
        release = subprocess.run(procfile_command("release"), cwd=ROOT, env=self.env, capture_output=True,
                                 text=True, timeout=120)
        assert release.returncode == 0, release.stdout + release.stderr
        self.process = subprocess.Popen(procfile_command("web"), cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._collect, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, "\n".join(self.lines)
            try:
                if requests.get(self.url + "/health/live", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # refused, or accepted before the worker has booted
                pass
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + "\n".join(self.lines)
            time.sleep(0.1)

    def _collect(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self):
        processes.stop(self.process)

    def exchange(self, *pieces, pause=0.0):
        """Send `pieces` on one connection (`pause` seconds apart); everything the server sends until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(pause)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            return received


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("gunicorn"))
    yield server
    server.stop()
    # One worker served every test: none crashed and was replaced.
    assert sum("Booting worker" in line for line in server.lines) == 1, "\n".join(server.lines)


def answers(data):
    """(status, headers, body) of each HTTP/1.1 answer in `data`, in order (bodies framed by Content-Length)."""
    found = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
        length = int(headers.get("content-length", 0))
        found.append((int(status_line.split()[1]), headers, data[:length]))
        data = data[length:]
    return found


def assert_envelope(answer, status, code, request_id=None):
    got_status, headers, body = answer
    assert got_status == status, answer
    envelope = json.loads(body)
    assert envelope == {"status": status, "code": code, "message": envelope["message"],
                        "request_id": headers["x-request-id"]}
    assert headers["content-type"] == "application/json" and headers["x-content-type-options"] == "nosniff"
    assert headers["connection"] == "close"
    if request_id:
        assert envelope["request_id"] == request_id


def register(email):
    body = json.dumps({"email": email, "password": "correct horse battery staple", "name": "Ada"}).encode()
    head = (b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Request-ID: reg-1\r\n")
    return head, body


def test_a_request_is_served_whole_however_its_bytes_arrive(server):
    response = requests.get(server.url + "/health/live", headers={"X-Request-ID": "live-1"}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "live-1"
    head, body = register(f"{uuid.uuid4().hex}@example.com")
    head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    # Split across packets: the event loop waits for the whole body, then a thread serves it.
    [(status, headers, payload)] = answers(server.exchange(head, body[:10], body[10:], pause=0.1))
    assert status == 201 and headers["x-request-id"] == "reg-1", payload
    assert json.loads(payload)["user"]["name"] == "Ada"


def test_expect_100_continue_chunked_bodies_and_pipelining(server):
    head, body = register(f"{uuid.uuid4().hex}@example.com")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    received = server.exchange(head + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", chunked,
                               pause=0.3)
    assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ")
    live = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    pipelined = answers(server.exchange(live + live + live.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")))
    assert [status for status, _, _ in pipelined] == [200, 200, 200]


def test_a_request_not_whole_in_time_is_408_in_the_envelope(server):
    head, body = register(f"{uuid.uuid4().hex}@example.com")
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body[:5])
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert READ_TIMEOUT <= time.monotonic() - began < READ_TIMEOUT + 3  # the deadlines are swept each second
    [answer] = answers(received)
    assert_envelope(answer, 408, "request_timeout", request_id="reg-1")


@pytest.mark.parametrize(
    "request_bytes, status, code",
    [
        # Refused by the event loop, before gunicorn's parser.
        (b"GET /?q=" + b"a" * 33_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        # Refused by gunicorn's parser, answered by the worker's handle_error.
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: bad-1\r\nBad Header\r\n\r\n", 400, "bad_request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: v\r\n" % n for n in range(101)) + b"\r\n", 431,
         "headers_too_large"),
        (b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-Request-ID: br-1\r\nTransfer-Encoding: br\r\n\r\n", 501,
         "not_implemented"),
    ],
)
def test_the_servers_own_refusals_carry_the_envelope(server, request_bytes, status, code):
    [answer] = answers(server.exchange(request_bytes))
    assert_envelope(answer, status, code)


# Streams (GET /api/v1/stream): handed over to the worker's event loop, so its two threads stay free.


def signed_up(server, email):
    response = requests.post(server.url + "/api/v1/auth/register", timeout=TIMEOUT,
                             json={"email": email, "password": "correct horse battery staple", "name": "Ada"})
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["access_token"]}


def stream_ticket(server, auth):
    response = requests.post(server.url + "/api/v1/stream/ticket", headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


def read_all_logged(server):
    """How many lines the server has logged, once every line it logged before this call has been read: a
    request's own line follows them in its output (a previous test's error may still be on its way)."""
    marker = uuid.uuid4().hex
    requests.get(server.url + "/health/live", headers={"X-Request-ID": marker}, timeout=TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while not any(marker in line for line in server.lines):
        assert time.monotonic() < deadline, "\n".join(server.lines[-20:])
        time.sleep(0.05)
    return len(server.lines)


def test_streams_hold_no_thread_and_hear_of_changes(server):
    logged_before = read_all_logged(server)
    auth = signed_up(server, f"{uuid.uuid4().hex[:8]}@example.com")
    streams = [StreamClient(server.port, stream_ticket(server, auth)) for _ in range(6)]  # 3 per thread
    try:
        for stream in streams:
            assert stream.status == 200 and stream.chunked
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache" and stream.headers["x-accel-buffering"] == "no"
            assert stream.headers["x-request-id"] and stream.headers["x-content-type-options"] == "nosniff"
            assert stream.next_block() == "retry: 3000\n: open\n\n"
        # Were the streams holding the two threads, nothing more would be answered. (Timings are the e2e
        # suite's: `make test` shares the machine with itself.)
        assert requests.get(server.url + "/health/live", timeout=TIMEOUT).status_code == 200
        created = requests.post(server.url + "/api/v1/tasks", json={"title": "Milk"}, headers=auth, timeout=TIMEOUT)
        assert created.status_code == 201, created.text
        for stream in streams:
            assert stream.next_event(timeout=TIMEOUT) == ("changed", {"lists": [created.json()["list_id"]]})
    finally:
        for stream in streams:
            stream.close()
    deadline = time.monotonic() + TIMEOUT
    while sum("GET /api/v1/stream 200" in line for line in server.lines) < 6:  # one line each, at the end
        assert time.monotonic() < deadline, "\n".join(server.lines[-20:])
        time.sleep(0.05)
    logged = server.lines[logged_before:]
    assert not [line for line in logged if "Traceback" in line or "on_close failed" in line], "\n".join(logged)


def test_a_stream_ends_revoked_when_its_session_ends(server):
    auth = signed_up(server, f"{uuid.uuid4().hex[:8]}@example.com")
    stream = StreamClient(server.port, stream_ticket(server, auth))
    try:
        stream.next_block()
        assert requests.post(server.url + "/api/v1/auth/logout", headers=auth, timeout=TIMEOUT).status_code == 204
        started = time.monotonic()
        assert stream.next_event(timeout=TIMEOUT) == ("revoked", {})
        assert stream.wait_closed(timeout=TIMEOUT) and stream.ended  # the last chunk, then the close
        assert time.monotonic() - started < TIMEOUT
    finally:
        stream.close()


def test_a_used_ticket_is_the_envelope_not_a_stream(server):
    auth = signed_up(server, f"{uuid.uuid4().hex[:8]}@example.com")
    ticket = stream_ticket(server, auth)
    first = StreamClient(server.port, ticket)
    try:
        again = StreamClient(server.port, ticket)
        assert again.status == 401 and again.body["code"] == "token_invalid"
        again.close()
    finally:
        first.close()
