"""The error envelope, and the handlers that give it to every error from every layer."""

import logging

from flask import jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from taskapi.requestid import request_id

log = logging.getLogger(__name__)

# status → (code, message) for errors raised without a more specific code.
DEFAULTS = {
    400: ("bad_request", "The request is malformed."),
    401: ("token_missing", "Authentication is required."),
    404: ("not_found", "The requested resource was not found."),
    405: ("method_not_allowed", "The method is not allowed for this resource."),
    409: ("conflict", "The request conflicts with the current state."),
    410: ("cursor_expired", "The cursor is too old; sync again from the start."),
    412: ("precondition_failed", "The resource has changed since it was read."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body must be JSON (Content-Type: application/json)."),
    422: ("validation_error", "The request is not valid."),
    429: ("rate_limited", "Too many requests; retry later."),
    500: ("internal_error", "An unexpected error occurred."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}

VALIDATION_MESSAGES = {
    "json": "The request body is not valid.",
    "query": "The query parameters are not valid.",
    "headers": "The request headers are not valid.",
}


class ApiError(Exception):
    """An error answered with the envelope: raise it from anywhere under a request."""

    def __init__(self, status, code=None, message=None, errors=None, headers=None):
        default_code, default_message = DEFAULTS.get(status, DEFAULTS[500])
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.errors = errors
        self.headers = headers or {}


def api_error_response(error):
    body = {"status": error.status, "code": error.code, "message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    body["request_id"] = request_id()
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _flatten(messages):
    """Nested marshmallow messages (list items, nested schemas) → one list of strings."""
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, (list, tuple)):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def _validation_error(exc):
    """webargs stores marshmallow's messages by location on the exception's data."""
    messages = exc.data.get("messages", {})
    errors = {
        location: {field: _flatten(msgs) for field, msgs in fields.items()}
        for location, fields in messages.items()
    }
    location = next(iter(errors), "json")
    return ApiError(422, message=VALIDATION_MESSAGES.get(location), errors=errors)


def handle_http_exception(exc):
    data = getattr(exc, "data", None)
    if exc.code == 422 and data and "messages" in data:
        return api_error_response(_validation_error(exc))
    status = exc.code or 500
    headers = {}
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 500:
        # Flask wraps an unhandled exception in InternalServerError.
        return handle_unexpected(getattr(exc, "original_exception", None) or exc)
    return api_error_response(ApiError(status, headers=headers))


def handle_database_unavailable(exc):
    if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
        log.error("database unavailable: %s", exc.__class__.__name__)
        return api_error_response(ApiError(503))
    return handle_unexpected(exc)


def handle_unexpected(exc):
    log.error("unhandled exception", exc_info=exc)
    return api_error_response(ApiError(500))


def init_app(app):
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
