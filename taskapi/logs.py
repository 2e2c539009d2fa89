"""Logging: JSON lines on stdout in production, readable text in development."""

import logging
import re
import sys
import time

from flask import g, request
from pythonjsonlogger.orjson import OrjsonFormatter

from taskapi.requestid import request_id

access_log = logging.getLogger("taskapi.access")
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request it was logged in."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


class JsonFormatter(OrjsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, request_id, extras."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "timestamp")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record.setdefault("request_id", getattr(record, "request_id", None))


class DevServerLines(logging.Filter):
    """`flask run` logs each request again, in colour: taskapi's own line (with the request id) is enough,
    and its other lines lose their colour codes, which a log file shows as noise."""

    def filter(self, record):
        if record.name != "werkzeug":
            return True
        if " - - [" in str(record.msg):
            return False
        record.msg = ANSI_CODES.sub("", str(record.msg))
        return True


def handler(json_lines):
    """The handler every taskapi and gunicorn logger writes through.

    JSON lines go to stdout (production: the PaaS collects them). Text goes to stderr, so
    that a command's own output on stdout stays clean: `flask openapi print > openapi.json`.
    """
    stream = logging.StreamHandler(sys.stdout if json_lines else sys.stderr)
    stream.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    stream.addFilter(RequestIdFilter())
    stream.addFilter(DevServerLines())
    return stream


def configure(level="INFO", json_lines=True):
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "taskapi", False):
            root.removeHandler(old)
    new = handler(json_lines)
    new.taskapi = True
    root.addHandler(new)
    root.setLevel(level)
    # alembic announces each of its plugins at INFO whenever a command loads it.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _start_timer():
    g.started_at = time.perf_counter()


LOGGED_AT_END = "access_logged_at_end"  # g: the request's line is written when its answer ends (a stream)


def _log_request(response):
    if g.pop(LOGGED_AT_END, False):
        return response
    started = g.pop("started_at", None)
    log_access(request.method, request.path, response.status_code, started, request.remote_addr)
    return response


def started_at():
    """When this request began (perf_counter), for a line written after it: see log_access."""
    return g.get("started_at")


def log_access(method, path, status, started, client, request_id=None):
    """The one line of a request, with its duration since `started` (perf_counter). Outside the request
    (a stream's end) its id is given."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    extra = {"method": method, "path": path, "status": status, "duration_ms": duration_ms, "client": client}
    if request_id is not None:
        extra["request_id"] = request_id
    access_log.info("%s %s %s", method, path, status, extra=extra)


def init_app(app):
    configure(app.config["LOG_LEVEL"], app.config["LOG_JSON"])
    app.before_request(_start_timer)
    app.after_request(_log_request)
