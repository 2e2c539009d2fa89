"""Prometheus metrics: request counts and latency by route and status, shared by all workers.

Under gunicorn, gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker
imports prometheus_client, so every worker writes its samples to files there
and /metrics adds them all up.
"""

from flask import Request as FlaskRequest
from flask import current_app
from prometheus_client import CollectorRegistry, Counter
from prometheus_flask_exporter import PrometheusMetrics

# The methods the service routes; gunicorn lets any 3-20 letter token through.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"


class Request(FlaskRequest):
    """Flask's request, its `method` OTHER for any method the service does not route.

    The exporter labels every series by method: each new token would add series to /metrics for good.
    Such a request is 404 or 405 whatever its method (routing reads the method from the environ).
    """

    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        if self.method not in METHODS:
            self.method = OTHER_METHOD


def init_app(app):
    app.request_class = Request
    metrics = PrometheusMetrics(
        app,
        path=None,  # served by the health blueprint, so it is documented
        excluded_paths=["^/metrics"],
        # Label by route template, not raw path, so ids don't explode cardinality; unmatched: "None".
        group_by="url_rule",
        defaults_prefix="taskapi",
        # Each app has its own registry so tests can build many apps in one process.
        registry=CollectorRegistry(auto_describe=True),
    )
    app.extensions["taskapi-metrics"] = metrics
    app.extensions["taskapi-unavailable"] = Counter(
        "taskapi_service_unavailable", "503 answers by cause (database_connect, database_pool_timeout, ...).",
        ["cause"], registry=metrics.registry)


def count_unavailable(cause):
    """One more 503 answered for `cause`."""
    current_app.extensions["taskapi-unavailable"].labels(cause).inc()
