"""gunicorn's threaded worker, reading each whole request in its event loop so no thread waits on a client.

gunicorn's gthread worker hands a connection to a thread as soon as it is accepted (or readable again),
and the thread then blocks on the socket for as long as the client takes to send the request line,
headers and body: a handful of clients sending a byte a second hold every thread. Here the event loop
reads each request without blocking until it is whole (or holds all the app needs to refuse it, or
breaks a limit) and only then hands it to a thread, which parses it from memory. A request that is not
whole `REQUEST_READ_TIMEOUT` seconds after its connection opened (or its first byte arrived, on a kept-
alive connection) is answered 408; a silent connection is closed. Connections are closed without
waiting on the client in the event loop, and gunicorn's own error answers carry the contract's envelope.

Plain HTTP/1.1 only: TLS ends at the PaaS router, and HTTP/2 is not enabled.
"""

import contextlib
import errno
import json
import re
import selectors
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from http import HTTPStatus

from gunicorn import util
from gunicorn.http.body import CHUNK_EXT_RE
from gunicorn.http.errors import (
    ConfigurationProblem,
    ExpectationFailed,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers import gthread

from taskapi.errors import ApiError, envelope
from taskapi.headers import HSTS, SECURITY_HEADERS
from taskapi.requestid import _VALID as VALID_REQUEST_ID
from taskapi.requestid import HEADER as REQUEST_ID_HEADER

HEADERS_LIMIT = 32 * 1024  # the header fields of one request together, after the request line: 431 beyond
RECEIVE_SIZE = 64 * 1024
LINGER_SECONDS = 2.0  # as gunicorn's graceful close: time for the client to read the answer and hang up
LINGER_BYTES = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HEX = re.compile(rb"[0-9A-Fa-f]+")
FRAMING_FIELDS = (b"\r\ncontent-length:", b"\r\ntransfer-encoding:", b"\r\nexpect:")

# The status gunicorn's Worker.handle_error gives each parsing error; any other ParseException is 400.
PARSE_ERROR_STATUSES = (
    ((InvalidResponseHeader, InvalidResponseHeaderName), 500),  # the app's fault, not the client's
    (LimitRequestLine, 414),
    (LimitRequestHeaders, 431),
    (ExpectationFailed, 417),
    (UnsupportedTransferCoding, 501),
    (ConfigurationProblem, 500),
    (ParseException, 400),
)


@dataclass(frozen=True)
class Limits:
    """Bytes a request may take: request line, header fields, chunk-size line, body (MAX_CONTENT_LENGTH)."""

    line: int
    headers: int
    chunk_line: int
    body: int


class IncomingRequest:
    """One request's bytes as they arrive, and what may be done with them so far.

    Each `feed()` scans only bytes it has not scanned, so a request costs time linear in its size however
    it is split. Once `ready`, a thread can parse and serve the request without reading the socket: it is
    whole, or it holds all the app needs to refuse it (`partial`: a body over the limit, or framing gunicorn
    refuses), in which case the connection closes after the answer. `status` is an answer the event loop
    gives itself: 414, 431, or 400 for chunked framing gunicorn would refuse while the app reads the body.
    """

    def __init__(self, limits):
        self.limits = limits
        self.data = bytearray()
        self.ready = False
        self.partial = False
        self.status = None
        self.wants_continue = False
        self._scanned = 0  # head and trailer section: bytes already searched for their end
        self._line_start = 0
        self._line_end = -1
        self._head_end = -1
        self._body_end = None  # Content-Length: offset one past the body
        self._chunk = -1  # chunked: offset of the next chunk-size line (set once the head is read)
        self._chunked_size = 0  # chunked: data bytes of the chunks before it
        self._trailers: int | None = None  # chunked: offset of the trailer section, after the last chunk

    def feed(self, data):
        self.data += data
        if self._head_end < 0:
            self._read_head()
        if self._head_end >= 0 and not (self.ready or self.status):
            self._read_body()

    def request_id(self):
        """The client's X-Request-ID when the head holds a valid one, else a new id (answers made here)."""
        name = REQUEST_ID_HEADER.lower().encode() + b":"
        head = bytes(self.data[: max(self._head_end, 0)])
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(name):
                return client_request_id(line[len(name) :].strip(b" \t").decode("latin-1"))
        return client_request_id("")

    def _read_head(self):
        data, limits = self.data, self.limits
        start = max(self._scanned - 3, 0)
        self._scanned = len(data)
        if self._line_end < 0:
            # RFC 9112 2.2: one empty line may precede the request line (gunicorn skips it too).
            self._line_start = 2 if data[:2] == b"\r\n" else 0
            self._line_end = data.find(b"\r\n", max(start, self._line_start))
            unended = len(data) - 2 if self._line_end < 0 else self._line_end
            if unended - self._line_start > limits.line:
                self.status = 414
            if self._line_end < 0 or self.status:
                return
        end = data.find(b"\r\n\r\n", max(start, self._line_end))
        if (len(data) if end < 0 else end) - self._line_end - 2 > limits.headers:
            self.status = 431
        if end < 0 or self.status:
            return
        self._head_end = end + 4
        self._frame_body(bytes(data[self._line_start : end]).lower())

    def _frame_body(self, head):
        """Where the body ends, from the head's framing fields (gunicorn parses them again, strictly)."""
        if not any(field in head for field in FRAMING_FIELDS):
            self.ready = True  # no body: GET, DELETE, most requests
            return
        fields: dict[bytes, list[bytes]] = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields.setdefault(name, []).append(value.strip(b" \t"))
        lengths = fields.get(b"content-length", [])
        codings = [c.strip(b" \t") for value in fields.get(b"transfer-encoding", []) for c in value.split(b",")]
        expect = fields.get(b"expect", [])
        http10 = head.split(b"\r\n", 1)[0].endswith(b"http/1.0")
        if codings:
            if codings[-1] != b"chunked" or lengths or http10:
                self.ready = self.partial = True  # gunicorn refuses it before reading a body
                return
            self._chunk = self._head_end
        elif lengths:
            if len(lengths) > 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
                self.ready = self.partial = True  # gunicorn refuses it, or the app does (413)
                return
            length = int(lengths[0])
            if length > self.limits.body:
                self.ready = self.partial = True  # the app answers 413 from the header alone
                return
            self._body_end = self._head_end + length
        else:
            self.ready = True
            return
        if expect:
            if expect != [b"100-continue"]:
                self.ready = self.partial = True  # gunicorn answers 417
                return
            self.wants_continue = not http10

    def _read_body(self):
        if self._body_end is not None:
            self.ready = len(self.data) >= self._body_end
        elif self._trailers is not None:
            self._read_trailers(self._trailers)
        else:
            self._read_chunks()

    def _read_chunks(self):
        data, limits = self.data, self.limits
        while True:
            at = self._chunk
            line_end = data.find(b"\r\n", at)
            if line_end < 0:
                if len(data) - at > limits.chunk_line:
                    self.status = 400
                return
            size = chunk_size(bytes(data[at:line_end]))
            if size is None:
                self.status = 400
                return
            start = line_end + 2
            if size == 0:
                self._trailers = self._scanned = start
                self._read_trailers(start)
                return
            if self._chunked_size + min(len(data) - start, size) > limits.body:
                self.ready = self.partial = True  # the app reads one byte over the limit and answers 413
                return
            if len(data) < start + size + 2:
                return
            if data[start + size : start + size + 2] != b"\r\n":
                self.status = 400
                return
            self._chunked_size += size
            self._chunk = start + size + 2

    def _read_trailers(self, at):
        data = self.data
        if len(data) < at + 2:
            return
        if data[at : at + 2] == b"\r\n":
            self.ready = True
            return
        start = max(self._scanned - 3, at)
        self._scanned = len(data)
        if data.find(b"\r\n\r\n", start) >= 0:
            self.ready = True
        elif len(data) - at > self.limits.headers:
            self.status = 431


def chunk_size(line):
    """A chunk-size line's size, or None when gunicorn's ChunkedReader would refuse the line."""
    size, semicolon, extension = line.partition(b";")
    if semicolon:
        if b"\r" in extension or not CHUNK_EXT_RE.fullmatch(b";" + extension):
            return None
        size = size.rstrip(b" \t")
    return int(size, 16) if HEX.fullmatch(size) else None


def client_request_id(supplied):
    """The contract's X-Request-ID rule, for answers made before the app sees the request."""
    return supplied if VALID_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex[:16]


def error_answer(status, request_id, hsts):
    """A whole HTTP answer with the contract's envelope and every header the app sends with one."""
    body = json.dumps(envelope(ApiError(status), request_id)).encode()
    headers = {
        "Date": formatdate(usegmt=True),
        "Connection": "close",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        REQUEST_ID_HEADER: request_id,
        "Cache-Control": "no-store",
        **SECURITY_HEADERS,
    }
    if hsts:
        headers["Strict-Transport-Security"] = HSTS
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode("latin-1") + body


def parse_error_status(exc):
    return next((status for kind, status in PARSE_ERROR_STATUSES if isinstance(exc, kind)), 500)


class Connection(gthread.TConn):
    """A client connection; between requests the worker's event loop owns it, reading the next one."""

    def __init__(self, worker, sock, client, server):
        super().__init__(worker.cfg, sock, client, server)
        self.worker = worker
        self.incoming = None  # the request being read, while the event loop reads it
        self.deadline = None
        self.watched = False  # registered with the poller for reading
        self.partial = False  # served before its whole body arrived: close after the answer
        self.continued = False  # the event loop sent 100 Continue

    def close(self, graceful=False):
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class Lingering:
    """A socket whose answer is sent and whose write side is shut, drained until the client hangs up."""

    __slots__ = ("sock", "deadline", "drained", "open")

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.drained = 0
        self.open = True


class ThreadWorker(gthread.ThreadWorker):
    """gthread whose threads only ever get whole requests; see the module's docstring."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: deque[tuple[float, Connection]] = deque()  # (deadline, connection), in deadline order
        self.lingering: deque[Lingering] = deque()  # in deadline order

    def run(self):
        config = self.wsgi.config
        self.read_timeout = config["REQUEST_READ_TIMEOUT"]
        self.hsts = config["HSTS"]
        self.limits = Limits(line=self.cfg.limit_request_line, headers=HEADERS_LIMIT,
                             chunk_line=self.cfg.limit_request_field_size, body=config["MAX_CONTENT_LENGTH"])
        # gunicorn's parser lowers any request-line limit above 8190 bytes to 8190. The event loop has
        # already held each line to the configured limit when the parser sees it, so the parser has none.
        self.cfg.set("limit_request_line", 0)
        super().run()

    # Connections enter here: accepted, readable again after a kept-alive answer, or holding the bytes of
    # a pipelined request read along with the previous one.

    def accept(self, listener):
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self._read_request(Connection(self, sock, client, listener.getsockname()), b"")

    def enqueue_req(self, conn):
        self._read_request(conn, conn.parser.unreader.take_buffered())

    def _read_request(self, conn, received):
        conn.incoming = IncomingRequest(self.limits)
        conn.deadline = time.monotonic() + self.read_timeout
        conn.partial = conn.continued = False
        self.reading.append((conn.deadline, conn))
        conn.sock.setblocking(False)
        conn.incoming.feed(received)
        self._receive(conn)

    def _receive(self, conn, _sock=None):
        """Read what the client sent; then serve the request, refuse it, or wait for more."""
        incoming = conn.incoming
        while not (incoming.ready or incoming.status):
            try:
                data = conn.sock.recv(RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                self._wait(conn)
                return
            except OSError:
                data = b""
            if not data:  # the client hung up: nobody to answer
                self._unwatch(conn)
                self._close(conn)
                return
            incoming.feed(data)
        self._unwatch(conn)
        if incoming.status:
            self._refuse(conn, incoming.status)
        else:
            self._serve(conn)

    def _wait(self, conn):
        if conn.incoming.wants_continue and not conn.continued:
            conn.continued = True
            self._send(conn.sock, CONTINUE)
        if not conn.watched:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._receive, conn))
            conn.watched = True

    def _unwatch(self, conn):
        if conn.watched:
            self.poller.unregister(conn.sock)
            conn.watched = False

    def _serve(self, conn):
        incoming, conn.incoming = conn.incoming, None
        conn.partial = incoming.partial
        conn.init()  # gunicorn's parser, on the first request of the connection
        conn.parser.unreader.unread(bytes(incoming.data))
        super().enqueue_req(conn)

    def _refuse(self, conn, status):
        request_id = conn.incoming.request_id()
        self.log.warning("Refused request from ip=%s: %s", _ip(conn.client), status,
                         extra={"request_id": request_id, "status": status})
        self._send(conn.sock, error_answer(status, request_id, self.hsts))
        self._close(conn, graceful=True)

    def _close(self, conn, graceful=False):
        conn.incoming = None
        self.nr_conns -= 1
        conn.close(graceful)

    @staticmethod
    def _send(sock, data):
        # A few hundred bytes on a fresh or idle connection fit its send buffer; a client that does not
        # read does not get them.
        with contextlib.suppress(OSError):
            sock.send(data)

    def murder_pending(self):
        """gthread's sweep, then the requests past their deadline and the lingering sockets past theirs."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0][0] <= now:
            deadline, conn = self.reading.popleft()
            if conn.incoming is None or conn.deadline != deadline:
                continue  # served, refused or closed meanwhile
            self._unwatch(conn)
            if conn.incoming.data:
                self._refuse(conn, 408)
            else:
                self._close(conn)  # silent since it connected: no request to answer
        while self.lingering and self.lingering[0].deadline <= now:
            self._stop_lingering(self.lingering.popleft())

    # Closing a connection whose answer is sent. Closing a socket with unread bytes resets the
    # connection, which can destroy the answer before the client reads it; so when the client is still
    # sending, shut the write side (the client sees the end of the answer) and read until it hangs up.
    # gunicorn waits for that in the event loop, up to 2 s a connection; here the poller does.

    def linger(self, sock):
        try:
            sock.setblocking(False)
            drained = len(sock.recv(RECEIVE_SIZE))
            if drained:
                sock.shutdown(socket.SHUT_WR)
        except BlockingIOError:
            drained = 0  # nothing unread: closing now sends the answer and a FIN, no reset
        except OSError:
            drained = 0
        if not drained:
            util.close(sock)
            return
        entry = Lingering(sock, time.monotonic() + LINGER_SECONDS)
        entry.drained = drained
        self.poller.register(sock, selectors.EVENT_READ, partial(self._drain, entry))
        self.lingering.append(entry)

    def _drain(self, entry, _sock):
        try:
            while data := entry.sock.recv(RECEIVE_SIZE):
                entry.drained += len(data)
                if entry.drained > LINGER_BYTES:
                    break
            else:
                self._stop_lingering(entry)  # the client hung up
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._stop_lingering(entry)

    def _stop_lingering(self, entry):
        if entry.open:
            entry.open = False
            self.poller.unregister(entry.sock)
            util.close(entry.sock)

    # In a thread.

    def handle_request(self, req, conn):
        if conn.partial:
            req.force_close()  # the rest of the body is still on the wire: no next request can follow
        if conn.continued or conn.partial:
            # gunicorn would send 100 Continue: a second one, or an invitation to send a body nobody reads.
            req._expected_100_continue = False
        return super().handle_request(req, conn)

    def handle_error(self, req, client, addr, exc):
        """gunicorn's answer to a request it cannot parse (and the app's last resort), in the envelope."""
        status = parse_error_status(exc)
        req = req or getattr(exc, "req", None)
        supplied = next((value for name, value in getattr(req, "headers", ()) if name == "X-REQUEST-ID"), "")
        request_id = client_request_id(supplied)
        extra = {"request_id": request_id, "status": status}
        if status < 500:
            self.log.warning("Invalid request from ip=%s: %s", _ip(addr), exc, extra=extra)
        else:
            self.log.exception("Error handling request", extra=extra)
        try:
            util.write_nonblock(client, error_answer(status, request_id, self.hsts))
        except OSError:
            self.log.debug("Failed to send error message.")


def _ip(addr):
    return addr[0] if isinstance(addr, tuple) else addr
