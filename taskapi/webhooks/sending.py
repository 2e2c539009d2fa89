"""Sending webhook attempts over HTTP: a few threads per process, connections kept alive, each attempt bounded.

Every attempt checks its URL again (taskapi.webhooks.addresses: the scheme, and each address the
host resolves to) and is sent over a connection to one of the addresses checked: a connection kept
from an earlier attempt is used only when its peer is one of them, so a host that resolves
elsewhere now (DNS rebinding) gets a new, checked connection. Keeping connections alive spares
each delivery a TCP (and TLS) handshake when a list's events go to one endpoint in a row.

Bounds: an attempt ends WEBHOOK_TIMEOUT after it starts, whatever the endpoint does (the thread
that waits for the batch shuts the socket of an attempt past its time, which wakes a blocked
read); at most RESPONSE_READ_MAX bytes of an answer are read; redirects are not followed. A batch
starts attempts only during its first WEBHOOK_TIMEOUT, and not to an endpoint that has already
failed to answer in it: the rest are given back unsent (None), so a batch of hanging endpoints
holds the background thread for at most two WEBHOOK_TIMEOUTs.
"""

import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from taskapi.webhooks import addresses
from taskapi.webhooks.models import ERROR_MAX

SENDERS = 4  # threads sending a batch's attempts
RESPONSE_READ_MAX = 64 * 1024
KEEP_IDLE = 4.0  # seconds an unused connection is kept: less than common servers' keep-alive timeouts
TICK = 0.1  # how often the waiting thread looks for attempts past their time (only while some are under way)
USER_AGENT = "taskapi-webhooks"


@dataclass(frozen=True)
class Attempt:
    """What one attempt sends: everything the sending thread needs, no database."""

    event_id: int
    webhook_id: int
    url: str
    headers: dict
    body: str
    timeout: float
    allow_http: bool


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def success(self):
        return self.status_code is not None and 200 <= self.status_code < 300


class _Connection(http.client.HTTPConnection):
    """http.client on a socket already connected (to a checked address): it never resolves or connects itself."""

    def __init__(self, sock, target, timeout):
        super().__init__(target.host, target.port, timeout=timeout)
        self.sock = sock
        self.peer = sock.getpeername()[0]
        self.idle_since = time.monotonic()

    def connect(self):  # pragma: no cover - the socket is given; a reconnect would be a second request
        raise http.client.NotConnected("no reconnection")


class _Idle:
    """Connections not in use, by origin; each is taken by one attempt at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_origin = defaultdict(list)

    def take(self, origin, peers):
        """A kept connection to `origin` whose peer is one of `peers` (the addresses checked just now), or None."""
        with self._lock:
            kept = self._by_origin.get(origin, [])
            while kept:
                connection = kept.pop()
                if connection.peer in peers and time.monotonic() - connection.idle_since < KEEP_IDLE:
                    return connection
                connection.close()
        return None

    def give_back(self, origin, connection):
        connection.idle_since = time.monotonic()
        with self._lock:
            self._by_origin[origin].append(connection)

    def close_stale(self):
        """Close the connections unused for KEEP_IDLE (the endpoint may have closed its end already)."""
        with self._lock:
            for origin, kept in list(self._by_origin.items()):
                fresh = [c for c in kept if time.monotonic() - c.idle_since < KEEP_IDLE]
                for connection in kept:
                    if connection not in fresh:
                        connection.close()
                if fresh:
                    self._by_origin[origin] = fresh
                else:
                    del self._by_origin[origin]


class _Sending:
    """One attempt under way: when it must end, and the socket to shut when it does not."""

    def __init__(self, attempt):
        self.attempt = attempt
        self.deadline = None
        self.sock = None
        self.cut = threading.Event()
        self._lock = threading.Lock()

    def begin(self):
        self.deadline = time.monotonic() + self.attempt.timeout

    def use(self, sock):
        with self._lock:
            self.sock = sock
        if self.cut.is_set():
            self._shut(sock)

    def stop(self):
        """Past its time: shut its socket, which wakes a blocked read or write."""
        self.cut.set()
        with self._lock:
            sock = self.sock
        if sock is not None:
            self._shut(sock)

    @staticmethod
    def _shut(sock):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, for a TLS one too


class Senders:
    """The process's sending threads and kept connections (made at first use in each process: none survive a fork)."""

    def __init__(self):
        self._pid = None
        self._pool = None
        self._idle = None
        self._lock = threading.Lock()

    def _ready(self):
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._pool = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="taskapi-webhook")
                self._idle = _Idle()
        return self._pool, self._idle

    def send(self, attempts):
        """Send the attempts (None entries are skipped); an Outcome for each, or None for one not sent (see above)."""
        pool, idle = self._ready()
        started = time.monotonic()
        start_by = started + max((a.timeout for a in attempts if a is not None), default=0)
        silent = set()  # origins that did not answer in this batch
        under_way = [_Sending(attempt) if attempt is not None else None for attempt in attempts]

        def run(sending):
            origin = _origin(sending.attempt.url)
            if time.monotonic() > start_by or origin in silent:
                return None
            sending.begin()
            outcome = _post(sending, idle)
            if outcome.status_code is None:
                silent.add(origin)
            return outcome

        futures = [pool.submit(run, sending) if sending is not None else None for sending in under_way]
        pending = {future for future in futures if future is not None}
        while pending:
            _, pending = wait(pending, timeout=TICK)
            now = time.monotonic()
            for sending in under_way:
                if sending is not None and sending.deadline is not None and now >= sending.deadline:
                    sending.stop()
        idle.close_stale()
        return [future.result() if future is not None else None for future in futures]


