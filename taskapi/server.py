"""What the HTTP server's worker is told about the app: its limits, and how an answer it makes itself looks."""

import json

from taskapi import requestid
from taskapi.errors import ApiError, envelope
from taskapi.headers import HSTS, SECURITY_HEADERS


def worker_settings(app):
    """The keyword arguments of taskapi.gunicorn_worker.ThreadWorker.configure() for `app` (gunicorn.conf.py).

    The worker answers 408, 414, 431, 400, 417, 501 before the app sees the request: with the envelope,
    the request id, the security headers and no-store, as the app answers an error.
    """
    fields = {"Content-Type": "application/json", "Cache-Control": "no-store", **SECURITY_HEADERS}
    if app.config["HSTS"]:
        fields["Strict-Transport-Security"] = HSTS

    def error_answer(status, request_id):
        return json.dumps(envelope(ApiError(status), request_id)).encode(), fields

    return {
        "read_timeout": app.config["REQUEST_READ_TIMEOUT"],
        "max_body": app.config["MAX_CONTENT_LENGTH"],
        "request_id_header": requestid.HEADER,
        "request_id": requestid.from_client,
        "error_answer": error_answer,
    }
