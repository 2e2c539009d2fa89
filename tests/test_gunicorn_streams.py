"""The worker's handed-over streams in its event loop, on real sockets: framing, the end, hang-ups, and a
client that does not read. tests/test_gunicorn_server.py serves them in real gunicorn."""

import logging
import selectors
import socket
from functools import partial
from types import SimpleNamespace

import pytest

from taskapi.gunicorn_worker import Outlet, ThreadWorker, frame, stream_head


class Loop:
    """A ThreadWorker's stream-holding parts without gunicorn's process around them: the poller, the streams,
    and the wake-ups the method queue would run, run here by hand."""

    def __init__(self):
        self.worker = ThreadWorker.__new__(ThreadWorker)
        self.worker.poller = selectors.DefaultSelector()
        self.worker.streams = {}
        self.worker.nr_conns = 0
        self.worker.log = logging.getLogger("test")
        self.deferred = []
        self.closed = []

    def outlet(self, **options):
        return Outlet(lambda outlet: self.deferred.append(partial(self.worker._pump, outlet)),
                      on_close=self.closed.append, **options)

    def take_over(self, outlet, chunked=True):
        """What the app's thread and finish_request() do: the head, then the socket to the event loop."""
        ours, theirs = socket.socketpair()
        outlet.chunked = chunked
        outlet.out += stream_head("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", "0")],
                                  chunked)
        conn = SimpleNamespace(sock=ours, outlet=outlet)
        self.worker.nr_conns += 1
        self.worker.finish_request(conn, None)
        return theirs

    def run(self, rounds=5):
        """Run the deferred wake-ups and any socket events, as the event loop would."""
        for _ in range(rounds):
            pending, self.deferred = self.deferred, []
            for callback in pending:
                callback()
            for key, _ in self.worker.poller.select(timeout=0):
                key.data(key.fileobj)


def read_all(sock):
    sock.settimeout(2)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_stream_is_framed_in_chunks_and_ends_with_the_last_chunk():
    loop = Loop()
    outlet = loop.outlet()
    outlet.send(b"retry: 3000\n\n")  # before the event loop holds it: kept
    client = loop.take_over(outlet)
    outlet.send(b"event: changed\ndata: {}\n\n")
    outlet.close()
    assert outlet.send(b"too late") is False
    loop.run()
    data = read_all(client)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Connection: close" in head
    assert b"Content-Length" not in head  # the app's framing is the worker's to decide
    assert body == frame(b"retry: 3000\n\n", True) + frame(b"event: changed\ndata: {}\n\n", True) + b"0\r\n\r\n"
    assert loop.closed == ["closed"] and loop.worker.streams == {} and loop.worker.nr_conns == 0


def test_over_http_1_0_the_close_ends_the_stream():
    loop = Loop()
    outlet = loop.outlet()
    client = loop.take_over(outlet, chunked=False)
    outlet.send(b": open\n\n")
    outlet.close()
    loop.run()
    head, _, body = read_all(client).partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and body == b": open\n\n"


def test_a_client_hanging_up_ends_the_stream_at_once():
    loop = Loop()
    outlet = loop.outlet()
    client = loop.take_over(outlet)
    loop.run(1)
    client.close()
    loop.run(2)
    assert loop.closed == ["client"] and outlet.ended
    assert outlet.send(b"after") is True  # the app may still send: nothing happens
    loop.run(1)
    assert loop.closed == ["client"]


def test_a_client_that_does_not_read_is_dropped_once_its_buffer_is_full():
    loop = Loop()
    outlet = loop.outlet(max_buffer=4096)
    client = loop.take_over(outlet)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sent = 0
    while not loop.closed and sent < 100_000:  # the kernel's buffers fill first, then the outlet's
        outlet.send(b"event: changed\ndata: {\"lists\": [1]}\n\n")
        sent += 1
        loop.run(1)
    assert loop.closed == ["overflow"]
    assert loop.worker.streams == {} and loop.worker.nr_conns == 0
    client.close()


@pytest.mark.parametrize("seconds, expected", [(0.0, 0), (60.0, 1)])
def test_heartbeats_go_to_streams_idle_for_their_interval(seconds, expected, monkeypatch):
    loop = Loop()
    loop.worker.alive = True
    loop.worker.reading = []
    loop.worker.lingering = []
    loop.worker._next_heartbeat = 0.0
    monkeypatch.setattr("gunicorn.workers.gthread.ThreadWorker.murder_pending", lambda self: None)
    outlet = loop.outlet(heartbeat=b": keep-alive\n\n", heartbeat_seconds=15)
    client = loop.take_over(outlet)
    loop.run(1)
    outlet.last_write -= seconds
    loop.worker.murder_pending()
    loop.run(1)
    client.settimeout(0.2)
    data = client.recv(65536)
    assert data.count(b": keep-alive") == expected
    client.close()


def test_shutdown_ends_every_stream():
    loop = Loop()
    outlets = [loop.outlet() for _ in range(3)]
    clients = [loop.take_over(outlet) for outlet in outlets]
    loop.run(1)
    loop.worker._end_streams("shutdown")
    assert loop.closed == ["shutdown"] * 3 and loop.worker.nr_conns == 0
    for client in clients:
        data = read_all(client)
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\n0\r\n\r\n")
