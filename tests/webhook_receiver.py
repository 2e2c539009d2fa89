"""A real webhook receiver for the tests (an HTTP server on 127.0.0.1 in the test process) that keeps what it is
sent and answers as told: 2xx, a failure, a hang past the timeout, a slow answer, a redirect, a huge body, an outage."""

import contextlib
import http.server
import socket
import ssl
import sys
import threading
import time

from tests.smtp import free_port

HUGE = 16 * 1024 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"  # connections kept alive between requests, as most endpoints do

    def setup(self):
        super().setup()
        with self.server.receiver.lock:
            self.server.receiver.connections.add(self.connection)

    def do_POST(self):  # noqa: N802 - http.server's hook name
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        mode, status, delay = receiver.mode, receiver.status, receiver.delay
        answered = {"redirect": 302, "huge": 200}.get(mode, status)
        with receiver.lock:
            receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                      "path": self.path, "at": time.monotonic(), "mode": mode, "status": answered,
                                      "client": self.client_address})
        if delay:
            time.sleep(delay)
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", receiver.url("/elsewhere"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(HUGE // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the sender stopped reading, as it should
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    receiver: "Receiver"

    def handle_error(self, request, client_address):
        """A sender gone before the answer (it timed out, or its connection was cut) is what some tests do: no
        traceback for that. (Python 3.11 formats a traceback with `ast.parse`; done from this thread while the
        test's thread parses too, it has failed with "AST constructor recursion depth mismatch": see CPython
        gh-106905.)"""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Receiver:
    """start(), stop() (and start again on the same port: an outage), `received`; `answer(...)` sets the behaviour."""

    def __init__(self, port=None, tls=None):
        self.port = port or free_port()
        self.tls = tls  # (certificate file, key file): https
        self.received = []
        self.connections = set()  # the sockets of the connections accepted, kept alive between requests
        self.lock = threading.Lock()
        self.mode, self.status, self.delay = "ok", 204, 0.0
        self._server = None

    def url(self, path="/hook", host="127.0.0.1"):
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def answer(self, status=204, delay=0.0, mode="ok"):
        self.mode, self.status, self.delay = mode, status, delay
        return self

    def start(self):
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.receiver = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        """An outage: no more connections accepted, and those open dropped (as when the endpoint's process ends)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.drop_connections()

    def drop_connections(self):
        """Close the connections kept open, as an endpoint does with idle ones after its keep-alive timeout."""
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def requests(self):
        with self.lock:
            return list(self.received)

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.requests()
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} request(s) arrived, not {count}")
