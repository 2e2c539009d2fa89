"""Administration: admins list, read, change and delete users; no route here shows anyone's tasks."""

from taskapi.admin.routes import blp


def init_app(app, api):
    api.register_blueprint(blp)
