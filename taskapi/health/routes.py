"""GET /, /health, /health/live and /metrics."""

from datetime import UTC, datetime

from flask import current_app, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from taskapi import __version__
from taskapi.api import Blueprint
from taskapi.extensions import db
from taskapi.health.schemas import HealthSchema, IndexSchema, LiveSchema

blp = Blueprint("health", __name__, description="Service index and health checks.")


def database_ok():
    """Whether a real query reaches the database now."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        db.session.rollback()
        return False


@blp.get("/")
@blp.response(200, IndexSchema)
@blp.errors(500)
def get_index():
    """Name the service and point to its docs."""
    return {"name": "taskapi", "version": __version__, "docs": "/docs", "openapi": "/openapi.json"}


@blp.get("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database cannot be reached.")
@blp.errors(500)
def get_health():
    """Report whether the service and its database are up."""
    ok = database_ok()
    body = {
        "status": "ok" if ok else "unavailable",
        "version": __version__,
        "timestamp": datetime.now(UTC),
        "checks": {"database": "ok" if ok else "unavailable"},
    }
    return body, 200 if ok else 503


@blp.get("/health/live")
@blp.response(200, LiveSchema)
@blp.errors(500)
def get_liveness():
    """Report that the process serves, without touching the database."""
    return {"status": "ok"}


@blp.get("/metrics")
@blp.response(200, content_type="text/plain", description="Prometheus text exposition format.")
@blp.errors(500)
def get_metrics():
    """Expose request counts and latencies by route and status, across all workers."""
    exporter = current_app.extensions["taskapi-metrics"]
    body, content_type = exporter.generate_metrics(request.headers.get("Accept"))
    return current_app.response_class(body, content_type=content_type)
