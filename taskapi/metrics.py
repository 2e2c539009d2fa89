"""Prometheus metrics: request counts and latency by route and status, shared by all workers.

Under gunicorn, gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker
imports prometheus_client, so every worker writes its samples to files there
and /metrics adds them all up.
"""

from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics


def init_app(app):
    metrics = PrometheusMetrics(
        app,
        path=None,  # served by the health blueprint, so it is documented
        excluded_paths=["^/metrics"],
        # Label by route template, not raw path, so ids don't explode cardinality.
        group_by="url_rule",
        defaults_prefix="taskapi",
        # Each app has its own registry so tests can build many apps in one process.
        registry=CollectorRegistry(auto_describe=True),
    )
    app.extensions["taskapi-metrics"] = metrics
