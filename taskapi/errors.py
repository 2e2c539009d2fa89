"""The error envelope, and the handlers that give it to every error from every layer."""

import logging
import re

from flask import jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from taskapi import exceptions, metrics
from taskapi.requestid import request_id

log = logging.getLogger(__name__)

# status → (code, message) for errors raised without a more specific code.
DEFAULTS = {
    400: ("bad_request", "The request is malformed."),
    401: ("token_missing", "Authentication is required."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "The requested resource was not found."),
    405: ("method_not_allowed", "The method is not allowed for this resource."),
    408: ("request_timeout", "The request was not received in time."),
    409: ("conflict", "The request conflicts with the current state."),
    410: ("cursor_expired", "The cursor is too old; sync again from the start."),
    412: ("precondition_failed", "The resource has changed since it was read."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request line (the URL) is too long."),
    415: ("unsupported_media_type", "The request body must be JSON (Content-Type: application/json)."),
    417: ("expectation_failed", "The only expectation the service meets is Expect: 100-continue."),
    422: ("validation_error", "The request is not valid."),
    429: ("rate_limited", "Too many requests; retry later."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal_error", "An unexpected error occurred."),
    501: ("not_implemented", "The request uses a transfer coding the service does not support."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}

# Every code an answer can carry: the defaults above and those raised with a reason of their own.
# The OpenAPI document's ErrorCode enum; tests/test_openapi.py finds every code the service raises in it.
CODES = (
    *dict.fromkeys(code for code, _ in DEFAULTS.values()),
    "invalid_reset_token",
    "token_invalid",
    "token_expired",
    "token_revoked",
    "wrong_token_type",
    "invalid_credentials",
    "account_disabled",
    "email_taken",
    "idempotency_conflict",
    "too_many_tasks",
)

# RFC 6750 §3: a 401 from a protected resource challenges for a bearer token, and says
# error="invalid_token" when one was presented and refused (expired, revoked, malformed).
BEARER_CHALLENGE = 'Bearer realm="taskapi"'
INVALID_TOKEN_CHALLENGE = BEARER_CHALLENGE + ', error="invalid_token"'

VALIDATION_MESSAGES = {
    "json": "The request body is not valid.",
    "query": "The query parameters are not valid.",
    "headers": "The request headers are not valid.",
}


class ApiError(Exception):
    """An error answered with the envelope: raise it from anywhere under a request."""

    def __init__(self, status, code=None, message=None, errors=None, headers=None, cause=None):
        default_code, default_message = DEFAULTS.get(status, DEFAULTS[500])
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.errors = errors
        self.headers = headers or {}
        if status == 401 and code is None:  # token_missing: no token came with the request
            self.headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
        self.cause = cause  # why a 503 happened: its label in /metrics


def envelope(error, request_id):
    """The body of an error answer."""
    body = {"status": error.status, "code": error.code, "message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    body["request_id"] = request_id
    return body


def api_error_response(error):
    if error.status == 503:
        metrics.count_unavailable(error.cause or "other")
    response = jsonify(envelope(error, request_id()))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _domain_error(exc):
    """The envelope's words for what a service refused (taskapi.exceptions): the one place they meet HTTP."""
    message = exc.message
    if isinstance(exc, exceptions.NotFoundError):
        return ApiError(404, message=message)
    if isinstance(exc, exceptions.VersionMismatchError):
        return ApiError(412, message=message)
    if isinstance(exc, exceptions.LimitReachedError):
        return ApiError(409, exc.reason, message)
    if isinstance(exc, exceptions.IdempotencyConflictError):
        return ApiError(409, "idempotency_conflict", message)
    if isinstance(exc, exceptions.InvalidFieldError):
        return ApiError(422, message=VALIDATION_MESSAGES["json"], errors={"json": {exc.field: [message]}})
    if isinstance(exc, exceptions.InvalidParameterError):
        return ApiError(422, message=VALIDATION_MESSAGES["query"], errors={"query": {exc.parameter: [message]}})
    if isinstance(exc, exceptions.ForbiddenError):
        return ApiError(403, "forbidden", message)
    if isinstance(exc, exceptions.ConflictError):
        return ApiError(409, "conflict", message)
    if isinstance(exc, exceptions.NotAllowedError):
        errors = {exc.location: {exc.field: [message]}}
        return ApiError(422, message=VALIDATION_MESSAGES.get(exc.location), errors=errors)
    if isinstance(exc, exceptions.RateLimitedError):
        return ApiError(429, message=message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, exceptions.ExpiredError):
        return ApiError(410, "cursor_expired", message)
    if isinstance(exc, exceptions.AccountGoneError):
        # As a token naming a deleted account: the request authenticated, but its user is no more.
        return ApiError(401, "token_invalid", "The token is not valid.",
                        headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE})
    return ApiError(500)


def handle_domain_error(exc):
    return api_error_response(_domain_error(exc))


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


# The driver's words → why the database could not be used (checked in order).
DATABASE_CAUSES = [
    ("too_many_connections", ("too many connections", "remaining connection slots", "no more connections allowed",
                              "pool_size")),
    ("connect", ("could not connect", "connection refused", "could not translate host name", "timeout expired",
                 "no route to host", "network is unreachable", "does not exist", "authentication failed")),
    ("connection_lost", ("server closed the connection", "terminating connection", "connection already closed",
                         "ssl connection has been closed", "server login has been failing", "connection reset",
                         "broken pipe", "query_wait_timeout", "client_idle_timeout")),
    ("locked", ("database is locked",)),
]
SECRET_IN_WORDS = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


def database_cause(exc):
    """(cause, what the driver said) for an error reaching the database: host, port and database, no password."""
    words = " ".join(str(getattr(exc, "orig", None) or exc).split())
    words = SECRET_IN_WORDS.sub(r"\1***", words)[:500]
    if isinstance(exc, PoolTimeout):
        return "pool_timeout", words
    lowered = words.lower()
    for cause, signs in DATABASE_CAUSES:
        if any(sign in lowered for sign in signs):
            return cause, words
    if getattr(exc, "connection_invalidated", False):
        return "connection_lost", words
    return "other", words


def handle_database_unavailable(exc):
    if isinstance(exc, (OperationalError, PoolTimeout)) or getattr(exc, "connection_invalidated", False):
        cause, words = database_cause(exc)
        # The request id comes with every line; the driver's words say what an operator must look at.
        log.error("database unavailable (%s): %s: %s", cause, exc.__class__.__name__, words,
                  extra={"cause": cause})
        return api_error_response(ApiError(503, cause=f"database_{cause}"))
    return handle_unexpected(exc)


def handle_unexpected(exc):
    log.error("unhandled exception", exc_info=exc)
    return api_error_response(ApiError(500))


def init_app(app):
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(exceptions.DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_unavailable)
    app.register_error_handler(PoolTimeout, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
