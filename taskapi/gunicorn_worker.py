"""gunicorn's threaded worker, reading each whole request in its event loop so no thread waits on a client.

gunicorn's gthread worker hands a connection to a thread as soon as it is accepted (or readable again),
and the thread then blocks on the socket for as long as the client takes to send the request line,
headers and body: a handful of clients sending a byte a second hold every thread. Here the event loop
reads each request without blocking until it is whole (or holds all the app needs to refuse it, or
breaks a limit) and only then hands it to a thread, which parses it from memory. A request that is not
whole `read_timeout` seconds after its connection opened (or its first byte arrived, on a kept-alive
connection) is answered 408; a silent connection is closed. Connections are closed without waiting on
the client in the event loop, and gunicorn's own error answers are made as the app makes its own.

Long answers (server-sent events) hold no thread either: the worker offers the app a hand-over callable in
the WSGI environ (HAND_OVER). An app that calls it gets an Outlet, answers as usual (status and header
fields through start_response; the body it returns is ignored), and its thread is free at once; the event
loop then writes the head and whatever the app sends through the Outlet from any thread, heartbeats, notices
the client hanging up, drops a client that does not read, and closes every outlet at shutdown.

The worker imports nothing of the app. What it must know of it (the read timeout, the body limit, the
request-id rule, how an error answer looks) it is told by `configure()`, which gunicorn.conf.py's
post_worker_init hook calls; a worker nobody configured refuses to boot.

It stands on gthread's internals, which gunicorn changes between releases. Every use of them is in the
last part of this module, "gunicorn internals"; the worker refuses to start on a gunicorn outside
SUPPORTED_GUNICORN, or with a setting that would make gthread do more than read plain HTTP/1.1 off the
socket (TLS, HTTP/2, the PROXY or uwsgi protocol): TLS ends at the PaaS router. See docs/server.md.
"""

import contextlib
import errno
import re
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from http import HTTPStatus

import gunicorn
from gunicorn import util
from gunicorn.arbiter import Arbiter
from gunicorn.http import errors as http_errors
from gunicorn.workers import gthread

HEADERS_LIMIT = 32 * 1024  # the header fields of one request together, after the request line: 431 beyond
RECEIVE_SIZE = 64 * 1024
LINGER_SECONDS = 2.0  # as gunicorn's graceful close: time for the client to read the answer and hang up
LINGER_BYTES = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HEX = re.compile(rb"[0-9A-Fa-f]+")
FRAMING_FIELDS = (b"\r\ncontent-length:", b"\r\ntransfer-encoding:", b"\r\nexpect:")
# RFC 9112 7.1.1, from a chunk-size line's first ";": *( BWS ";" BWS token [ BWS "=" BWS token / quoted-string ] ).
# gunicorn's ChunkedReader holds extensions to the same rule (tests/test_gunicorn_worker.py compares them).
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_EXTENSIONS = re.compile(rb"(?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|"
                              + _QUOTED_STRING + rb"))?)*")


# Reading a request: plain bytes, no gunicorn.


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

    def field(self, name):
        """A header field's value once the head is whole ("" when absent or not yet read): for answers made here."""
        prefix = name.lower().encode("latin-1") + b":"
        head = bytes(self.data[: max(self._head_end, 0)])
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(prefix):
                return line[len(prefix) :].strip(b" \t").decode("latin-1")
        return ""

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
        if b"\r" in extension or not CHUNK_EXTENSIONS.fullmatch(b";" + extension):
            return None
        size = size.rstrip(b" \t")
    return int(size, 16) if HEX.fullmatch(size) else None


# What the worker is told about the app it serves.


