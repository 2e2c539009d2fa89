"""X-Request-ID: taken from the client when well-formed, otherwise made, always echoed."""

import re
import uuid

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id():
    """This request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = from_client(request.headers.get(HEADER, ""))
    return rid


def from_client(supplied):
    """The id of a request whose X-Request-ID says `supplied` ("" when absent): it, when well-formed."""
    return supplied if _VALID.fullmatch(supplied) else uuid.uuid4().hex[:16]


def _echo(response):
    response.headers[HEADER] = request_id()
    return response


def init_app(app):
    app.after_request(_echo)
