"""Service routes: the index, health checks and the API docs' own assets."""

from taskapi.health.routes import blp


def init_app(app, api):
    api.register_blueprint(blp)
