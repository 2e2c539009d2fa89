"""Stream helpers: tickets through the API, streams read through the test client, events parsed."""

import json
import time

STREAM = "/api/v1/stream"
TICKET = "/api/v1/stream/ticket"


def ticket(client, auth):
    response = client.post(TICKET, headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"ticket", "expires_in"} and body["expires_in"] == 60
    return body["ticket"]


class Reader:
    """An open stream read chunk by chunk (each chunk is one event, comment or heartbeat)."""

    def __init__(self, response):
        assert response.status_code == 200, response.get_data()
        self.response = response
        self.chunks = iter(response.response)

    def next(self):
        chunk = next(self.chunks)
        return chunk.decode() if isinstance(chunk, bytes) else chunk

    def next_event(self, timeout=5):
        """The next `event:` (name, data), skipping comments, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.next()
            if chunk.startswith("event: "):
                return parse(chunk)
        raise AssertionError("no event within the timeout")

    def close(self):
        self.response.close()


def parse(chunk):
    lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n") if not line.startswith(":"))
    return lines["event"], json.loads(lines["data"])


def open_stream(client, auth):
    return Reader(client.get(STREAM, query_string={"ticket": ticket(client, auth)}, buffered=False))