@dataclass(frozen=True)
class AppSettings:
    """The keyword arguments of `ThreadWorker.configure()` (taskapi/server.py makes them from the app's config).

    read_timeout: seconds a request may take to arrive whole, then 408 (REQUEST_READ_TIMEOUT).
    max_body: bytes of body the app takes (MAX_CONTENT_LENGTH): past them the request goes to the app at
        once, for its 413, and the connection closes after.
    request_id_header: the header field that carries a request's id, to read from the client and echo.
    request_id: the id to answer with, given what the client sent in that field ("" when nothing).
    error_answer: (status, request id) → (body, header fields) of an error answer the server makes itself;
        the worker adds the status line, Date, Connection, Content-Length and the request id.
    """

    read_timeout: float
    max_body: int
    request_id_header: str
    request_id: Callable[[str], str]
    error_answer: Callable[[int, str], tuple[bytes, Mapping[str, str]]]


def error_answer(settings, status, request_id):
    """A whole HTTP answer: the app's body and header fields for `status`, framed to close the connection."""
    body, fields = settings.error_answer(status, request_id)
    headers = {
        "Date": formatdate(usegmt=True),
        "Connection": "close",
        **fields,
        "Content-Length": str(len(body)),
        settings.request_id_header: request_id,
    }
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode("latin-1") + body


# Streams handed over to the event loop: plain bytes, no gunicorn.

HAND_OVER = "gunicorn_worker.hand_over"  # the environ key of the hand-over callable (absent elsewhere)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
                        "upgrade", "proxy-connection"})
STREAM_RECEIVE_LIMIT = 64 * 1024  # bytes a stream's client may send (it should send none) before it is dropped


def stream_head(status, headers, chunked):
    """The head of a handed-over answer: the app's status and fields, framed by the worker (chunked on
    HTTP/1.1, else delimited by the close) and closing the connection when the stream ends."""
    fields = [("Date", formatdate(usegmt=True)), ("Connection", "close")]
    if chunked:
        fields.append(("Transfer-Encoding", "chunked"))
    fields += [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields)
    return (head + "\r\n").encode("latin-1")


def frame(data, chunked):
    return b"%x\r\n%s\r\n" % (len(data), data) if chunked and data else data


