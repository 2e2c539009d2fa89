"""Live updates: a stream of server-sent events telling each open tab which of its lists changed."""

from prometheus_client import Gauge


def init_app(app, api):
    from taskapi.stream import fanout, hub
    from taskapi.stream.routes import GAUGE, blp

    api.register_blueprint(blp)
    hub.init_app(app)
    fanout.init_app(app)
    registry = app.extensions["taskapi-metrics"].registry
    # Each worker's open streams; /metrics adds up the live workers' (a dead worker's count goes with it).
    app.extensions[GAUGE] = Gauge("taskapi_open_streams", "Live update streams open.", registry=registry,
                                  multiprocess_mode="livesum")


def stop(app):
    """Stop this process's hub thread (tests, between apps)."""
    from taskapi.stream import hub

    hub.hub(app).stop()
