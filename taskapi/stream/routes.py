"""/api/v1/stream: live updates as server-sent events, opened with a single-use ticket."""

import queue
import time

from flask import current_app, g, request
from flask_jwt_extended import current_user, get_jwt

from taskapi import logs
from taskapi.api import Blueprint
from taskapi.auth.tokens import SESSION_CLAIM
from taskapi.gunicorn_worker import HAND_OVER
from taskapi.requestid import request_id
from taskapi.stream import hub as hubs
from taskapi.stream import streams, tickets
from taskapi.stream.schemas import TicketQuerySchema, TicketSchema

blp = Blueprint("stream", __name__, url_prefix="/api/v1/stream",
                description="Live updates: which lists changed, as server-sent events.")
GAUGE = "taskapi-open-streams"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_BUFFER = 64 * 1024  # bytes waiting for a client that does not read, then it is dropped
EVENT_STREAM = {"description": (
    "Server-sent events: `retry:` and a comment first; `event: changed` with `data: {\"lists\": [ids]}` when "
    "lists the caller can see change (then read the change feed); a comment line every "
    "STREAM_HEARTBEAT_SECONDS; `event: revoked` and the end when the ticket's session ends."),
    "schema": {"type": "string"}}


@blp.post("/ticket")
@blp.authenticated()
@blp.response(200, TicketSchema)
@blp.errors(500, 503)
def create_stream_ticket():
    """A single-use ticket (60 s) to open a stream: EventSource cannot send an Authorization header."""
    return tickets.issue(current_user, get_jwt()[SESSION_CLAIM])


@blp.get("")
@blp.arguments(TicketQuerySchema, location="query")
@blp.response(200, content_type="text/event-stream", description=EVENT_STREAM["description"])
@blp.errors(401, 429, 500, 503)
def open_stream(args):
    """Live updates of the caller's lists (text/event-stream), with a ticket from POST /api/v1/stream/ticket."""
    stream = streams.open_stream(args["ticket"])
    hub = hubs.hub(current_app)
    gauge = current_app.extensions[GAUGE]
    line = (request.method, request.path, 200, logs.started_at(), request.remote_addr, request_id())
    g.setdefault(logs.LOGGED_AT_END, True)
    ended: list[bool] = []

    def on_close(_reason=None):
        if ended:
            return
        ended.append(True)
        stream.ended = True
        hub.remove(stream)
        gauge.dec()
        logs.log_access(*line)

    gauge.inc()
    heartbeat_seconds = current_app.config["STREAM_HEARTBEAT_SECONDS"]
    hand_over = request.environ.get(HAND_OVER)
    if hand_over is not None and request.method == "GET":
        # gunicorn: the worker's event loop holds the stream; this thread is free once the view returns.
        stream.sink = hand_over(on_close=on_close, heartbeat=hubs.HEARTBEAT, heartbeat_seconds=heartbeat_seconds,
                                max_buffer=MAX_BUFFER)
        stream.sink.send(hubs.OPENING)
        hub.add(stream)
        return current_app.response_class(b"", mimetype="text/event-stream", headers=STREAM_HEADERS)
    # `flask run` and the test client: the stream holds this thread, reading what the hub sends.
    sink = QueueSink()
    stream.sink = sink
    hub.add(stream)
    return current_app.response_class(Events(sink, heartbeat_seconds, on_close), mimetype="text/event-stream",
                                      headers=STREAM_HEADERS)


class QueueSink:
    """Where the hub sends a stream's events when no worker holds it: a queue its response reads."""

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def send(self, data):
        self.queue.put(data)

    def close(self):
        self.queue.put(None)


class Events:
    """The body of a stream served from a thread: the opening, then the hub's events and heartbeats.
    close() (the server's, when the client went away or the body ended) ends the stream once."""

    def __init__(self, sink, heartbeat_seconds, on_close):
        self.sink = sink
        self.heartbeat_seconds = heartbeat_seconds
        self.on_close = on_close
        self.opened = False
        self.done = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.done:
            raise StopIteration
        if not self.opened:
            self.opened = True
            return hubs.OPENING
        deadline = time.monotonic() + self.heartbeat_seconds
        try:
            data = self.sink.queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return hubs.HEARTBEAT
        if data is None:
            self.close()
            raise StopIteration
        return data

    def close(self):
        self.done = True
        self.on_close()