class Outlet:
    """A handed-over answer: what the app holds to send its body from any thread, and what the event loop
    holds to write it.

    send(data) and close() may be called from any thread, before or after the event loop takes the stream;
    on_close(reason) is called once, in the event loop, when the stream ends: "closed" (the app's close()),
    "client" (it hung up or the connection failed), "overflow" (it read too slowly: more than max_buffer
    bytes waited), "shutdown" (the worker is stopping), "refused" (the app answered an error instead).
    """

    def __init__(self, wake, *, on_close, heartbeat=b"", heartbeat_seconds=0.0, max_buffer=64 * 1024):
        self._wake = wake  # schedules pump() in the event loop
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._scheduled = False
        self._closing = False
        self.on_close = on_close
        self.heartbeat = heartbeat
        self.heartbeat_seconds = heartbeat_seconds
        self.max_buffer = max_buffer
        # The event loop's own, from here on.
        self.chunked = False
        self.taken = False  # the event loop holds it
        self.ended = False
        self.finished = False  # the last chunk is written or waiting
        self.out = bytearray()
        self.last_write = time.monotonic()
        self.received = 0

    def send(self, data):
        """Queue bytes for the client; False once close() was called (after the end they are dropped)."""
        with self._lock:
            if self._closing:
                return False
            self._pending.append(bytes(data))
            scheduled, self._scheduled = self._scheduled, True
        if not scheduled:
            self._wake(self)
        return True

    def close(self):
        """End the stream once what was sent before is written."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            scheduled, self._scheduled = self._scheduled, True
        if not scheduled:
            self._wake(self)

    def take(self):
        """In the event loop: the bytes sent since the last take, framed, and whether close() was called."""
        with self._lock:
            pending, self._pending, self._scheduled = self._pending, [], False
            closing = self._closing
        return b"".join(frame(data, self.chunked) for data in pending), closing


# gunicorn internals. Everything below stands on gunicorn's gthread worker as SUPPORTED_GUNICORN has it,
# none of it documented: ThreadWorker's accept(), enqueue_req(), murder_pending(), handle_request(),
# handle_error(), poller and nr_conns; TConn's init(), parser and close(); the parser's unreader
# (unread(), take_buffered()); a request's _expected_100_continue; the parser's limit_request_line of 0 as
# no limit; the statuses of Worker.handle_error; util.close and util.write_nonblock; a worker's exit status
# for "failed to boot". Streams handed over (HAND_OVER) stand on more: gthread's finish_request() (run in the
# event loop when a thread is done with a connection), handle_exit() and method_queue (its self-pipe,
# registered in the poller: defer() runs a callable in the event loop, woken at once), the worker's `wsgi`
# attribute (the app, wrapped to offer the hand-over), handle_request() calling the app outside its writes
# and letting an exception out of it, and the poller calling a callback with the file object alone. A
# gunicorn release may change any of them: tests/test_gunicorn_server.py boots real gunicorn with this
# worker in `make test`, streams included.

SUPPORTED_GUNICORN = ((27, 0, 1), (27, 1))  # from, and below: requirements.in pins the same range


def supported_gunicorn(version=None):
    """Whether this worker runs on the gunicorn `version` (the installed one by default)."""
    version = tuple(gunicorn.version_info if version is None else version)
    return SUPPORTED_GUNICORN[0] <= version < SUPPORTED_GUNICORN[1]


def unsupported_settings(cfg):
    """gunicorn settings under which gthread would do what the event loop does not: one line each."""
    problems = []
    if not supported_gunicorn():
        low, high = (".".join(map(str, v)) for v in SUPPORTED_GUNICORN)
        problems.append(f"gunicorn {gunicorn.__version__} is installed; this worker runs on >={low},<{high}")
    if cfg.is_ssl:
        problems.append("certfile/keyfile (TLS): TLS ends in front of the server")
    if cfg.http_protocols != ["h1"]:
        problems.append(f"http_protocols={','.join(cfg.http_protocols)}: HTTP/1.1 (h1) only")
    if cfg.http2_cleartext != "off":
        problems.append(f"http2_cleartext={cfg.http2_cleartext}: no HTTP/2")
    if cfg.protocol != "http":
        problems.append(f"protocol={cfg.protocol}: HTTP only")
    if cfg.proxy_protocol != "off":
        problems.append(f"proxy_protocol={cfg.proxy_protocol}: the event loop reads the HTTP request first")
    return problems


def parse_error_status(exc):
    """The status gunicorn's Worker.handle_error gives a parsing error; any other ParseException is 400."""
    statuses = (
        ((http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName), 500),  # the app's fault
        (http_errors.LimitRequestLine, 414),
        (http_errors.LimitRequestHeaders, 431),
        (http_errors.ExpectationFailed, 417),
        (http_errors.UnsupportedTransferCoding, 501),
        (http_errors.ConfigurationProblem, 500),
        (http_errors.ParseException, 400),
    )
    return next((status for kind, status in statuses if isinstance(exc, kind)), 500)


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
        self.outlet = None  # the app handed the connection over for a stream (HAND_OVER)

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


class HandedOver(Exception):  # noqa: N818 (no error: the hand-over happened)
    """Raised past gunicorn's handle_request once the app has handed its connection over: nothing to write."""