def _origin(url):
    """scheme://host:port of a URL: what a kept connection is kept for."""
    return "/".join(url.split("/", 3)[:3])


def _connect(target, deadline):
    """A socket connected to the first of the target's checked addresses that answers, by the deadline."""
    error = None
    for address in target.addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            sock.connect((address, target.port))
            # As http.client's own connect() does: a request's head and body go in two writes, and Nagle's
            # algorithm would hold the body back until the head's ACK, which the endpoint may delay by 40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def _open(target, sending):
    sock = _connect(target, sending.deadline)
    if target.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
    return _Connection(sock, target, sending.attempt.timeout)


def _exchange(connection, target, sending):
    """POST the attempt on the connection and read (a bounded part of) the answer: (status, whether it can be kept)."""
    attempt = sending.attempt
    sending.use(connection.sock)
    connection.sock.settimeout(max(sending.deadline - time.monotonic(), 0.01))
    data = attempt.body.encode()
    connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Host": target.host_header, "Content-Type": "application/json",
                        "Content-Length": str(len(data)), "User-Agent": USER_AGENT, **attempt.headers}.items():
        connection.putheader(name, value)
    connection.endheaders(data)
    response = connection.getresponse()
    response.read(RESPONSE_READ_MAX)  # what it says matters not; more than this is left unread
    keep = response.isclosed() and not response.will_close and connection.sock is not None
    return response.status, keep


def _post(sending, idle):
    """Send one attempt; its outcome. Never raises: whatever goes wrong is the outcome's error."""
    attempt = sending.attempt
    started = time.monotonic()
    connection = None

    def outcome(status_code=None, error=None):
        duration = int((time.monotonic() - started) * 1000)
        if error and sending.cut.is_set():
            error = f"no answer within {attempt.timeout:g} s"
        return Outcome(status_code, error[:ERROR_MAX] if error else None, duration)

    try:
        target = addresses.resolve(attempt.url, attempt.allow_http)
        origin = _origin(attempt.url)
        connection = idle.take(origin, target.addresses)
        if connection is not None:
            try:
                status, keep = _exchange(connection, target, sending)
            except (ConnectionError, http.client.RemoteDisconnected):
                # The endpoint closed the kept connection before this request reached it: once more on a new one.
                connection.close()
                connection = None
                if sending.cut.is_set():
                    raise
        if connection is None:
            connection = _open(target, sending)
            if sending.cut.is_set():
                return outcome(error="timed out")
            status, keep = _exchange(connection, target, sending)
        if keep:
            idle.give_back(origin, connection)
            connection = None
        if 300 <= status < 400:
            return outcome(status, f"redirect ({status}) not followed")
        if not 200 <= status < 300:
            return outcome(status, f"answered {status}")
        return outcome(status)
    except addresses.RefusedURLError as exc:
        return outcome(error=f"refused: {exc}")
    except TimeoutError:
        return outcome(error=f"no answer within {attempt.timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return outcome(error=f"{exc.__class__.__name__}: {exc}".strip().rstrip(":"))
    finally:
        if connection is not None:
            connection.close()


senders = Senders()
