"""Logging: one JSON object a line in production, with the request's id and timing."""

import io
import json
import logging

from taskapi import logs


def test_json_lines_carry_request_fields(make_app):
    app = make_app(LOG_JSON=True)
    stream = io.StringIO()
    handler = logs.handler(json_lines=True)
    handler.setStream(stream)
    logging.getLogger().addHandler(handler)
    try:
        app.test_client().get("/health/live", headers={"X-Request-ID": "req-42", "X-Forwarded-For": "203.0.113.9"})
    finally:
        logging.getLogger().removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(r for r in records if r["logger"] == "taskapi.access")
    assert access["request_id"] == "req-42"
    assert access["method"] == "GET" and access["path"] == "/health/live" and access["status"] == 200
    assert access["duration_ms"] >= 0 and access["level"] == "INFO" and access["timestamp"]
    assert access["client"] == "127.0.0.1"  # X-Forwarded-For is not believed with TRUSTED_PROXIES=0


def test_client_address_from_trusted_proxy(make_app, caplog):
    app = make_app(TRUSTED_PROXIES=1)
    with caplog.at_level(logging.INFO, logger="taskapi.access"):
        app.test_client().get("/health/live", headers={"X-Forwarded-For": "203.0.113.9"})
    assert caplog.records[-1].client == "203.0.113.9"


def test_text_lines_in_development():
    formatter = logs.handler(json_lines=False).formatter
    record = logging.LogRecord("taskapi", logging.INFO, __file__, 1, "hello", None, None)
    record.request_id = None
    assert "hello" in formatter.format(record) and not formatter.format(record).startswith("{")
