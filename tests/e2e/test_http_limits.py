"""The HTTP layer under gunicorn: request-line and header limits, its own refusals, chunked bodies, proxies."""

import contextlib
import json
import socket
import threading
import time
from urllib.parse import quote

import pytest
import requests

from tests.e2e.helpers import TASKS, TIMEOUT, Client, assert_error, query, unique_email

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
MAX_BODY = 64 * 1024


class RawAnswer:
    """An HTTP/1.1 answer read off a socket: status, headers (last one wins), body."""

    def __init__(self, data):
        assert data, "no answer"
        head, _, self.body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}

    def envelope(self, status, code):
        """The contract's envelope and headers, as the app sends them with any error."""
        assert self.status == status, (self.status, self.body)
        assert self.headers["content-type"] == "application/json"
        body = json.loads(self.body[: int(self.headers["content-length"])])
        assert set(body) == {"status", "code", "message", "request_id"}, body
        assert body["status"] == status and body["code"] == code, body
        assert body["request_id"] == self.headers["x-request-id"]
        for name, value in SECURITY_HEADERS.items():
            assert self.headers[name.lower()] == value, self.headers
        assert self.headers["strict-transport-security"].startswith("max-age=")  # production
        return body


def exchange(server, data, sending_thread=False):
    """Send `data` on a new connection and read the answer until the server closes (or stops sending)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        if sending_thread:  # more than the server reads: it answers while the client is still sending
            threading.Thread(target=_send_quietly, args=(sock, data), daemon=True).start()
        else:
            sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass  # a reset after the answer: the client kept sending what the server would not read
    return RawAnswer(received)


def _send_quietly(sock, data):
    with contextlib.suppress(OSError):  # the server answers and closes before reading everything
        sock.sendall(data)


def worker_cpu_seconds(server):
    """User plus system CPU time of every gunicorn worker so far (Linux /proc)."""
    ticks = 0
    for pid in server.worker_pids():
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / 100  # USER_HZ


def test_a_multi_megabyte_request_line_costs_little_and_is_414_while_legal_queries_pass(server, database):
    api = Client(server)
    api.register()
    api.create_task(title="Findable 😀")
    # The contract's longest query: `q` of 2200 characters of 4 bytes each, percent-encoded (26 400 bytes),
    # with every other parameter.
    longest_q = quote("😀" * 2200)
    target = (f"{TASKS}?q={longest_q}&status=pending&status=in_progress&status=completed&priority=low"
              f"&priority=medium&priority=high&sort=-created_at&limit=100&offset=2147483647")
    assert len(target) > 26_400
    response = api.get(target)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0  # matched nothing: it was read, not cut

    before = worker_cpu_seconds(server)
    started = time.monotonic()
    for request_id in ("long-line-1", "long-line-2", "long-line-3"):
        line = b"GET /health/live?x=" + b"a" * (8 << 20) + b" HTTP/1.1\r\n"
        answer = exchange(server, line + b"Host: x\r\nX-Request-ID: %s\r\n\r\n" % request_id.encode(),
                          sending_thread=True)
        body = answer.envelope(414, "uri_too_long")
        assert body["request_id"] != request_id  # refused before its headers were read
    cpu = worker_cpu_seconds(server) - before
    # gunicorn's parser took 6.4 s of CPU for one 8 MB line; the worker stops reading at 32 KiB.
    assert cpu < 0.5, cpu
    assert time.monotonic() - started < 10

    assert api.get(TASKS).status_code == 200  # every worker still serves
    assert requests.get(server.url + "/health/live", timeout=TIMEOUT).status_code == 200
    server.stop()
    assert server.non_json_lines() == []


GUNICORN_REFUSALS = [
    # gunicorn's own limits (gunicorn.conf.py): a field over 8190 bytes, more than 100 fields.
    (b"X-Big: " + b"a" * 9000 + b"\r\n", 431, "headers_too_large"),
    (b"".join(b"X-Field-%d: 1\r\n" % n for n in range(101)), 431, "headers_too_large"),
    # the worker's: header fields over 32 KiB together
    (b"".join(b"X-Field-%d: %s\r\n" % (n, b"a" * 8000) for n in range(5)), 431, "headers_too_large"),
    (b"Bad Name: 1\r\n", 400, "bad_request"),
    (b"X-Ctl: a\x01b\r\n", 400, "bad_request"),
    (b"Transfer-Encoding: br\r\n", 501, "not_implemented"),
    (b"Expect: tea\r\nContent-Length: 2\r\n", 417, "expectation_failed"),
]


def test_requests_gunicorn_refuses_get_the_envelope_and_the_security_headers(server):
    for fields, status, code in GUNICORN_REFUSALS:
        answer = exchange(server, b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n{}")
        answer.envelope(status, code)
        assert answer.headers["connection"] == "close"
    # With the request id when gunicorn read the headers before refusing.
    answer = exchange(server, b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-Request-ID: twice-1\r\n"
                              b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}")
    assert answer.envelope(400, "bad_request")["request_id"] == "twice-1"
    assert requests.get(server.url + "/health/live", timeout=TIMEOUT).status_code == 200
    server.stop()
    assert server.non_json_lines() == []


def test_a_request_line_just_over_the_limit_is_414_and_one_at_it_is_served(server):
    line = f"GET /health/live?x={'a' * (32 * 1024)} HTTP/1.1".encode()
    served = line[: 32 * 1024 - len(" HTTP/1.1")] + b" HTTP/1.1"
    assert len(served) == 32 * 1024
    assert exchange(server, served + b"\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200
    exchange(server, line + b"\r\nHost: x\r\n\r\n").envelope(414, "uri_too_long")


def chunks_of(body, size=8192):
    for at in range(0, len(body), size):
        yield body[at : at + size]


def test_a_chunked_body_over_the_limit_is_413_and_stores_nothing(server, database):
    api = Client(server)
    user_id = api.register()["user"]["id"]
    headers = {"Content-Type": "application/json"}
    for size in (MAX_BODY + 1, 4 * MAX_BODY):
        body = b'{"title": "Cut short"}'
        body += b" " * (size - len(body))  # still one valid JSON object, whole
        response = api.post(TASKS, data=chunks_of(body), headers=headers)
        assert_error(response, 413, "payload_too_large")
        assert response.headers["Connection"] == "close"
    assert query(database, "SELECT count(*) FROM tasks WHERE created_by = %s", (user_id,)) == [(0,)]

    at_limit = b'{"title": "Whole"}'
    at_limit += b" " * (MAX_BODY - len(at_limit))
    response = api.post(TASKS, data=chunks_of(at_limit, 1000), headers=headers)
    assert response.status_code == 201, response.text
    assert query(database, "SELECT title FROM tasks WHERE created_by = %s", (user_id,)) == [("Whole",)]


def test_pipelined_requests_and_expect_100_continue_are_served_in_order(server, database):
    api = Client(server)
    token = api.register()["access_token"].encode()
    create = (b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
              b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s")
    first, second = b'{"title": "First"}', b'{"title": "Second"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(create % (len(first), first) + create % (len(second), second)
                     + b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 201 ") == 2 and received.index(b'"First"') < received.index(b'"Second"')
    assert received.rstrip().endswith(b'{"status":"ok"}')

    third = b'{"title": "Third"}'
    expecting = create.replace(b"Content-Length", b"Expect: 100-continue\r\nContent-Length")
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        head = expecting % (len(third), b"")
        sock.sendall(head)
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"  # the body is invited once
        sock.sendall(third)
        assert sock.recv(65536).startswith(b"HTTP/1.1 201 ")
    titles = query(database, "SELECT title FROM tasks ORDER BY id")
    assert titles == [("First",), ("Second",), ("Third",)]


SPOOFED = {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on",
           "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("trusted_proxies, client_address", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_no_redirect_and_the_client_address_only_from_a_trusted_proxy(start_server, trusted_proxies,
                                                                      client_address):
    server = start_server(TRUSTED_PROXIES=trusted_proxies)
    api = Client(server)
    api.register(email=unique_email())
    response = api.get("/api//v1/tasks", headers=SPOOFED)
    assert "Location" not in response.headers
    assert_error(response, 404, "not_found")
    request_id = api.sent_request_ids[-1]
    server.stop()
    lines = [json.loads(line) for line in server.lines]
    access = [line for line in lines if line.get("request_id") == request_id and line.get("path")]
    assert [line["client"] for line in access] == [client_address]
