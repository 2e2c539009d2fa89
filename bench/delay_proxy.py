"""A TCP proxy that holds every chunk for a fixed time each way: PostgreSQL as if on another machine.

`python -m bench.delay_proxy --port P --target T --one-way-ms 0.5` forwards 127.0.0.1:P to
127.0.0.1:T, sending each chunk read from either side on once `one-way-ms` has passed since it
arrived, in order. A round trip through it takes twice that longer. The bench runs it pinned to the
load core, so the delay costs the server's core nothing, as a network would not.

This kernel has no netem qdisc (tc's usual way to delay packets), hence a proxy. One thread and
select() suffice: select's timeout has microsecond resolution (epoll's and poll's have milliseconds),
so a delay of half a millisecond stays half a millisecond.
"""

import argparse
import collections
import contextlib
import ctypes
import select
import socket
import time

PR_SET_TIMERSLACK = 29  # prctl option, from <linux/prctl.h>
IDLE_POLL = 0.1  # seconds between looks at the stop event


def _nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as libpq sets it: no Nagle on either leg
    return sock


class DelayProxy:
    def __init__(self, port, target_port, one_way_seconds):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.delay = one_way_seconds
        self.peer = {}  # each socket → the one its bytes go to
        self.queued = {}  # each socket → deque of (when due, bytes) to send to it; None closes it
        self.reading = set()  # sockets not at end of file yet

    def _accept(self):
        client, _ = self.listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        for one, other in ((_nodelay(client), _nodelay(upstream)), (upstream, client)):
            self.peer[one] = other
            self.queued[one] = collections.deque()
            self.reading.add(one)

    def _close(self, sock):
        for one in (sock, self.peer.get(sock)):
            if one in self.peer:
                del self.peer[one], self.queued[one]
                self.reading.discard(one)
                one.close()

    def _read(self, sock, now):
        try:
            data = sock.recv(262144)
        except OSError:
            data = b""
        if not data:
            self.reading.discard(sock)
        self.queued[self.peer[sock]].append((now + self.delay, data or None))

    def _send_due(self):
        now = time.monotonic()
        for sock, queue in list(self.queued.items()):
            while sock in self.queued and queue and queue[0][0] <= now:
                data = queue.popleft()[1]
                if data is None:
                    self._close(sock)
                    break
                try:
                    sock.sendall(data)
                except OSError:
                    self._close(sock)

    def close(self):
        for sock in [self.listener, *self.peer]:
            sock.close()

    def _timeout(self):
        due = [queue[0][0] for queue in self.queued.values() if queue]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def serve_forever(self, stop=None):
        """Forward until `stop` (a threading.Event) is set; without one, until killed."""
        while stop is None or not stop.is_set():
            timeout = self._timeout()
            if stop is not None:
                timeout = min(timeout if timeout is not None else IDLE_POLL, IDLE_POLL)
            readable, _, _ = select.select([self.listener, *self.reading], [], [], timeout)
            now = time.monotonic()
            for sock in readable:
                if sock is self.listener:
                    self._accept()
                elif sock in self.reading:
                    self._read(sock, now)
            self._send_due()


def _tight_timers():
    """Wake select() within a microsecond of its timeout rather than Linux's default 50 µs of slack."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: default slack
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    parser.add_argument("--target", type=int, required=True, help="forward to 127.0.0.1:TARGET")
    parser.add_argument("--one-way-ms", type=float, required=True, help="delay each way, milliseconds")
    args = parser.parse_args()
    _tight_timers()
    DelayProxy(args.port, args.target, args.one_way_ms / 1000).serve_forever()


if __name__ == "__main__":
    main()
