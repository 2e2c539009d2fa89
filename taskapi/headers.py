"""Response headers every answer carries: security headers and CORS."""

from flask import current_app, request

from taskapi.extensions import cors

ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "X-Request-ID"]
# The contract's four, and the bearer challenge of a 401 (RFC 6750), so a page can read why a token was refused.
EXPOSED_HEADERS = ["ETag", "Location", "X-Request-ID", "Retry-After", "WWW-Authenticate"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Answers about accounts are never kept by a browser or a shared cache.
NO_STORE_PREFIXES = ("/api/v1/auth", "/api/v1/admin")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=63072000; includeSubDomains"


def _security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith(NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    config = current_app.config
    if config["HSTS"]:
        response.headers["Strict-Transport-Security"] = HSTS
    if config["CORS_ORIGINS"]:
        # With origins configured every answer depends on Origin: CORS headers for an allowed one, none
        # for another or none at all. A cache must not hand one origin's answer to another.
        if "Vary" in response.headers:
            response.vary.add("Origin")
        else:
            response.headers["Vary"] = "Origin"  # a fifth of the time of parsing and rewriting a HeaderSet
    return response


def init_app(app):
    app.after_request(_security_headers)
    cors.init_app(
        app,
        origins=app.config["CORS_ORIGINS"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=METHODS,
        max_age=600,
        vary_header=False,  # _security_headers sends Vary: Origin, for every answer that depends on it
        always_send=False,  # CORS headers only for requests that carry an Origin
    )