class ThreadWorker(gthread.ThreadWorker):
    """gthread whose threads only ever get whole requests; see the module's docstring."""

    settings: AppSettings  # from configure(); run() refuses to start without it

    @classmethod
    def check_config(cls, cfg, log):
        """In the arbiter, before any worker starts: refuse, in one line, what this worker cannot serve."""
        super().check_config(cfg, log)
        problems = unsupported_settings(cfg)
        if problems:
            log.critical("cannot start taskapi.gunicorn_worker.ThreadWorker: " + "; ".join(problems))
            sys.exit(1)

    def configure(self, **settings):
        """What the worker needs of the app (AppSettings' fields): called by post_worker_init."""
        self.settings = AppSettings(**settings)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: deque[tuple[float, Connection]] = deque()  # (deadline, connection), in deadline order
        self.lingering: deque[Lingering] = deque()  # in deadline order
        self.streams: dict[Outlet, Connection] = {}  # handed over, held by the event loop
        self._serving = threading.local()  # the connection a thread is serving, for the hand-over
        self._next_heartbeat = 0.0

    def run(self):
        if getattr(self, "settings", None) is None:
            self.log.critical("taskapi.gunicorn_worker.ThreadWorker was not configured: gunicorn.conf.py's "
                              "post_worker_init must call worker.configure(...)")
            sys.exit(Arbiter.WORKER_BOOT_ERROR)  # the arbiter stops rather than start workers in a loop
        self.read_timeout = self.settings.read_timeout
        self.limits = Limits(line=self.cfg.limit_request_line, headers=HEADERS_LIMIT,
                             chunk_line=self.cfg.limit_request_field_size, body=self.settings.max_body)
        # gunicorn's parser lowers any request-line limit above 8190 bytes to 8190. The event loop has
        # already held each line to the configured limit when the parser sees it, so the parser has none.
        self.cfg.set("limit_request_line", 0)
        self.wsgi = partial(self._offer_hand_over, self.wsgi)  # type: ignore[has-type]
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
        request_id = self.settings.request_id(conn.incoming.field(self.settings.request_id_header))
        self.log.warning("Refused request from ip=%s: %s", _ip(conn.client), status,
                         extra={"request_id": request_id, "status": status})
        self._send(conn.sock, error_answer(self.settings, status, request_id))
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
        if self.streams and not self.alive:
            self._end_streams("shutdown")
        elif self.streams and now >= self._next_heartbeat:
            self._next_heartbeat = now + 1.0
            for outlet in list(self.streams):
                if outlet.heartbeat_seconds and now - outlet.last_write >= outlet.heartbeat_seconds:
                    outlet.send(outlet.heartbeat)

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
        conn.outlet = None
        self._serving.conn = conn
        try:
            return super().handle_request(req, conn)
        except HandedOver:
            return False  # finish_request() gives the connection to the event loop, not back to keep-alive
        finally:
            self._serving.conn = None

    def handle_error(self, req, client, addr, exc):
        """gunicorn's answer to a request it cannot parse (and the app's last resort), in the envelope."""
        status = parse_error_status(exc)
        req = req or getattr(exc, "req", None)
        name = self.settings.request_id_header.upper()
        supplied = next((value for field, value in getattr(req, "headers", ()) if field == name), "")
        request_id = self.settings.request_id(supplied)
        extra = {"request_id": request_id, "status": status}
        if status < 500:
            self.log.warning("Invalid request from ip=%s: %s", _ip(addr), exc, extra=extra)
        else:
            self.log.exception("Error handling request", extra=extra)
        try:
            util.write_nonblock(client, error_answer(self.settings, status, request_id))
        except OSError:
            self.log.debug("Failed to send error message.")

    # Streams handed over (HAND_OVER): the app's thread offers, the event loop holds.

    def _offer_hand_over(self, app, environ, start_response):
        """The app, offered the hand-over. When it takes it and answers 2xx, its head is kept for the event
        loop and HandedOver leaves gunicorn's handle_request without a byte written."""
        conn = self._serving.conn
        offered: list[Outlet] = []

        def hand_over(**options):
            if offered:
                raise RuntimeError("the connection was handed over already")
            offered.append(Outlet(partial(self.method_queue.defer, self._pump), **options))
            return offered[0]

        head: list = []  # [status, header fields] of a handed-over answer

        def starting(status, headers, exc_info=None):
            if offered and status[:1] == "2":
                head[:] = [status, list(headers)]
                return _discard
            return start_response(status, headers, exc_info)

        environ[HAND_OVER] = hand_over
        result = app(environ, starting)
        if not offered:
            return result
        if not head:  # the app answered an error: gunicorn sends it, the outlet never opens
            offered[0].ended = True
            self._call_on_close(offered[0], "refused")
            return result
        if hasattr(result, "close"):
            result.close()
        outlet = offered[0]
        outlet.chunked = environ.get("SERVER_PROTOCOL") == "HTTP/1.1"
        outlet.out += stream_head(head[0], head[1], outlet.chunked)
        conn.outlet = outlet
        raise HandedOver

    def finish_request(self, conn, fs):
        """In the event loop, a thread being done with the connection: a handed-over one becomes a stream."""
        outlet, conn.outlet = conn.outlet, None
        if outlet is None:
            super().finish_request(conn, fs)
            return
        outlet.taken = True
        outlet.last_write = time.monotonic()
        self.streams[outlet] = conn
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._stream_event, outlet))
        self._pump(outlet)

    def _pump(self, outlet):
        """In the event loop: frame what the app sent, write what the socket takes, end a finished stream."""
        if not outlet.taken or outlet.ended:
            return
        data, closing = outlet.take()
        outlet.out += data
        if len(outlet.out) > outlet.max_buffer:
            self._end_stream(outlet, "overflow")
            return
        if closing and outlet.chunked and not outlet.finished:
            outlet.finished = True
            outlet.out += b"0\r\n\r\n"  # the last chunk: the client knows the stream ended, not broke
        if not self._write(outlet):
            return
        if closing and not outlet.out:
            self._end_stream(outlet, "closed")

    def _write(self, outlet):
        """Write what the socket takes now; watch for writability while some waits. False: the stream ended."""
        conn = self.streams[outlet]
        if outlet.out:
            try:
                sent = conn.sock.send(outlet.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._end_stream(outlet, "client")
                return False
            del outlet.out[:sent]
            if sent:
                outlet.last_write = time.monotonic()
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if outlet.out else 0)
        if self.poller.get_key(conn.sock).events != events:
            self.poller.modify(conn.sock, events, partial(self._stream_event, outlet))
        return True

    def _stream_event(self, outlet, _sock):
        """The stream's socket is readable (the client hung up, or sent what nobody reads) or writable."""
        if outlet.ended:
            return
        conn = self.streams[outlet]
        try:
            data = conn.sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            data = b""
        if data == b"":
            self._end_stream(outlet, "client")
            return
        if data:
            outlet.received += len(data)
            if outlet.received > STREAM_RECEIVE_LIMIT:
                self._end_stream(outlet, "client")
                return
        self._pump(outlet)

    def _end_stream(self, outlet, reason):
        outlet.ended = True
        conn = self.streams.pop(outlet)
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        if reason == "shutdown" and outlet.out:
            self._send(conn.sock, bytes(outlet.out))  # what the socket takes now; nobody waits for the rest
        self.nr_conns -= 1
        util.close(conn.sock)
        self._call_on_close(outlet, reason)

    def _call_on_close(self, outlet, reason):
        try:
            outlet.on_close(reason)
        except Exception:
            self.log.exception("A stream's on_close failed")

    def _end_streams(self, reason):
        for outlet in list(self.streams):
            data, _ = outlet.take()
            outlet.out += data
            if outlet.chunked and not outlet.finished:
                outlet.out += b"0\r\n\r\n"  # an end, not a break: the client reconnects as after any end
            self._end_stream(outlet, reason)

    def handle_exit(self, sig, frame):
        """SIGTERM: gthread stops accepting and waits for connections; open streams end at once."""
        alive = self.alive
        super().handle_exit(sig, frame)
        if alive:
            self.method_queue.defer(self._end_streams, "shutdown")


def _discard(data):
    raise RuntimeError("a handed-over answer's body goes through its Outlet")


def _ip(addr):
    return addr[0] if isinstance(addr, tuple) else addr
