"""A server-sent-events client on a plain socket: the answer's head, then its chunks as they come."""

import json
import socket
import time


class StreamClient:
    """GET /api/v1/stream?ticket=… on a connection of its own; reads the head at once."""

    def __init__(self, port, ticket, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(f"GET /api/v1/stream?ticket={ticket} HTTP/1.1\r\nHost: {host}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.buffer = b""
        self.closed = False
        while b"\r\n\r\n" not in self.buffer:
            self._receive(time.monotonic() + timeout)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.text = ""  # event-stream text received, not yet taken
        self.ended = False  # the last chunk came
        if "content-length" in self.headers:  # an error answer
            length = int(self.headers["content-length"])
            while len(self.buffer) < length:
                self._receive(time.monotonic() + timeout)
            self.body = json.loads(self.buffer[:length])

    def _receive(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            raise EOFError("the server closed the stream")
        self.buffer += data

    def _unframe(self):
        while self.chunked and not self.ended:
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.buffer[:line_end], 16)
            if len(self.buffer) < line_end + 2 + size + 2:
                return
            self.text += self.buffer[line_end + 2 : line_end + 2 + size].decode()
            self.buffer = self.buffer[line_end + 2 + size + 2 :]
            self.ended = size == 0
        if not self.chunked:
            self.text += self.buffer.decode()
            self.buffer = b""

    def next_block(self, timeout=5):
        """The next block of lines (an event, or comments), as text; EOFError when the stream ends first."""
        deadline = time.monotonic() + timeout
        self._unframe()
        while "\n\n" not in self.text:
            if self.ended:
                raise EOFError("the stream ended")
            self._receive(deadline)
            self._unframe()
        block, _, self.text = self.text.partition("\n\n")
        return block + "\n\n"

    def next_event(self, timeout=5):
        """The next (event, data), skipping comments and `retry:`."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_block(max(0.01, deadline - time.monotonic()))
            fields = dict(line.split(": ", 1) for line in block.strip().split("\n") if not line.startswith(":")
                          and ": " in line)
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])

    def wait_closed(self, timeout=5):
        """Read until the server closes the connection; True when it did within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._unframe()
                self._receive(deadline)
        except EOFError:
            return True
        except OSError:
            return self.closed
        return False

    def close(self):
        self.sock.close()
