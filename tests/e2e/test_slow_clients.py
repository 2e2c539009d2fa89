"""Slow, silent and idle clients under gunicorn: they hold no thread, and each gets its 408 or is closed."""

import json
import select
import socket
import threading
import time

import requests

from tests.e2e.helpers import TASKS, TIMEOUT, Client, query

READ_TIMEOUT = 4  # REQUEST_READ_TIMEOUT for these servers: 2 workers of 4 threads (the Procfile's defaults)
PROMPT = 1.5  # seconds a normal request may take while the slow clients are connected


class SlowClient(threading.Thread):
    """One connection sending its request a byte a second ("headers", "body") or nothing ("silent").

    It stops sending as soon as an answer arrives, and records what arrived and when.
    """

    def __init__(self, port, kind, number, token):
        super().__init__(daemon=True)
        self.port, self.kind = port, kind
        self.request_id = f"slow-{kind}-{number}"
        self.head = (f"POST {TASKS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 1000\r\n"
                     f"X-Request-ID: {self.request_id}\r\n\r\n").encode()
        self.answer = None
        self.after = None  # seconds from connecting to the end of the answer (or the close)

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            connected = time.monotonic()
            if self.kind == "body":
                sock.sendall(self.head)
                trickle = b'{"title": "Slow"' + b" " * 984
            else:
                trickle = self.head if self.kind == "headers" else b""
            for byte in trickle[:60]:  # a byte a second, for longer than the server waits
                if select.select([sock], [], [], 1)[0]:
                    break
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
            else:
                select.select([sock], [], [], 60)
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except OSError:
                pass
            self.after = time.monotonic() - connected
            self.answer = received


def assert_408(client):
    head, _, body = client.answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), (client.kind, client.answer)
    envelope = json.loads(body)
    assert envelope["status"] == 408 and envelope["code"] == "request_timeout", envelope
    assert f"X-Request-ID: {envelope['request_id']}".encode() in head
    return envelope


def test_slow_and_silent_clients_stall_nobody_and_each_gets_408_or_is_closed(start_server, database):
    server = start_server(REQUEST_READ_TIMEOUT=READ_TIMEOUT)
    api = Client(server)
    user_id = api.register()["user"]["id"]
    kinds = ("body", "headers", "silent")
    slow = [SlowClient(server.port, kinds[n % 3], n, api.token) for n in range(16)]  # twice the threads
    started = time.monotonic()
    for client in slow:
        client.start()
    time.sleep(0.5)  # every slow client is connected and has started sending

    # Normal requests are answered promptly for as long as the slow clients are there (until they are
    # answered, at READ_TIMEOUT at the earliest, as checked below).
    durations = []
    while time.monotonic() < started + READ_TIMEOUT - 1 or len(durations) < 5:
        began = time.monotonic()
        assert api.get("/health/live").status_code == 200
        api.create_task(title=f"Prompt {len(durations)}")
        assert api.get(TASKS).status_code == 200
        durations.append(time.monotonic() - began)
    assert max(durations) < PROMPT, durations

    for client in slow:
        client.join(timeout=READ_TIMEOUT + 20)
        assert not client.is_alive(), client.kind
        # The deadline is swept once a second; the client notices within its next second.
        assert READ_TIMEOUT - 0.5 < client.after < READ_TIMEOUT + 4, (client.kind, client.after)
        if client.kind == "silent":
            assert client.answer == b""  # no request, no answer: closed
        elif client.kind == "body":
            assert assert_408(client)["request_id"] == client.request_id
        else:
            assert assert_408(client)["request_id"] != client.request_id  # its headers never came whole

    rows = query(database, "SELECT title FROM tasks WHERE created_by = %s ORDER BY id", (user_id,))
    titles = [title for (title,) in rows]
    assert titles == [f"Prompt {n}" for n in range(len(durations))]  # nothing from the slow bodies
    server.stop()
    assert server.non_json_lines() == []


def test_idle_connections_and_clients_that_never_hang_up_stall_nobody(server):
    api = Client(server)
    api.register()
    idle, unclosed = [], []
    for n in range(16):
        # An answer kept alive, then nothing: the connection waits in the event loop, not in a thread.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while not received.endswith(b'{"status":"ok"}\n'):
            received += sock.recv(65536)
        assert received.startswith(b"HTTP/1.1 200 ")
        idle.append(sock)
        # An answer that closes the connection, to a client that never hangs up (sometimes with bytes
        # the server will not read): gunicorn waited on each in its event loop, 2 s apiece.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        sock.sendall(b"GET /health/live HTTP/1.0\r\n\r\n" + (b"unread" if n % 4 == 0 else b""))
        unclosed.append(sock)
    try:
        durations = []
        for n in range(10):
            began = time.monotonic()
            assert requests.get(server.url + "/health/live", timeout=TIMEOUT).status_code == 200
            api.create_task(title=f"Prompt {n}")
            durations.append(time.monotonic() - began)
        assert max(durations) < PROMPT, durations
        for sock in unclosed:  # each got its answer, then the end of the connection
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.0 200 ") and received.endswith(b'{"status":"ok"}\n')
        for sock in idle:  # closed by the server after keepalive (5 s)
            sock.settimeout(10)
            assert sock.recv(65536) == b""
    finally:
        for sock in idle + unclosed:
            sock.close()
